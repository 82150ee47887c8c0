"""The conformance suite every source connector passes (one call per connector and system).

    check_conformance(ConformanceCase(make_source=lambda: SqlSource(cfg, url), ...))

It asserts: every row of every batch has a ref and refs are unique; batches respect the batch
size; resuming from the cursor reported after any batch gives no loss and no repeat (or, with an
overlap window, no loss and repeats only inside the window); reading again from the final cursor
gives nothing new (incremental sources); an empty source yields zero rows without error; wrong
credentials and an unreachable host raise ConnectorError with a clear message that does not
contain the secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from connectors.base import Batch, ConnectorError, Source


@dataclass
class ConformanceCase:
    make_source: Callable[[], Source]
    expected_rows: int                       # rows + row errors the populated source holds
    batch_size: int
    make_empty: Callable[[], Source] | None = None
    # (factory, secret value that must not appear, words one of which the message must contain)
    bad_credentials: tuple[Callable[[], Source], str] | None = None
    unreachable: tuple[Callable[[], Source], str] | None = None
    incremental: bool = True                 # the final cursor yields nothing new
    repeat_ok: Callable[[str, dict | None], bool] = field(default=lambda ref, cursor: False)
    resume_points: int = 4                   # batches to resume after (spread over the run)


def _refs(batch: Batch) -> list[str]:
    return [*batch.refs, *(e.ref for e in batch.errors)]


def read_all(source: Source, state: dict | None = None) -> list[Batch]:
    batches = list(source.read(state))
    for batch in batches:
        json.dumps(batch.cursor)               # the state must be JSON-serialisable
    return batches


def check_conformance(case: ConformanceCase) -> list[Batch]:
    """Run the whole suite; returns the batches of a full read for connector-specific checks."""
    source = case.make_source()
    source.check()
    batches = read_all(source)
    refs = [r for b in batches for r in _refs(b)]
    assert len(refs) == case.expected_rows, (len(refs), case.expected_rows)
    assert len(set(refs)) == len(refs), "refs must be unique"
    for batch in batches:
        assert len(batch.refs) == batch.table.num_rows
        assert all(batch.refs), "every row has a ref"
        assert batch.table.num_rows + len(batch.errors) <= case.batch_size
    assert len(batches) > 1, "the case should span several batches"

    step = max(1, len(batches) // case.resume_points)
    for k in range(0, len(batches) - 1, step):
        _check_resume(case, batches, k)

    if case.incremental:
        again = read_all(case.make_source(), batches[-1].cursor)
        extra = [r for b in again for r in _refs(b)]
        assert all(case.repeat_ok(r, batches[-1].cursor) for r in extra), extra

    if case.make_empty is not None:
        empty = case.make_empty()
        empty.check()
        assert sum(b.table.num_rows + len(b.errors) for b in read_all(empty)) == 0
    for spec in (case.bad_credentials, case.unreachable):
        if spec is not None:
            _check_refused(*spec)
    return batches


def _check_resume(case: ConformanceCase, batches: list[Batch], k: int) -> None:
    """Stop after batch k (closing the generator), resume from its cursor in a new source."""
    source = case.make_source()
    reader = source.read(None)
    for _ in range(k + 1):
        cursor = next(reader).cursor
    reader.close()
    assert cursor == batches[k].cursor
    before = [r for b in batches[:k + 1] for r in _refs(b)]
    after = [r for b in batches[k + 1:] for r in _refs(b)]
    resumed = [r for b in read_all(case.make_source(), cursor) for r in _refs(b)]
    assert len(set(resumed)) == len(resumed), "a resumed read repeats a row"
    missing = set(after) - set(resumed)
    assert not missing, f"resume after batch {k} lost {sorted(missing)[:5]}"
    repeats = set(resumed) - set(after)
    assert repeats <= set(before)
    bad = [r for r in repeats if not case.repeat_ok(r, cursor)]
    assert not bad, f"resume after batch {k} repeated {sorted(bad)[:5]}"


def _check_refused(make: Callable[[], Source], secret: str) -> None:
    for action in ("check", "read"):
        source = make()
        with pytest.raises(ConnectorError) as info:
            if action == "check":
                source.check()
            else:
                list(source.read(None))
        message = str(info.value)
        assert message.strip(), "the error must say something"
        if secret:
            assert secret not in message, f"{action}: the secret leaked into {message!r}"
            assert secret not in repr(info.value.__cause__ or ""), "the secret leaked (cause)"

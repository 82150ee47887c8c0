"""Great Expectations, imported once and quietly, and the one ephemeral context Huiju uses.

GX 1.x warns about its own deprecations on import; they are GX's business, so they are
silenced here (its registration log lines by the package, ``expectations``) — the only module
that imports GX directly (``custom`` and ``validate`` import it from here).
Import this before Airflow: both patch logging on import.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from functools import cache

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import great_expectations as gx
    import great_expectations.execution_engine.pandas_execution_engine as _pandas_engine
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )
    from great_expectations.expectations.expectation import Expectation

__all__ = ["BatchDefinition", "batch_definition", "gx", "huiju_run"]

_RUN_LOCK = threading.Lock()


@cache
def context():
    """An in-memory GX context: no files, no analytics calls, no progress bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@cache
def batch_definition() -> BatchDefinition:
    """The one pandas data source of Huiju's context: a whole in-memory standard frame."""
    source = context().data_sources.add_pandas("huiju")
    asset = source.add_dataframe_asset("standard_frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


@contextlib.contextmanager
def huiju_run() -> Iterator[None]:
    """Two GX costs that Huiju's validations do without, switched off while they run.

    - GX hashes each in-memory batch under 1 GB (``HASH_THRESHOLD``) into the batch marker
      ``pandas_data_fingerprint``. Huiju never reads it: its rows carry ``_source_hash``
      and the batch its ``batch_id``. On a million penalty rows it costs seconds.
    - ``Expectation.configuration`` rebuilds an ``ExpectationConfiguration`` (a pydantic
      ``.dict()`` of every kwarg) on each access, and one validation reads it about a
      hundred times per expectation: most of GX's fixed cost per expectation. An
      expectation does not change while it is validated, so within this block each
      instance's configuration is built once.

    Both are restored on exit; the lock keeps concurrent Huiju validations in one process
    from interleaving (GX's context is not thread-safe anyway).
    """
    with _RUN_LOCK:
        saved_threshold = _pandas_engine.HASH_THRESHOLD
        saved_configuration = Expectation.__dict__["configuration"]
        built: dict[int, tuple[Expectation, object]] = {}

        def configuration(self: Expectation):
            hit = built.get(id(self))
            if hit is None or hit[0] is not self:
                hit = (self, saved_configuration.fget(self))
                built[id(self)] = hit
            return hit[1]

        _pandas_engine.HASH_THRESHOLD = 0
        Expectation.configuration = property(configuration)
        try:
            yield
        finally:
            Expectation.configuration = saved_configuration
            _pandas_engine.HASH_THRESHOLD = saved_threshold

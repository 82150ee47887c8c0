"""The delivery task: outbox → platform client → receipts, one platform at a time.

``deliver(engine, platform)`` holds the platform (one task per platform sends, so a record's
versions arrive in the order they were loaded), then repeats until nothing is pending:

1. add a withdrawal for every 双公示 record whose 公示期 ended (``enqueue_expired``, once);
2. read the next pending messages, at most one request's worth, in enqueue order;
3. build each payload now, from the version the message names (bounded memory: one chunk of
   versions at a time). A 双公示 record whose 公示期 already ended is ``withheld``, never
   published; a row no payload can be built from is rejected locally with the reason;
4. count the send, then send with the message's idempotency key;
5. store each answer: the receipt (回执) of an accepted or duplicate record, the platform's
   code and reason per error of a rejected one (shown beside the department's quarantine).

Killed at any point (kill -9), a rerun sends what is still pending with the same keys: what
the platform had already accepted answers ``duplicate`` and is recorded as acknowledged, so
the platform's ledger holds every due version exactly once. When a batch cannot be delivered
(retries exhausted, quota used up, token refused) the task stops there and says why; the rest
stays pending for the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache

import sqlalchemy as sa

from connectors.base import Destination
from connectors.platforms import (
    PLATFORM_DAY,
    PLATFORMS,
    DeliveryError,
    PlatformClient,
    PlatformConfig,
)
from schemas.platforms import (
    PayloadError,
    Resource,
    build_payload,
    load_platforms,
    publicity_end,
    publicity_over,
)
from warehouse.bulk import pause_point
from warehouse.outbox import (
    LOAD,
    Outcome,
    Route,
    analyze_outbox,
    enqueue_expired,
    load_versions,
    mark_sent,
    pending,
    platform_lock,
    sent_since,
    settle,
    status_counts,
)

_log = logging.getLogger(__name__)

CHUNK = 500  # messages per round: one request per resource at most


@dataclass
class DeliveryRun:
    """What one run did for one platform, and what the outbox holds after it."""

    platform: str
    sent: int = 0  # messages sent in this run (a resend after a lost response counts once)
    acknowledged: int = 0
    rejected: int = 0
    withheld: int = 0
    expired: int = 0  # withdrawals added because a 公示期 ended
    requests: int = 0
    retries: int = 0
    error: str | None = None  # why the run stopped early (the rest stays pending)
    totals: dict[str, int] = field(default_factory=dict)  # outbox figures after the run


@cache
def _resources(platform: str) -> dict[str, Resource]:
    declared = load_platforms().get(platform)
    return {r.name: r for r in declared.resources} if declared else {}


def platforms_declared() -> list[str]:
    """The platforms with a payload shape, in the contract's order."""
    declared = load_platforms()
    return [name for name in PLATFORMS if name in declared]


def division_code(department_code: str, divisions: dict[str, str] | None = None) -> str | None:
    """The department's division code: from its configuration, else its code's 6-digit prefix."""
    if divisions and department_code in divisions:
        return divisions[department_code]
    prefix = department_code[:6]
    return prefix if prefix.isdigit() else None


def department_divisions() -> dict[str, str]:
    """Division code by department code, from the department files (none: an empty map)."""
    from huiju.departments import load_departments
    from huiju.settings import load_settings

    folder = load_settings().departments_dir
    if not folder.is_dir():
        return {}
    return {d.code: d.division_code for d in load_departments(folder)}


def summary_table(runs: list[DeliveryRun]):
    """Per platform: sent in this run, and the outbox's acknowledged / rejected / withheld /
    pending after it (a rich Table, for ``huiju deliver`` and the demo)."""
    from rich.table import Table

    grid = Table("platform", "sent", "acknowledged", "rejected", "withheld", "pending",
                 "expired withdrawals", "requests", "retries", title="delivery")
    for run in runs:
        totals = run.totals
        grid.add_row(run.platform, str(run.sent), str(totals.get("acknowledged", 0)),
                     str(totals.get("rejected", 0)), str(totals.get("withheld", 0)),
                     str(totals.get("pending", 0)), str(run.expired), str(run.requests),
                     str(run.retries))
    return grid


def deliver_task(platform: str, department: str | None = None) -> dict:
    """Deliver to ``platform`` against the configured warehouse (the DAG task); its summary."""
    from huiju.settings import load_settings
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(load_settings().warehouse_url)
    try:
        run = deliver(engine, platform, department=department,
                      divisions=department_divisions())
    finally:
        engine.dispose()
    _log.info("delivered to %s: %d sent, outbox %s", platform, run.sent, run.totals)
    return {"platform": platform, "sent": run.sent, "acknowledged": run.acknowledged,
            "rejected": run.rejected, "withheld": run.withheld, "expired": run.expired,
            "error": run.error, "totals": run.totals}


def deliver(engine: sa.Engine, platform: str, *, client: Destination | None = None,
            department: str | None = None, as_of: date | None = None,
            divisions: dict[str, str] | None = None,
            progress: Callable[[DeliveryRun], None] | None = None) -> DeliveryRun:
    """Send ``platform`` everything pending (of ``department``, if given); see the module doc.

    ``as_of`` is the day 公示期 are judged against (default: today); ``divisions`` maps
    department codes to division codes for payloads that carry ``cd_source``.
    """
    as_of = as_of or datetime.now(PLATFORM_DAY).date()  # the 公示期 ends on a China day
    resources = _resources(platform)
    client = client or PlatformClient(PlatformConfig.from_env(platform))
    if isinstance(client, PlatformClient) and client.config.daily_quota is not None:
        _seed_quotas(engine, client)
    # One round is one request per resource: a batch that fails loses no other answers.
    chunk = client.config.batch_size if isinstance(client, PlatformClient) else CHUNK
    run = DeliveryRun(platform)
    publicity = [Route(platform, r.name, True) for r in resources.values() if r.publicity]
    with platform_lock(engine, platform):
        with engine.connect() as conn:
            analyze_outbox(conn)
        for route in publicity:
            run.expired += enqueue_expired(engine, route, as_of, _now(), department)
        after = 0
        while True:
            messages = pending(engine, platform, limit=chunk, after=after, department=department)
            if not messages:
                break
            after = messages[-1]["message_id"]
            if not _send_chunk(engine, client, resources, messages, as_of, divisions, run):
                break
            if progress:
                progress(run)
    if isinstance(client, PlatformClient):
        run.requests, run.retries = client.requests_sent, client.retries
    run.totals = status_counts(engine, platform=platform, department=department).get(
        platform, {})
    return run


def _now() -> datetime:
    return datetime.now(UTC)


def _seed_quotas(engine: sa.Engine, client: PlatformClient) -> None:
    """Count today's sends (China time, as the platforms count) against each daily quota, so
    a second run on the same day does not start from zero."""
    today = datetime.now(PLATFORM_DAY).replace(hour=0, minute=0, second=0, microsecond=0)
    for resource, count in sent_since(engine, client.config.name, today).items():
        quota = client.quota(resource)
        quota.take(0, resource)  # opens today
        quota.used = max(quota.used, count)


def _send_chunk(engine: sa.Engine, client: Destination, resources: dict[str, Resource],
                messages: list[dict], as_of: date, divisions: dict[str, str] | None,
                run: DeliveryRun) -> bool:
    """Build, send and settle one chunk; False when a batch could not be delivered."""
    versions = load_versions(engine, messages)
    local: list[Outcome] = []
    outgoing: dict[str, list[tuple[dict, dict, date | None, str]]] = {}
    for message in messages:
        row = versions.get(message["message_id"])
        if row is None:
            raise LookupError(
                f"outbox message {message['message_id']}: version {message['batch_id']} of "
                f"{message['dataset']} {message['record_key']!r} ({message['department_code']}) "
                "is in neither core nor its history")
        resource = resources.get(message["resource"])
        source_ref = row["source_ref"]
        if resource is None:
            local.append(Outcome(message, "rejected", source_ref=source_ref, errors=({
                "code": "HUIJU-NO-SHAPE", "field": None,
                "reason": f"{message['platform']} declares no resource "
                          f"{message['resource']!r} any more"},)))
            continue
        row = {**row, "division_code": division_code(row["department_code"], divisions)}
        end = publicity_end(row) if resource.publicity else None
        if message["operation"] != "d" and message["cause"] == LOAD and publicity_over(
                resource, row, as_of):
            local.append(Outcome(message, "withheld", publicity_end=end, source_ref=source_ref,
                                 note=f"公示期 ended {end.isoformat()}: not published"))
            continue
        try:
            payload = build_payload(resource, row)
        except (PayloadError, ValueError, KeyError) as error:
            if message["operation"] != "d":
                local.append(Outcome(message, "rejected", source_ref=source_ref, errors=({
                    "code": "HUIJU-PAYLOAD", "field": None,
                    "reason": f"no {message['platform']}/{resource.name} record can be built: "
                              f"{error}"},)))
                continue
            payload = {}  # a withdrawal needs no payload
        record = {"key": message["idempotency_key"], "record_id": message["record_id"],
                  "operation": message["operation"], "payload": payload}
        outgoing.setdefault(resource.name, []).append((message, record, end, source_ref))
    settle(engine, local, _now())
    for outcome in local:
        setattr(run, outcome.status, getattr(run, outcome.status) + 1)
    mark_sent(engine, [m["message_id"] for items in outgoing.values() for m, *_ in items],
              _now())
    pause_point("deliver-sent")  # crash tests: counted as sent, not yet sent
    for resource_name, items in outgoing.items():
        try:
            answers = client.send(resource_name, [record for _, record, _, _ in items])
        except DeliveryError as error:
            run.error = str(error)
            _log.warning("delivery to %s stopped: %s", run.platform, error)
            return False
        pause_point("deliver-answered")  # crash tests: accepted, the answer not yet stored
        run.sent += len(items)
        outcomes = [Outcome(message, "acknowledged" if answer.ok else "rejected",
                            receipt=answer.receipt, errors=answer.errors, publicity_end=end,
                            source_ref=source_ref)
                    for (message, _, end, source_ref), answer in zip(items, answers, strict=True)]
        settle(engine, outcomes, _now())
        for outcome in outcomes:
            setattr(run, outcome.status, getattr(run, outcome.status) + 1)
    return True

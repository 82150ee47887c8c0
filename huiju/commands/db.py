"""``huiju db …``: create and migrate the warehouse (PostgreSQL, or the embedded SQLite store)."""

from __future__ import annotations

import argparse

from huiju.commands.warehouse_option import URL_HELP, add_url_option, settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju db`` to the command line."""
    parser = sub.add_parser("db", help="the warehouse schema (migrations)")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    upgrade = actions.add_parser("upgrade", help="create the layer schemas and migrate to head")
    add_url_option(upgrade)
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=_upgrade)

    current = actions.add_parser("current", help="show the warehouse's revision and the head")
    add_url_option(current)
    current.set_defaults(handler=_current)

    revision = actions.add_parser(
        "revision", help="write a migration for changed data-set declarations (developers)")
    add_url_option(revision, URL_HELP + "; must be at head")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(handler=_revision)


def _engine(args: argparse.Namespace):
    from warehouse.engine import create_warehouse_engine

    return create_warehouse_engine(settings_for(args).warehouse_url)


def _upgrade(args: argparse.Namespace) -> int:
    from rich.console import Console

    from connectors.base import mask_url
    from warehouse.migrate import current, upgrade

    engine = _engine(args)
    upgrade(engine, args.revision)
    Console().print(f"warehouse {mask_url(engine.url)} at revision {current(engine)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from rich.console import Console

    from connectors.base import mask_url
    from warehouse.migrate import current, head, pending_changes

    engine = _engine(args)
    at, newest = current(engine), head()
    console = Console()
    console.print(f"warehouse {mask_url(engine.url)}")
    console.print(f"current revision: {at or '(none — run `huiju db upgrade`)'}")
    console.print(f"head revision:    {newest}")
    if at != newest:
        return 1
    changes = pending_changes(engine)
    if changes:
        console.print(f"[yellow]{len(changes)} change(s) in schemas/ not yet in a migration; "
                      "run `huiju db revision -m …`[/yellow]")
        return 1
    return 0


def _revision(args: argparse.Namespace) -> int:
    from warehouse.migrate import revision

    revision(_engine(args), args.message)
    return 0

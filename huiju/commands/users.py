"""``huiju users``: the report application's users (add, list).

The password is read from the terminal (twice) or, with ``--password-stdin``, from one line
of standard input — never from the command line, where ``ps`` and shell history would show it.
The change is recorded in audit.action under the OS identity that ran the command.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from huiju.commands.warehouse_option import settings_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju users`` to the command line."""
    parser = sub.add_parser("users", help="manage the report application's users")
    users = parser.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    add = users.add_parser("add", help="add a user")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=("department", "auditor", "admin"))
    add.add_argument("--department", metavar="CODE", help="the department a department user sees")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from one line of standard input")
    add.add_argument("--url", help="warehouse URL (a login that may write audit)")
    add.set_defaults(handler=_add)
    listing = users.add_parser("list", help="list users (no password hashes)")
    listing.add_argument("--url", help="warehouse URL")
    listing.set_defaults(handler=_list)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return first


def _add(args: argparse.Namespace) -> int:
    from huiju.identity import current_actor
    from reports.users import add_user
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        user = add_user(engine, username=args.username, password=_password(args),
                        role=args.role, department=args.department, actor=current_actor())
    except ValueError as error:
        sys.stderr.write(f"huiju users add: {error}\n")
        return 2
    finally:
        engine.dispose()
    scope = f" of {user.department}" if user.department else ""
    sys.stdout.write(f"added {user.role} {user.username}{scope}\n")
    return 0


def _list(args: argparse.Namespace) -> int:
    from reports.users import list_users
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(settings_for(args).warehouse_url)
    try:
        for user in list_users(engine):
            sys.stdout.write(f"{user['username']}\t{user['role']}\t"
                             f"{user['scope_department_code'] or ''}\t"
                             f"{'active' if user['is_active'] else 'inactive'}\n")
    finally:
        engine.dispose()
    return 0

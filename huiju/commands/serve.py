"""``huiju serve``: the report application (reports/) over HTTP.

The application reads the warehouse named by ``--url``, else ``HUIJU_REPORTS_URL``, else the
warehouse URL (``HUIJU_WAREHOUSE_URL`` / the embedded store). In production that is a
read-only login (a member of ``huiju_auditor``; docs/production.md "Report application").
Sessions are signed with the secret ``HUIJU_REPORTS_SECRET`` (environment variable or Airflow
connection); without one a random secret is made for this process, so every restart logs
everyone out.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys

SECRET_NAME = "HUIJU_REPORTS_SECRET"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``huiju serve`` to the command line."""
    parser = sub.add_parser("serve", help="serve the data-quality and completeness reports",
                            description="Serve the report application (login required).")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on")
    parser.add_argument("--url", help="warehouse URL to read (default: $HUIJU_REPORTS_URL, "
                                      "else the warehouse URL)")
    parser.add_argument("--session-minutes", type=int, default=30,
                        help="a session ends this long after login")
    parser.set_defaults(handler=_serve)


def session_secret() -> str:
    """The configured session secret, or a random one for this process only."""
    from connectors.base import ConnectorError, resolve_secret

    try:
        return resolve_secret(SECRET_NAME)
    except ConnectorError:
        sys.stderr.write(f"{SECRET_NAME} is not set: sessions end when this server stops\n")
        return secrets.token_urlsafe(48)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from reports.app import create_app
    from warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(args.url or os.environ.get("HUIJU_REPORTS_URL"))
    app = create_app(engine, secret=session_secret(), session_seconds=args.session_minutes * 60,
                     secure_cookies=args.host not in ("127.0.0.1", "localhost", "::1"),
                     warm_view=True)
    sys.stdout.write(f"Huiju reports: http://{args.host}:{args.port}/\n")
    sys.stdout.flush()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    finally:
        engine.dispose()
    return 0

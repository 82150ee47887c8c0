"""The ``--url`` option every command that touches the warehouse takes, and its announcement.

The warehouse is resolved through the one settings path (``huiju.settings``), so a command
run from any directory with the same ``HUIJU_HOME`` finds the same warehouse; each command says
which one it used on stderr, its password masked (``connectors.base.mask_url``).
"""

from __future__ import annotations

import argparse
import sys

from connectors.base import mask_url

# The masked warehouse URL the running command announced: error messages name it.
announced: list[str] = []

URL_HELP = ("warehouse URL (default: $HUIJU_WAREHOUSE_URL, else the embedded SQLite store "
            "var/warehouse/huiju.db under $HUIJU_HOME)")


def add_url_option(parser: argparse.ArgumentParser, help_text: str = URL_HELP) -> None:
    """Give ``parser`` the ``--url`` option."""
    parser.add_argument("--url", help=help_text)


def settings_for(args: argparse.Namespace):
    """The settings with the warehouse ``args.url`` names (else the default), announced."""
    from huiju.settings import load_settings

    settings = load_settings(url=getattr(args, "url", None))
    announce(settings.warehouse_url)
    return settings


def announce(url: str) -> None:
    """Say on stderr which warehouse a command uses (stdout stays the command's output)."""
    announced.append(mask_url(url))
    sys.stderr.write(f"warehouse {announced[-1]}\n")

"""Every command that touches the warehouse takes ``--url`` (issue 10 item 1).

The test walks the parser, so a command added later either takes ``--url`` or is named here
as one that never opens the warehouse.
"""

from __future__ import annotations

import argparse

from huiju.cli import build_parser

# Commands that read only files, sources or the simulator, never the warehouse.
NO_WAREHOUSE = {
    "config check", "config docs", "config init", "dags generate", "dags pools",
    "expectations generate", "leads check", "schema docs", "schema list", "simulator serve",
    "source check", "validate",
}


def _leaves(parser: argparse.ArgumentParser, prefix: str = ""):
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix.strip(), parser
        return
    for name, child in subs[0].choices.items():
        yield from _leaves(child, f"{prefix} {name}")


def test_every_warehouse_command_takes_url():
    leaves = dict(_leaves(build_parser()))
    assert NO_WAREHOUSE <= set(leaves), sorted(NO_WAREHOUSE - set(leaves))
    missing = [name for name, parser in leaves.items()
               if name not in NO_WAREHOUSE
               and not any("--url" in a.option_strings for a in parser._actions)]
    assert missing == []

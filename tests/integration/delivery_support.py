"""Helpers of the delivery tests and benchmark: deliverable penalty rows, the simulator with the
real payload shapes, and the platform's ledger."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import requests

from connectors.platforms import PLATFORMS, PlatformClient, PlatformConfig
from simulator.process import simulator_process
from warehouse.testing.synthetic import deliverable_penalties

TOKEN = "delivery-T0ken-Secret"
SHAPES = Path(__file__).resolve().parents[2] / "schemas" / "platforms"


def penalties(ids, **kwargs) -> pd.DataFrame:
    """Penalty rows the platforms accept (``warehouse.testing.synthetic.deliverable_penalties``)."""
    return deliverable_penalties(ids, **kwargs)


@contextmanager
def simulator(tmp_path: Path, *args: str) -> Iterator[str]:
    """The simulator on a free port with the real shapes of schemas/platforms; its base URL."""
    folder = tmp_path / "shapes"
    folder.mkdir(exist_ok=True)
    for name in PLATFORMS:  # only the platform files (not publicity.yaml beside them)
        if (SHAPES / f"{name}.yaml").is_file():
            shutil.copy(SHAPES / f"{name}.yaml", folder)
    with simulator_process(token=TOKEN, shapes=folder, args=list(args)) as url:
        yield url


def client(url: str, platform: str = "creditchina", **settings) -> PlatformClient:
    config = PlatformConfig(name=platform, url=url, token_secret="HUIJU_TEST_TOKEN",
                            **{"backoff": 0.05, **settings})
    return PlatformClient(config, token=TOKEN)


def ledger(url: str, platform: str = "creditchina") -> dict:
    answer = requests.get(f"{url}/_ledger/{platform}", timeout=30)
    answer.raise_for_status()
    return answer.json()

"""Helpers of the delivery tests and benchmark: deliverable penalty rows, the simulator with the
real payload shapes, and the platform's ledger."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from connectors.platforms import PLATFORMS, PlatformClient, PlatformConfig
from simulator.process import simulator_process
from warehouse.synthetic import standard_frame

TOKEN = "delivery-T0ken-Secret"
SHAPES = Path(__file__).resolve().parents[2] / "schemas" / "platforms"


def penalties(ids, *, version: int = 0, operation: str = "i", decided: date | None = None,
              legal_rep: str | None = "张三") -> pd.DataFrame:
    """Penalty rows 信用中国 accepts: a legal person with a USCC, decided ``decided`` (a month
    ago by default, so its 公示期 runs); ``legal_rep=None`` makes the platform reject it."""
    frame = standard_frame("penalty", ids, version=version, operation=operation)
    ids = np.asarray(ids, dtype="int64")
    decided = decided or datetime.now(UTC).date() - timedelta(days=30)
    frame["administrative_cp_cert_type"] = "001"
    frame["administrative_cp_nature"] = "02"
    frame["administrative_cp_code"] = ("91620100MA" + pd.Series(ids).astype(str).str.zfill(8)
                                       ).astype("str").to_numpy()
    frame["legal_rep"] = pd.Series([legal_rep] * len(ids), dtype="str")
    frame["punish_decision_date"] = pd.Series(
        [np.datetime64(decided.isoformat(), "s")] * len(ids))
    return frame


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

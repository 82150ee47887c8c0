"""Huiju's platform simulator: a local stand-in for the three receiving platforms
(national, gsxt, creditchina) with receipts, duplicate detection, schema rejections, injected
faults and a ledger. See simulator/README.md for the API."""

from simulator.faults import FAULT_KINDS, FaultPlan
from simulator.shapes import PLATFORMS

__all__ = ["FAULT_KINDS", "PLATFORMS", "FaultPlan", "SimulatorServer"]


def __getattr__(name: str):
    # The server (FastAPI, uvicorn) is imported when asked for: `huiju`'s command line
    # registers `huiju simulator` from the fault kinds alone, on every command's start.
    if name == "SimulatorServer":
        from simulator.server import SimulatorServer

        return SimulatorServer
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")

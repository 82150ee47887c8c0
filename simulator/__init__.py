"""Huiju's platform simulator: a local stand-in for the three receiving platforms
(national, gsxt, creditchina) with receipts, duplicate detection, schema rejections, injected
faults and a ledger. See simulator/README.md for the API."""

from simulator.faults import FAULT_KINDS, FaultPlan
from simulator.server import SimulatorServer
from simulator.shapes import PLATFORMS

__all__ = ["FAULT_KINDS", "PLATFORMS", "FaultPlan", "SimulatorServer"]

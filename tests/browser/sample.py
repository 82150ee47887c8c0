"""A small warehouse of two departments for the report tests (this module holds no tests).

Department A has two runs of penalty (with quarantined rows whose raw values include formula
text and Chinese), supervision news and catalog items; department B has its own runs, records
and source references that appear nowhere in A's data, so any B string on an A page is a leak.
"""

from __future__ import annotations

import sqlalchemy as sa

from reports.users import add_user
from warehouse.load import load_batch
from warehouse.testing.synthetic import load_request, standard_frame

A, B = "620000-DEPTA", "620100-DEPTB"
PASSWORD = "correct horse battery"
USERS = {"clerk_a": ("department", A), "clerk_b": ("department", B),
         "auditor": ("auditor", None), "admin": ("admin", None)}
A_RUNS = ("2026010500001", "2026020500001")
B_RUNS = ("2026010700001", "2026030700001")
# Raw values the department sent: formula-like and Chinese, to be neutralised in the xlsx.
RAW_VALUES = ("=HYPERLINK(\"http://x\",\"点我\")", "@SUM(1+1)", "甘肃省市场监督管理局", "-5")


def _frame(name: str, ids, department: str, **kwargs):
    return standard_frame(name, ids, department_code=department, **kwargs)


def _load(engine, name, department, batch_id, ids, failed=(), superseded=(), raw_values=()):
    request = load_request(
        name, _frame(name, ids, department), batch_id=batch_id, department_code=department,
        quarantined=_frame(name, failed, department) if failed else None,
        superseded=_frame(name, superseded, department) if superseded else None)
    for row, value in enumerate(raw_values):
        request.quarantine.loc[row, "raw_value"] = value
    load_batch(engine, request)


def build(engine: sa.Engine) -> None:
    """Load both departments' batches and add the four users."""
    _load(engine, "penalty", A, A_RUNS[0], range(0, 20), failed=range(100, 104),
          superseded=[200], raw_values=RAW_VALUES)
    _load(engine, "penalty", A, A_RUNS[1], range(20, 30), failed=[105, 106])
    _load(engine, "supervision_news", A, A_RUNS[0], range(0, 3))
    _load(engine, "supervision_item", A, A_RUNS[0], range(0, 4))
    _load(engine, "penalty", B, B_RUNS[0], range(5000, 5012), failed=range(5100, 5103),
          raw_values=("B-SECRET-RAW-VALUE",))
    _load(engine, "penalty", B, B_RUNS[1], range(5020, 5025))
    for username, (role, department) in USERS.items():
        add_user(engine, username=username, password=PASSWORD, role=role,
                 department=department, actor="os:test@host")


def break_batch(engine: sa.Engine) -> tuple[str, str, str]:
    """Remove one landed raw row of B's second run, so `huiju verify` finds that batch broken.

    Returns the (department, data set, batch id) broken.
    """
    with engine.begin() as conn:
        part = conn.execute(sa.text(
            "SELECT part_id FROM raw.part WHERE department_code = :d AND batch_id = :b"),
            {"d": B, "b": B_RUNS[1]}).scalar_one()
        conn.execute(sa.text("DELETE FROM raw.record WHERE part_id = :p AND row_no = 0"),
                     {"p": part})
    return B, "penalty", B_RUNS[1]

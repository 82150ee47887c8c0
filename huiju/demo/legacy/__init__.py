"""Build the sample departments' legacy sources, as their systems would hold them.

The columns are the ones documented at the top of each ``departments/*.yaml``. The data is
deterministic (seeded) and realistic enough to exercise the pipeline: Gansu division codes,
valid identifiers computed with the national check-character algorithms — and a few defects
of the kinds departments really send (a wrong check character, a future date, a missing
field, an unknown legacy code, a lone inspector, a ragged CSV line, a re-sent record), each
of which must end up in quarantine or superseded, never lost.

One module per department builds its sources (``gs_scjg``, ``lz_sjj``, ``gs_yjj``); what they
share (the seeded faker, :class:`LegacySources`) is in ``common``.
"""

from __future__ import annotations

from pathlib import Path

from huiju.demo.legacy.common import API_TOKEN, SEED, LegacySources, _Faker
from huiju.demo.legacy.gs_scjg import NATIONAL_SEED, case_database
from huiju.demo.legacy.gs_yjj import drug_excel_drop, license_records
from huiju.demo.legacy.lz_sjj import water_csv_drop
from schemas.rules.divisions import counties

__all__ = ["API_TOKEN", "NATIONAL_SEED", "LegacySources", "build"]


def build(home: Path, *, http_port: int = 8765) -> LegacySources:
    """Write every sample department's legacy source under ``home/var`` (deterministically)."""
    fake = _Faker(SEED)
    names = counties()
    sources = LegacySources(env={})
    case_database(home / "var" / "legacy" / "gs_scjg_case.db", fake, names, sources)
    water_csv_drop(home / "var" / "drop" / "lz_sjj", fake, sources)
    drug_excel_drop(home / "var" / "drop" / "gs_yjj", fake, names, sources)
    sources.api_records = license_records(fake, names)
    sources.env["HUIJU_SRC_GS_YJJ_API_TOKEN"] = API_TOKEN
    sources.defects.setdefault("GS-YJJ license", []).append(
        f"API serves pages of 20 over HTTP on 127.0.0.1:{http_port}"
    )
    return sources

"""The codes in warehouse/README.md's load example pass the code's own patterns."""

from __future__ import annotations

import re
from pathlib import Path

from huiju.departments import Department, LegacySystem
from schemas.rules import RULES

README = Path(__file__).resolve().parents[2] / "warehouse" / "README.md"


def _example(name: str) -> str:
    found = re.search(rf'\b{name}="([^"]*)"', README.read_text(encoding="utf-8"))
    assert found, f"warehouse/README.md has no {name}= in its example"
    return found.group(1)


def test_the_load_example_uses_codes_the_code_accepts():
    code = _example("department_code")
    assert re.fullmatch(Department.model_fields["code"].metadata[0].pattern, code)
    assert re.fullmatch(LegacySystem.model_fields["id"].metadata[0].pattern,
                        _example("source_id"))
    assert int(RULES["batch_id"].check([_example("batch_id")])[0]) == 0

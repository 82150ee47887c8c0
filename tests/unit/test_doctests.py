"""The examples in docstrings run: the check-character rules, the stage contract, URL masking."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = (
    "schemas.rules.uscc",
    "schemas.rules.org_code",
    "schemas.rules.id_card",
    "schemas.frames",
    "connectors.base",
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0

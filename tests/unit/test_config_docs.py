"""The configuration reference is generated from the models and kept current (issue 11)."""

from __future__ import annotations

from connectors.registry import kind, kinds
from huiju import config_docs
from huiju.cli import main
from huiju.departments import Department, FieldMapping


def test_reference_in_docs_is_current():
    # fails when a model changed and `huiju config docs` was not run
    assert config_docs.is_current(), "docs/configuration.md is out of date: run huiju config docs"
    assert main(["config", "docs", "--check"]) == 0


def test_every_key_of_every_model_is_documented_with_its_type_and_default():
    text = config_docs.render()
    models = [part.model for part in config_docs.parts()]
    assert Department in models and FieldMapping in models
    for name in kinds("source"):
        assert kind(name, "source").config_model() in models
    for model in models:
        section = text.split(f"## {model.__name__} — ", 1)[1].split("\n## ", 1)[0]
        for key, info in model.model_fields.items():
            line = next(row for row in section.splitlines() if row.startswith(f"| `{key}` |"))
            assert config_docs.default_text(info).replace("|", "\\|") in line
    # a department file's own keys all say what they mean
    for part in config_docs.parts():
        if part.model.__module__ == "huiju.departments":
            for key, info in part.model.model_fields.items():
                assert config_docs.meaning(info), f"{part.model.__name__}.{key}"


def test_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "configuration.md"
    stale.write_text(config_docs.render().replace("| `unit` |", "| `units` |"), encoding="utf-8")
    assert main(["config", "docs", "--check", "--out", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert main(["config", "docs", "--out", str(stale)]) == 0
    assert main(["config", "docs", "--check", "--out", str(stale)]) == 0

"""The data dictionary renders every data set, every field and every code table it uses."""

from __future__ import annotations

import pytest

from huiju.cli import main
from schemas.catalog import all_fields, datasets
from schemas.code_tables import code_table
from schemas.docs import write_dictionary
from schemas.platforms import load_platforms


@pytest.fixture(scope="module")
def dictionary(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dictionary")
    return folder, write_dictionary(folder)


def test_writes_index_one_page_per_data_set_and_code_tables(dictionary):
    folder, written = dictionary
    expected = ["index.md", *(f"{spec.name}.md" for spec in datasets()), "code_tables.md",
                *(f"platform_{name}.md" for name in load_platforms())]
    assert [path.name for path in written] == expected
    assert all(path.parent == folder and path.stat().st_size > 0 for path in written)


def test_index_lists_every_data_set_with_its_key_and_field_count(dictionary):
    folder, _ = dictionary
    index = (folder / "index.md").read_text(encoding="utf-8")
    for spec in datasets():
        row = next(line for line in index.splitlines() if f"[{spec.name}]({spec.name}.md)" in line)
        assert spec.zh in row and spec.en in row
        assert f"`{spec.business_key[0]}`" in row
        assert row.rstrip(" |").endswith(str(len(all_fields(spec))))


@pytest.mark.parametrize("spec", datasets(), ids=lambda spec: spec.name)
def test_page_shows_every_field_and_check(dictionary, spec):
    folder, _ = dictionary
    page = (folder / f"{spec.name}.md").read_text(encoding="utf-8")
    for field in all_fields(spec):
        row = next(line for line in page.splitlines() if line.startswith(f"| `{field.name}` |"))
        assert f"| {field.zh} |" in row and f"| {field.en} |" in row
        if field.code_table:
            assert field.code_table in row
        for rule in field.rules:
            assert f"`{rule}`" in row
    for check in spec.checks:
        assert check.zh in page and check.en in page


def test_code_tables_page_keeps_leading_zeros(dictionary):
    folder, _ = dictionary
    text = (folder / "code_tables.md").read_text(encoding="utf-8")
    used = {f.code_table for spec in datasets() for f in spec.fields if f.code_table}
    for name in used:
        assert f"\n## {name}\n" in text
    assert "| `001` | 统一社会信用代码 |" in text
    assert "| `01` | 公民 |" in text
    assert len([line for line in text.splitlines() if line.startswith("| `")]) == sum(
        len(code_table(name).labels) for name in used)


def test_output_is_deterministic(dictionary, tmp_path):
    _, written = dictionary
    again = write_dictionary(tmp_path)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]


def test_cli_writes_the_dictionary_and_says_what_it_wrote(tmp_path, capsys):
    assert main(["schema", "docs", str(tmp_path / "dict")]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "dict" / "index.md") in out
    assert (tmp_path / "dict" / "penalty.md").is_file()


@pytest.mark.parametrize("name", list(load_platforms()))
def test_platform_page_shows_every_field_with_its_source(dictionary, name):
    folder, _ = dictionary
    page = (folder / f"platform_{name}.md").read_text(encoding="utf-8")
    platform = load_platforms()[name]
    for resource in platform.resources:
        assert f"\n## {resource.name}\n" in page
        for spec in resource.fields:
            assert f"| `{spec.code}` | {spec.zh} |" in page
            assert spec.source in page
    index = (folder / "index.md").read_text(encoding="utf-8")
    assert f"[{name}](platform_{name}.md)" in index


def test_creditchina_page_documents_units_mask_translations_and_publicity(dictionary):
    folder, _ = dictionary
    page = (folder / "platform_creditchina.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| `CF_NR_FK` |"))
    assert "from `fine_amount`" in row and "元 → 万元" in row
    assert "mask `id_number`" in page and "positions 7–14" in page
    assert "### 双公示证件类型" in page and "| `111` | 身份证 |" in page
    assert "## 公示期 Publicity rule sets" in page and "fgw-2019-527" in page
    assert "compute `publicity_end`" in page

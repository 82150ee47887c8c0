"""``huiju config init --from-table`` drafts a department file from a real MariaDB table."""

from __future__ import annotations

import sqlalchemy as sa
import yaml

from huiju.cli import main


def test_draft_from_a_live_table_matches_columns_by_chinese_name(mariadb_url, tmp_path,
                                                                  capsys):
    engine = sa.create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE 处罚台账 (编号 INT PRIMARY KEY, 监管事项目录编码 VARCHAR(32), "
            "`处罚行为名称` VARCHAR(200), 行政相对人 VARCHAR(200), 案件来源 VARCHAR(20), "
            "备注信息 TEXT, 更新时间 DATETIME)"))
    engine.dispose()
    out = tmp_path / "draft.yaml"
    assert main(["config", "init", "--from-table", mariadb_url, "处罚台账",
                 "--dataset", "penalty", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "4 columns matched" in captured.err
    password = sa.engine.make_url(mariadb_url).password
    text = out.read_text(encoding="utf-8")
    assert mariadb_url not in text and (not password or password not in text)
    draft = yaml.safe_load(text)
    feed = draft["sources"][0]["feeds"][0]
    assert feed["dataset"] == "penalty"
    assert feed["extract"] == {"table": "处罚台账", "primary_key": ["编号"],
                               "cursor_column": "更新时间"}
    assert feed["mapping"] == {"supervise_item_code": "监管事项目录编码",
                               "punish_action_name": "处罚行为名称",
                               "administrative_cp": "行政相对人", "case_source": "案件来源"}
    assert "# legacy columns not matched: 编号, 备注信息, 更新时间" in text
    assert "# punish_action_code: TODO" in text  # a required field no column fills
    # never written over a file
    assert main(["config", "init", "--from-table", mariadb_url, "处罚台账",
                 "--dataset", "penalty", "--out", str(out)]) == 2

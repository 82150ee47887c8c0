"""LZ-SJJ 兰州市水务局: the CSV drop folder (GB18030), as the legacy system exports it."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from huiju.demo.legacy.common import LegacySources, _Faker
from schemas.rules.divisions import counties

SITE_COLUMNS = (
    "水库名称",
    "所在区县",
    "区划代码",
    "管理单位",
    "管理单位信用代码",
    "责任人",
    "责任人身份证号",
    "联系电话",
    "主要功能",
    "总库容万立方米",
    "建成日期",
    "设计使用年限",
)
WATER_CHECK_COLUMNS = (
    "检查编号",
    "事项编码",
    "实施清单编码",
    "检查事项",
    "水库名称",
    "管理单位",
    "管理单位信用代码",
    "区划代码",
    "检查方式",
    "检查日期",
    "检查人员",
    "执法证号",
    "检查结论",
)
LANZHOU_COUNTIES = ("620102", "620103", "620104", "620105", "620111", "620121", "620122", "620123")


def _csv_bytes(
    columns: tuple[str, ...], rows: list[list[str]], extra_lines: list[str] = ()
) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows(rows)
    for line in extra_lines:
        buffer.write(line + "\r\n")
    return buffer.getvalue().encode("gb18030")


def water_csv_drop(folder: Path, fake: _Faker, sources: LegacySources) -> None:
    """Write the monthly site and water-check CSV exports (GB18030) with their defects."""
    folder.mkdir(parents=True, exist_ok=True)
    names = counties()
    reservoirs = []
    for n in range(24):
        county = LANZHOU_COUNTIES[n % len(LANZHOU_COUNTIES)]
        unit = (
            f"{names[county]}水库管理所"
            if n % 3
            else f"兰州{('䶮', '玥', '燊')[n % 3]}源水务有限公司"
        )
        reservoirs.append(
            [
                f"{names[county]}第{n + 1}水库",
                names[county],
                county,
                unit,
                fake.uscc("12" if n % 3 else "91", county),
                fake.person(),
                fake.id_card(county),
                f"0931-{fake.rng.randrange(10**7):07d}",
                fake.rng.choice(("灌溉", "防洪、灌溉", "供水")),
                str(fake.rng.randrange(50, 5000)),
                f"{fake.rng.randrange(1958, 2015)}年{fake.rng.randrange(1, 13)}月",
                str(fake.rng.choice((50, 100))),
            ]
        )
    october = reservoirs[:16]
    november = [row[:] for row in reservoirs[8:]]  # re-sent reservoirs 9–16: the later file wins
    for row in november[:8]:
        row[7] = f"0931-{fake.rng.randrange(10**7):07d}"  # a changed phone number
    files = {
        "水库名录_202410.csv": _csv_bytes(SITE_COLUMNS, october),
        "水库名录_202411.csv": _csv_bytes(
            SITE_COLUMNS, november, ["兰州第99水库,城关区,620102,缺列的一行"]
        ),
    }
    checks = []
    agency = fake.uscc("11", "620100")
    for n in range(30):
        res = reservoirs[n % len(reservoirs)]
        team = [fake.person(), fake.person()]
        day = fake.day(date(2024, 9, 1), 60)
        checks.append(
            [
                f"SJJC2024{n:04d}",
                "62010019001001",
                f"{agency}362010019001001001",
                "水库大坝安全检查",
                res[0],
                res[3],
                res[4],
                res[2],
                fake.rng.choice(("现场", "非现场")),
                day.strftime("%Y.%m.%d") if n % 2 else day.strftime("%Y年%m月%d日"),
                " ".join(team),
                f"62010019{n:04d}01、62010019{n:04d}02",
                fake.rng.choice(("未发现问题", "责令整改", "其他")),
            ]
        )
    checks[4][9] = "2024年13月2日"  # not a date
    files["水库检查_202411.csv"] = _csv_bytes(WATER_CHECK_COLUMNS, checks)
    for name, data in files.items():
        (folder / name).write_bytes(data)
        sources.files.append(folder / name)
    sources.defects["LZ-SJJ site"] = [
        "水库名录_202411.csv re-sends 8 reservoirs (superseded)",
        "水库名录_202411.csv last line is ragged (row error)",
    ]
    sources.defects["LZ-SJJ inspection"] = ["row 5: 检查日期 2024年13月2日"]

"""GS-SCJG 甘肃省市场监督管理局: the case database (SQLite), as the legacy system holds it."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

from huiju.demo.legacy.common import LegacySources, _Faker

PENALTY_COLUMNS = (
    "案件编号",
    "事项编码",
    "案件名称",
    "办案机构",
    "办案机构代码",
    "当事人名称",
    "当事人类型",
    "证件类型",
    "证件号码",
    "注册地址",
    "经营地址",
    "区划代码",
    "案件来源",
    "检查编号",
    "违法事实",
    "处罚依据",
    "程序类型",
    "是否听证",
    "立案日期",
    "是否涉刑",
    "是否重大",
    "决定书文号",
    "决定日期",
    "处罚种类",
    "罚款金额",
    "处罚结果",
    "复议情况",
    "诉讼情况",
    "执行方式",
    "不予处罚",
    "结案日期",
    "报送日期",
    "报送人",
    "法定代表人",
    "违法行为类型",
    "没收金额",
    "吊销证照",
    "操作标志",
    "更新时间",
)
INSPECTION_COLUMNS = (
    "检查编号",
    "计划编号",
    "事项编码",
    "实施清单编码",
    "检查名称",
    "检查机构",
    "检查对象",
    "对象性质",
    "证件类型",
    "证件号码",
    "经营地址",
    "区划代码",
    "检查形式",
    "现场检查",
    "检查结果",
    "检查日期",
    "检查人员",
    "执法证号",
    "报送日期",
    "更新时间",
)
ENTERPRISE_COLUMNS = (
    "主体身份代码",
    "注册号",
    "统一社会信用代码",
    "企业名称",
    "企业类型",
    "法定代表人",
    "注册资本",
    "住所",
    "经营范围",
    "成立日期",
    "核准日期",
    "登记机关",
    "登记状态",
    "联络员",
    "联络员身份证号",
    "经度",
    "纬度",
    "更新时间",
)
ITEM_CODES = ("62000031001001", "62000031002003", "62000031005002", "62000031011007")


def _create(conn: sqlite3.Connection, table: str, columns: tuple[str, ...], key: str) -> None:
    body = ", ".join(f'"{c}" TEXT' + (" PRIMARY KEY" if c == key else "") for c in columns)
    conn.execute(f'CREATE TABLE "{table}" ({body})')


def _insert(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], rows: list[dict]
) -> None:
    marks = ", ".join("?" for _ in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    conn.executemany(
        f'INSERT INTO "{table}" ({names}) VALUES ({marks})',
        [tuple(row.get(c) for c in columns) for row in rows],
    )


def case_database(path: Path, fake: _Faker, names: dict[str, str], sources: LegacySources) -> None:
    """Write the case database (penalty, inspection, enterprise tables) with its defects."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sources.env["HUIJU_SRC_GS_SCJG_CASE_DB"] = f"sqlite:///{path}"
    if path.exists():
        path.unlink()
    agency = fake.uscc("11", "620000")
    officers = [(fake.person(), f"62000031{fake.rng.randrange(100000):06d}") for _ in range(12)]
    enterprises = []
    for n in range(60):
        county = fake.county()
        enterprises.append(
            {
                "主体身份代码": f"6200{n:08d}",
                "注册号": f"62{fake.rng.randrange(10**12):013d}",
                "统一社会信用代码": fake.uscc("91", county),
                "企业名称": fake.company(names[county]),
                "企业类型": "有限责任公司(自然人投资或控股)",
                "法定代表人": fake.person(),
                "注册资本": f"{fake.rng.choice((50, 100, 200, 500, 1000))}",
                "住所": f"甘肃省{names[county]}某路{n + 1}号",
                "经营范围": "食品销售；日用百货销售",
                "成立日期": fake.day(date(2005, 1, 1), 5000).strftime("%Y年%m月%d日"),
                "核准日期": fake.day(date(2020, 1, 1), 1500).isoformat(),
                "登记机关": f"{names[county]}市场监督管理局",
                "登记状态": "存续",
                "联络员": fake.person(),
                "联络员身份证号": fake.id_card(county),
                "经度": f"{103.5 + fake.rng.random():.6f}",
                "纬度": f"{36.0 + fake.rng.random():.6f}",
                "更新时间": f"2024-10-{1 + n % 28:02d} 09:{n % 60:02d}:00",
            }
        )
    # defects a department would send: a legal-rep ID in 15 digits (converted), a bad USCC
    enterprises[5]["联络员身份证号"] = "620102800101123"
    enterprises[17]["统一社会信用代码"] = enterprises[17]["统一社会信用代码"][:-1] + (
        "0" if enterprises[17]["统一社会信用代码"][-1] != "0" else "1"
    )
    sources.defects["GS-SCJG enterprise"] = [
        "row 18: USCC check character wrong",
        "row 6: 15-digit liaison ID (converted to 18)",
    ]

    results = ["未发现问题", "责令改正", "行政指导", "行政处罚"]
    inspections = []
    for n in range(80):
        ent = enterprises[n % len(enterprises)]
        county = ent["统一社会信用代码"][2:8]
        team = fake.rng.sample(officers, 2)
        sep = fake.rng.choice(("、", "，"))
        item = fake.rng.choice(ITEM_CODES)
        checked = fake.day(date(2024, 3, 1), 200)
        inspections.append(
            {
                "检查编号": f"JC2024{n:05d}",
                "计划编号": f"SSJ2024{n % 5:03d}",
                "事项编码": item,
                "实施清单编码": f"{agency}2{item}001",
                "检查名称": "食品经营日常监督检查",
                "检查机构": "甘肃省市场监督管理局",
                "检查对象": ent["企业名称"],
                "对象性质": "法人",
                "证件类型": "统一社会信用代码",
                "证件号码": ent["统一社会信用代码"],
                "经营地址": ent["住所"],
                "区划代码": county if county in names else "620102",
                "检查形式": fake.rng.choice(("日常检查", "专项检查")),
                "现场检查": fake.rng.choice(("现场", "非现场")),
                "检查结果": fake.rng.choice(results),
                "检查日期": checked.isoformat(),
                "检查人员": sep.join(p for p, _ in team),
                "执法证号": sep.join(c for _, c in team),
                "报送日期": (checked + timedelta(days=3)).isoformat(),
                "更新时间": f"2024-10-{1 + n % 28:02d} 10:{n % 60:02d}:00",
            }
        )
    inspections[9]["检查人员"] = officers[0][0]  # one inspector only: 两人以上执法 is the law
    inspections[9]["执法证号"] = officers[0][1]
    inspections[33]["区划代码"] = "629999"  # not a Gansu division
    sources.defects["GS-SCJG inspection"] = [
        "row 10: only one inspector",
        "row 34: division 629999",
    ]

    labels = ["警告", "罚款", "没收违法所得", "责令停产停业"]
    penalties = []
    for n in range(120):
        ent = enterprises[(n * 7) % len(enterprises)]
        county = ent["统一社会信用代码"][2:8]
        citizen = n % 10 == 3
        filed = fake.day(date(2024, 1, 1), 200)
        decided = filed + timedelta(days=fake.rng.randrange(10, 60))
        closed = decided + timedelta(days=fake.rng.randrange(5, 40))
        kinds = fake.rng.sample(labels[:3], fake.rng.choice((1, 2)))
        fine = f"{fake.rng.randrange(1, 200) * 500}" if "罚款" in kinds else ""
        penalties.append(
            {
                "案件编号": f"CF2024{n:05d}",
                "事项编码": fake.rng.choice(ITEM_CODES),
                "案件名称": f"{'个人' if citizen else ent['企业名称']}涉嫌违法经营案",
                "办案机构": "甘肃省市场监督管理局",
                "办案机构代码": agency,
                "当事人名称": fake.person() if citizen else ent["企业名称"],
                "当事人类型": "公民" if citizen else "法人",
                "证件类型": "居民身份证" if citizen else "统一社会信用代码",
                "证件号码": fake.id_card(county if county in names else "620102")
                if citizen
                else ent["统一社会信用代码"],
                "注册地址": ent["住所"],
                "经营地址": ent["住所"],
                "区划代码": county if county in names else "620102",
                "案件来源": fake.rng.choice(
                    ("日常检查", "投诉举报", "上级交办", "部门移送", "检测报告")
                ),
                "检查编号": f"JC2024{n % 80:05d}",
                "违法事实": "经查，当事人经营超过保质期的食品。",
                "处罚依据": "《中华人民共和国食品安全法》第一百二十四条",
                "程序类型": "一般",
                "是否听证": "否",
                "立案日期": filed.isoformat(),
                "是否涉刑": "0",
                "是否重大": "0",
                "决定书文号": f"甘市监处罚〔2024〕{n + 1}号",
                "决定日期": decided.strftime("%Y年%m月%d日"),
                "处罚种类": "、".join(kinds),
                "罚款金额": fine,
                "处罚结果": "予以警告并处罚款" if fine else "予以警告",
                "复议情况": "无",
                "诉讼情况": "无",
                "执行方式": "自觉履行",
                "不予处罚": "否",
                "结案日期": closed.strftime("%Y.%m.%d"),
                "报送日期": (closed + timedelta(days=2)).isoformat(),
                "报送人": fake.person(),
                # 双公示 needs these (信用中国 CF_FRDB, CF_WFXW, CF_NR_WFFF, CF_NR_ZKDX);
                # derived from n, not drawn, so the other planted values stay as they were.
                "法定代表人": "" if citizen else ent["法定代表人"],
                "违法行为类型": "经营超过保质期的食品",
                "没收金额": f"{(n % 9 + 1) * 300}" if "没收违法所得" in kinds else "",
                "吊销证照": "",
                "操作标志": "新增",
                "更新时间": f"2024-10-{1 + n % 28:02d} 14:{n % 60:02d}:{n % 7:02d}",
            }
        )
    p = penalties
    p[6]["证件号码"] = p[6]["证件号码"][:-1] + ("0" if p[6]["证件号码"][-1] != "0" else "1")
    p[12]["决定日期"] = "2030年1月15日"
    p[20]["违法事实"] = None
    p[33]["当事人类型"], p[33]["证件类型"] = "公民", "居民身份证"
    p[33]["证件号码"] = "620102851224201"  # a 15-digit legacy ID: converted, not rejected
    p[39]["证件号码"] = p[39]["证件号码"].translate(
        str.maketrans(
            "0123456789ABCDEFGHJKLMNPQRTUWXY",
            "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＴＵＷＸＹ",
        )
    )
    p[54]["处罚种类"], p[54]["罚款金额"] = "罚款", ""
    p[59]["立案日期"] = "2024-12-30"
    p[70]["案件来源"] = "网络巡查"
    p[88]["操作标志"] = "删除"
    sources.defects["GS-SCJG penalty"] = [
        "row 7: USCC/ID check character wrong",
        "row 13: decision date in the future",
        "row 21: 违法事实 missing",
        "row 34: 15-digit ID (converted)",
        "row 40: full-width USCC (normalised)",
        "row 55: 罚款 without an amount",
        "row 60: filed after it was closed",
        "row 71: unknown case source 网络巡查",
        "row 89: operation 删除 of a case never loaded (counted, nothing to close)",
    ]

    dispositions = _lead_dispositions(agency)
    with sqlite3.connect(path) as conn:
        _create(conn, "线索处置", DISPOSITION_COLUMNS, "线索编号")
        _insert(conn, "线索处置", DISPOSITION_COLUMNS, dispositions)
        _create(conn, "行政处罚案件", PENALTY_COLUMNS, "案件编号")
        _create(conn, "检查记录", INSPECTION_COLUMNS, "检查编号")
        _create(conn, "企业基本信息", ENTERPRISE_COLUMNS, "主体身份代码")
        _insert(conn, "行政处罚案件", PENALTY_COLUMNS, penalties)
        _insert(conn, "检查记录", INSPECTION_COLUMNS, inspections)
        _insert(conn, "企业基本信息", ENTERPRISE_COLUMNS, enterprises)
    conn.close()
    sources.files.append(path)


# The national leads the demo's simulator serves (its --seed): the bureau records its
# dispositions of the first ones routed to it in its case database (issue 13).
NATIONAL_SEED = 1
DISPOSITION_COLUMNS = ("线索编号", "线索类型", "进展状态", "核查情况", "处置部门", "处置部门代码",
                       "处置结果", "处置日期", "更新时间")


def _lead_dispositions(agency_uscc: str) -> list[dict]:
    """Dispositions of the first three seeded leads config/lead_routing.yaml sends GS-SCJG:
    two closed (结案), one still being handled."""
    from huiju.routing import load_routing, route
    from simulator.leads import make_lead

    repo = Path(__file__).resolve().parents[3]
    table = load_routing(repo / "config" / "lead_routing.yaml",
                         departments_dir=repo / "departments")
    mine = [lead for lead in (make_lead(NATIONAL_SEED, n) for n in range(1, 21))
            if route(table, lead["lead_type"], lead["record"]).department_code == "GS-SCJG"]
    kinds = {"complaint": "投诉举报", "risk_lead": "风险预警"}
    rows = []
    for number, lead in enumerate(mine[:3]):
        closed = number < 2
        rows.append({"线索编号": lead["lead_id"], "线索类型": kinds[lead["lead_type"]],
                     "进展状态": "结案" if closed else "正常处理中",
                     "核查情况": "经现场核查，反映问题属实" if closed else "已派员核查",
                     "处置部门": "甘肃省市场监督管理局" if closed else None,
                     "处置部门代码": agency_uscc if closed else None,
                     "处置结果": "责令限期整改并予以警告" if closed else None,
                     "处置日期": "2026-11-15" if closed else None,
                     "更新时间": f"2026-11-15 1{number}:00:00"})
    return rows

"""Build the sample departments' legacy sources, as their systems would hold them.

The columns are the ones documented at the top of each ``departments/*.yaml``. The data is
deterministic (seeded) and realistic enough to exercise the pipeline: Gansu division codes,
valid identifiers computed with the national check-character algorithms — and a few defects
of the kinds departments really send (a wrong check character, a future date, a missing
field, an unknown legacy code, a lone inspector, a ragged CSV line, a re-sent record), each
of which must end up in quarantine or superseded, never lost.
"""

from __future__ import annotations

import csv
import io
import random
import sqlite3
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from schemas.rules.divisions import counties
from schemas.rules.id_card import id_check_char
from schemas.rules.org_code import org_code_check_char
from schemas.rules.uscc import CHARSET, uscc_check_char

SEED = 20211222
API_TOKEN = "demo-token-not-a-secret"  # the demo's local API only; real tokens come from secrets

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭"
GIVEN = "建国伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英䶮玥"
TRADES = ["商贸", "餐饮", "食品", "药业", "建材", "农牧", "物流", "医疗器械", "化妆品", "超市"]
ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # an org code inside a USCC uses the USCC charset


@dataclass
class LegacySources:
    """Where the sources are, and the environment that names their secrets."""

    env: dict[str, str]
    files: list[Path] = field(default_factory=list)
    api_records: list[dict] = field(default_factory=list)
    defects: dict[str, list[str]] = field(default_factory=dict)


class _Faker:
    """Deterministic Gansu-flavoured values with valid identifiers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counties = sorted(counties())

    def county(self) -> str:
        return self.rng.choice(self.counties)

    def person(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choices(GIVEN, k=self.rng.choice((1, 2)))
        )

    def uscc(self, prefix: str = "91", division: str | None = None) -> str:
        body = "".join(self.rng.choices(ORG_BODY, k=8))
        org = body + org_code_check_char(body)
        if org[-1] not in CHARSET:  # the org check char may be '0'..'9' or 'X', all in the set
            raise AssertionError(org)
        first17 = prefix + (division or self.county()) + org
        return first17 + uscc_check_char(first17)

    def id_card(self, division: str | None = None) -> str:
        birth = date(1955, 1, 1) + timedelta(days=self.rng.randrange(0, 365 * 45))
        first17 = (
            (division or self.county())
            + birth.strftime("%Y%m%d")
            + f"{self.rng.randrange(1000):03d}"
        )
        return first17 + id_check_char(first17)

    def company(self, county_name: str) -> str:
        stem = "".join(self.rng.choices("华陇金丝路祁连敦煌黄河雪域丝绸天成恒通瑞丰", k=2))
        return f"{county_name}{stem}{self.rng.choice(TRADES)}有限公司"

    def day(self, start: date, span_days: int) -> date:
        return start + timedelta(days=self.rng.randrange(span_days))


def build(home: Path, *, http_port: int = 8765) -> LegacySources:
    """Write every sample department's legacy source under ``home/var`` (deterministically)."""
    fake = _Faker(SEED)
    names = counties()
    sources = LegacySources(env={})
    _case_database(home / "var" / "legacy" / "gs_scjg_case.db", fake, names, sources)
    _water_csv_drop(home / "var" / "drop" / "lz_sjj", fake, sources)
    _drug_excel_drop(home / "var" / "drop" / "gs_yjj", fake, names, sources)
    sources.api_records = _license_records(fake, names)
    sources.env["HUIJU_SRC_GS_YJJ_API_TOKEN"] = API_TOKEN
    sources.defects.setdefault("GS-YJJ license", []).append(
        f"API serves pages of 20 over HTTP on 127.0.0.1:{http_port}"
    )
    return sources


# --------------------------------------------------------------------------- GS-SCJG (SQL)

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


def _case_database(path: Path, fake: _Faker, names: dict[str, str], sources: LegacySources) -> None:
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

    repo = Path(__file__).resolve().parents[2]
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


# --------------------------------------------------------------------------- LZ-SJJ (CSV, GB18030)

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


def _water_csv_drop(folder: Path, fake: _Faker, sources: LegacySources) -> None:
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


# --------------------------------------------------------------------------- GS-YJJ (Excel + API)

DRUG_COLUMNS = (
    "许可证编号",
    "统一社会信用代码",
    "企业名称",
    "注册地址",
    "生产地址",
    "发证日期",
    "有效期至",
    "发证机关",
)
YJJ_PENALTY_COLUMNS = (
    "处罚编号",
    "事项编码",
    "案件名称",
    "当事人",
    "当事人性质",
    "证件类型",
    "证件号码",
    "区划代码",
    "案件来源",
    "检查编号",
    "违法事实",
    "处罚依据",
    "处罚程序",
    "是否听证",
    "是否涉刑",
    "决定文书号",
    "决定日期",
    "处罚种类",
    "罚没金额万元",
    "处罚结果",
    "不予处罚",
    "结案日期",
    "违法行为类型",
    "法定代表人",
)


def _workbook(path: Path, title: str, columns: tuple[str, ...], rows: list[list]) -> None:
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append([f"填表说明：{title}，请勿修改表头；日期填写为日期格式；金额单位为万元。"])
    sheet.append(list(columns))
    for row in rows:
        sheet.append(row)
    book.save(path)


def _drug_excel_drop(
    folder: Path, fake: _Faker, names: dict[str, str], sources: LegacySources
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    drugs = []
    for n in range(15):
        county = fake.county()
        issued = fake.day(date(2020, 1, 1), 1200)
        drugs.append(
            [
                f"甘{20240001 + n}",
                fake.uscc("91", county),
                fake.company(names[county]).replace("有限公司", "制药有限公司"),
                f"甘肃省{names[county]}工业园区{n + 1}号",
                f"甘肃省{names[county]}工业园区{n + 1}号",
                issued,
                "长期" if n % 5 == 0 else date(issued.year + 5, issued.month, 1),
                "甘肃省药品监督管理局",
            ]
        )
    _workbook(folder / "药品生产许可_202411.xlsx", "药品生产许可证", DRUG_COLUMNS, drugs)
    penalties = []
    for n in range(40):
        county = fake.county()
        decided = fake.day(date(2024, 2, 1), 200)
        person = n % 8 == 5
        penalties.append(
            [
                f"YJCF2024{n:04d}",
                "62000072001001",
                "销售劣药案",
                fake.person() if person else fake.company(names[county]),
                "公民" if person else "法人",
                "居民身份证" if person else "统一社会信用代码",
                fake.id_card(county) if person else fake.uscc("91", county),
                county,
                fake.rng.choice(("社会举报", "在行政检查中发现")),
                f"YJJC2024{n:04d}",
                "销售劣药",
                "《中华人民共和国药品管理法》第一百一十七条",
                "一般程序",
                "否",
                "否",
                f"甘药监罚〔2024〕{n + 1}号",
                decided,
                "罚款，没收违法所得",
                fake.rng.choice((0.2, 1.5, 3, 0.05, 12.8)),
                "罚款并没收违法所得",
                "否",
                decided + timedelta(days=20),
                "销售劣药",
                # Not drawn from fake.rng: the planted values after this stay as they were.
                "" if person else ("王建国", "李秀英", "张伟", "刘洋")[n % 4],
            ]
        )
    penalties[11][6] = 6.20102198001e17  # an ID typed into a number cell: digits lost
    penalties[25][18] = "二万"  # not a number
    _workbook(folder / "行政处罚_202411.xlsx", "行政处罚案件", YJJ_PENALTY_COLUMNS, penalties)
    sources.files += [folder / "药品生产许可_202411.xlsx", folder / "行政处罚_202411.xlsx"]
    sources.defects["GS-YJJ penalty"] = [
        "row 12: ID number stored as a number (digits lost)",
        "row 26: amount 二万 is not a number",
    ]


def _license_records(fake: _Faker, names: dict[str, str]) -> list[dict]:
    records = []
    authority = fake.uscc("11", "620000")
    for n in range(45):
        county = fake.county()
        decided = fake.day(date(2024, 1, 1), 250)
        records.append(
            {
                "XK_XDR_MC": fake.company(names[county]),
                "XK_XDR_LB": "法人及非法人组织",
                "XK_XDR_SHXYM": fake.uscc("91", county),
                "XK_FRDB": fake.person(),
                "XK_XKWS": "药品经营许可证核发决定书",
                "XK_WSH": f"甘药监许〔2024〕{n + 1:03d}号",
                "XK_XKLB": "普通",
                "XK_XKZS": "药品经营许可证",
                "XK_XKBH": f"甘AA{9310000 + n}",
                "XK_NR": "药品零售（处方药、甲类非处方药、乙类非处方药）",
                "XK_JDRQ": decided.isoformat(),
                "XK_YXQZ": decided.isoformat(),
                "XK_YXQZI": "长期"
                if n % 9 == 0
                else date(decided.year + 5, decided.month, 1).isoformat(),
                "XK_XKJG": "甘肃省药品监督管理局",
                "XK_XKJGDM": authority,
                "XK_ZT": "有效",
                "XK_LYDW": "甘肃省药品监督管理局",
                "XK_LYDWDM": authority,
                "BZ": "",
                "UPDATED_AT": f"2024-10-{1 + n % 28:02d}T08:{n % 60:02d}:00+08:00",
            }
        )
    records[30]["XK_XKJGDM"] = "00000000000000000X"  # the placeholder seen in real 双公示 data
    return records

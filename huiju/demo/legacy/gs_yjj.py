"""GS-YJJ 甘肃省药品监督管理局: the Excel drop folder and the license API's records."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook

from huiju.demo.legacy.common import LegacySources, _Faker

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


def drug_excel_drop(
    folder: Path, fake: _Faker, names: dict[str, str], sources: LegacySources
) -> None:
    """Write the drug and penalty workbooks (xlsx and xls) with their defects."""
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


def license_records(fake: _Faker, names: dict[str, str]) -> list[dict]:
    """The license API's records (served by the demo's local HTTP server)."""
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

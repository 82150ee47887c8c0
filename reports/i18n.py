"""The pages' words in Chinese (the default) and English, declared once."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    "app": ("汇聚数据报告", "Huiju data reports"),
    "login": ("登录", "Log in"),
    "logout": ("退出", "Log out"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "login_failed": ("用户名或密码错误", "Wrong user name or password"),
    "quality": ("数据质量报告", "Data-quality report"),
    "department": ("部门", "Department"),
    "run": ("批次", "Run"),
    "no_runs": ("尚无批次", "No runs yet"),
    "dataset": ("数据集", "Data set"),
    "extracted": ("抽取", "Extracted"),
    "passed": ("通过", "Passed"),
    "quarantined": ("隔离", "Quarantined"),
    "superseded": ("被替代", "Superseded"),
    "pass_rate": ("通过率", "Pass rate"),
    "by_dataset": ("按数据集", "By data set"),
    "by_family": ("按检核类型", "By rule family"),
    "by_rule": ("按规则", "By rule"),
    "family": ("检核类型", "Rule family"),
    "rule": ("规则", "Rule"),
    "failed": ("未通过记录", "Failed records"),
    "checked": ("检核记录", "Checked records"),
    "top_reasons": ("主要问题", "Top failure reasons"),
    "reason": ("原因", "Reason"),
    "field": ("字段", "Field"),
    "failures": ("次数", "Failures"),
    "examples": ("原始值示例", "Example raw values"),
    "trend": ("通过率趋势", "Pass-rate trend"),
    "status": ("处理情况", "Open vs resolved"),
    "open": ("待处理", "Open"),
    "resolved": ("已解决", "Resolved"),
    "download": ("下载待处理问题清单 (xlsx)", "Download open rejections (xlsx)"),
    "completeness": ("完整性核查", "Completeness"),
    "period": ("月份", "Month"),
    "batches": ("批次", "Batches"),
    "invariants": ("核验", "Invariants"),
    "ok": ("一致", "agree"),
    "breaks": ("不一致", "breaks"),
    "coverage": ("报送覆盖", "Coverage"),
    "late": ("迟报", "late"),
    "missing": ("缺报", "missing"),
    "kpi_news": ("监管动态 (每月至少 2 条)", "Supervision news (at least 2 a month)"),
    "kpi_catalog": ("目录完整性", "Catalog completeness"),
    "catalog_items": ("监管事项", "Catalog items"),
    "with_check_list": ("有检查实施清单", "With an inspection list"),
    "with_flags": ("已标注双随机与重点监管", "Double-random and key flags stated"),
    "more_rows": ("另有 {} 行未显示：请按部门或月份筛选，或导出全部",
                  "{} more rows not shown: filter by department or month, or export them all"),
    "too_many_breaks": ("不一致的批次过多，此处仅计数；逐批明细见 huiju verify",
                        "Too many batches disagree to list here; the counts are exact, "
                        "huiju verify lists each"),
    "as_of": ("数据截至", "figures as of"),
    "export": ("导出 (xlsx)", "Export (xlsx)"),
    "digest": ("数据摘要 sha256", "Figures sha256"),
    "records": ("记录", "Records"),
    "written": ("写入的版本", "Versions written"),
    "action": ("操作", "Action"),
    "source_ref": ("来源引用", "Source reference"),
    "raw_value": ("原始值", "Raw value"),
    "provenance": ("来源追溯", "Provenance"),
    "landings": ("原始落地", "Raw landings"),
    "versions": ("仓库版本", "Warehouse versions"),
    "users": ("用户管理", "Users"),
    "role": ("角色", "Role"),
    "created_by": ("创建人", "Created by"),
    "delivery_pending": ("平台报送列待报送模块上线后显示", "Platform delivery columns appear once "
                         "delivery is installed"),
}


def labels(lang: str) -> dict[str, str]:
    """Every label in ``lang`` (``zh`` unless ``en``)."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in LABELS.items()}

"""What every sample department's legacy source shares: the seeded faker and the result."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

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


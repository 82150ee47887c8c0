"""Valid identifiers for generated leads: 统一社会信用代码 and 居民身份证号 whose check
characters are right and whose division code is chosen, so routing by division can be tested."""

from __future__ import annotations

import random

from schemas.rules.id_card import id_check_char
from schemas.rules.org_code import org_code_check_char
from schemas.rules.uscc import CHARSET, uscc_check_char

_ORG_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"   # body characters that are also USCC characters


def make_uscc(rng: random.Random, division: str, kind: str = "91") -> str:
    """A valid USCC of an entity registered in ``division`` (6 digits); ``kind`` its first two
    characters (91 enterprise, 92 individual business, 11 organ …)."""
    body = "".join(rng.choice(_ORG_BODY) for _ in range(8))
    org_check = org_code_check_char(body)
    if org_check not in CHARSET:   # 'X' is no USCC character: draw again
        return make_uscc(rng, division, kind)
    first17 = f"{kind}{division}{body}{org_check}"
    return first17 + uscc_check_char(first17)


def make_id_number(rng: random.Random, division: str) -> str:
    """A valid 18-character resident ID number of someone born in ``division``."""
    year = rng.randint(1950, 2000)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    first17 = f"{division}{year}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
    return first17 + id_check_char(first17)

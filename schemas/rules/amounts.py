"""Money amounts as exact decimals in 元 (domain README "Decisions": the warehouse stores 元).

Text is parsed digit by digit (pandas string methods), the 万元 → 元 shift is a move of the
decimal point, and the result is cast from text to Arrow ``decimal128(20, 2)`` — no float on
the way, so ``0.1`` 万元 is exactly ``1000.00`` 元.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from schemas.rules._arrays import arrow_strings

YUAN_TYPE = pa.decimal128(20, 2)
MAX_INTEGER_DIGITS = 18
_TEXT = pa.large_string()
_EMPTY = pa.scalar("", _TEXT)
_NOISE = r"[\s,_]|人民币|RMB|CNY|[¥￥]"
_NUMBER = r"^(?P<sign>[+-]?)(?P<int>[0-9]*)(?:\.(?P<frac>[0-9]*))?(?P<unit>万元|万|元)?$"


def to_yuan(values, unit: Literal["元", "万元"] = "元") -> tuple[pd.Series, np.ndarray]:
    """Amounts in 元 as ``pd.ArrowDtype(decimal128(20, 2))`` and a mask of unparseable values.

    ``unit`` is what the source column counts in (the department mapping declares it); a value
    that carries its own unit (``0.5万元``, ``5000元``) is read in that unit instead. Full-width
    digits, thousand separators, spaces and ``¥``/``人民币`` are dropped. Unparseable text,
    more than 18 integer digits, or precision finer than 分 (0.01 元) is flagged and gives null
    — never rounded. Negative amounts parse (validation, not parsing, demands ≥ 0). Missing
    and empty values give null and are not flagged.
    """
    if unit not in ("元", "万元"):
        raise ValueError(f"unit must be 元 or 万元, not {unit!r}")
    index = values.index if isinstance(values, pd.Series) else None
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(arrow_strings(values), "NFKC"))
    blank = pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)
    parts = pc.extract_regex(pc.replace_substring_regex(text, _NOISE, ""), _NUMBER)
    matched = pc.fill_null(parts.is_valid(), False)

    def part(name: str) -> pa.Array:
        return pc.fill_null(pc.struct_field(parts, name), _EMPTY)

    integer, fraction, sign = part("int"), part("frac"), part("sign")
    has_digit = pc.greater(pc.add(pc.utf8_length(integer), pc.utf8_length(fraction)), 0)
    row_unit = part("unit")
    wan = pc.or_(pc.starts_with(row_unit, "万"),
                 pc.and_(pc.equal(row_unit, ""), pa.scalar(unit == "万元")))

    # 万元: move the point four places right
    fraction4 = pc.utf8_rpad(fraction, 4, "0")
    integer = pc.if_else(wan, pc.binary_join_element_wise(
        integer, pc.utf8_slice_codeunits(fraction4, 0, 4), _EMPTY), integer)
    fraction = pc.if_else(wan, pc.utf8_slice_codeunits(fraction4, 4), fraction)
    cents = pc.utf8_rpad(fraction, 2, "0")
    exact = pc.match_substring_regex(pc.utf8_slice_codeunits(cents, 2), "^0*$")
    integer = pc.utf8_ltrim(integer, "0")
    integer = pc.if_else(pc.equal(integer, ""), pa.scalar("0", _TEXT), integer)
    fits = pc.less_equal(pc.utf8_length(integer), MAX_INTEGER_DIGITS)

    good = pc.and_(pc.and_(matched, has_digit), pc.and_(exact, fits))
    good = pc.fill_null(good, False).to_numpy(zero_copy_only=False) & ~blank
    number = pc.binary_join_element_wise(
        sign, integer, pa.scalar(".", _TEXT), pc.utf8_slice_codeunits(cents, 0, 2), _EMPTY)
    number = pc.if_else(pa.array(good), number, pa.scalar(None, number.type))
    result = pd.Series(pd.arrays.ArrowExtensionArray(number.cast(YUAN_TYPE)), index=index)
    return result, ~good & ~blank

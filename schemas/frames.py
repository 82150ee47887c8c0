"""The stage contract: the columns the stages hand each other, and how a rule is named.

Extraction and mapping (``huiju.mapping``) produce a *standard frame* — the data set's fields,
the exchange columns, and the row provenance below — plus an *issues* frame of the values it
could not convert. Validation (``expectations.validate``) turns both into a *quarantine* frame
of failures; the pipeline hands the warehouse (``warehouse.load``) a load request whose
quarantine carries the raw record too. Each of those shapes is declared here, once; every
stage imports it rather than spelling the columns again.

Three different things were once all called "provenance"; they are named apart here:

- ``ROW_PROVENANCE``: the columns a standard frame row carries to say where it came from;
- ``RAW_COLUMNS``: those plus the row's canonical JSON, which the raw layer lands;
- ``CORE_PROVENANCE``: the warehouse columns of every core/history row (``warehouse.tables``).
"""

from __future__ import annotations

from collections.abc import Iterable

# --------------------------------------------------------------------------- standard frame

SOURCE_REF = "_source_ref"  # how the source names the row (table#pk=…, file:line, url#id)
SOURCE_HASH = "_source_hash"  # sha256 of the row's canonical JSON (``huiju.canonical``)
RECORD = "record"  # the row's canonical JSON, as extracted
ROW_PROVENANCE = (SOURCE_REF, SOURCE_HASH)
RAW_COLUMNS = (*ROW_PROVENANCE, RECORD)

# --------------------------------------------------------------------------- failures

# What one failure says, wherever it is found (mapping or validation).
FAILURE_COLUMNS = ("rule_id", "family", "field", "message_zh", "message_en", "raw_value")
# The mapping's issues: ``row`` is the position of the failing row in the standard frame.
ISSUE_COLUMNS = ("row", *FAILURE_COLUMNS)
# Validation's quarantine frame: one row per failure, with the failing row's provenance.
QUARANTINE_COLUMNS = (*ISSUE_COLUMNS, *ROW_PROVENANCE)
# The quarantine of a load request: no position, but the raw record (and optionally
# ``record_id``, the failing row's record id when it has one).
LOAD_QUARANTINE_COLUMNS = (*FAILURE_COLUMNS, *ROW_PROVENANCE, RECORD)

# --------------------------------------------------------------------------- warehouse

CORE_PROVENANCE = ("department_code", "source_id", "source_ref", "source_hash")

# --------------------------------------------------------------------------- rule ids

# A row the connector could not read at all (ragged line, broken JSON).
ROW_ERROR_RULE = "01-PARSE-row"


def rule_id(family: str, kind: str, dataset: str, fields: Iterable[str]) -> str:
    """The id of a rule: ``<family>-<KIND>-<dataset>.<field>[+<field>…]``.

    KIND has no hyphen, so an id splits unambiguously on its first two hyphens.

    >>> rule_id("06", "USCC", "penalty", ["administrative_cp_code"])
    '06-USCC-penalty.administrative_cp_code'
    >>> rule_id("10", "DATEORDER", "penalty", ("case_filing_date", "closing_date"))
    '10-DATEORDER-penalty.case_filing_date+closing_date'
    """
    if "-" in kind:
        raise ValueError(f"rule kind {kind!r} must not contain '-'")
    return f"{family}-{kind}-{dataset}.{'+'.join(fields)}"


# --------------------------------------------------------------------------- errors


class AccountingError(ValueError):
    """extracted ≠ passed + quarantined + superseded, or a stage's frame is malformed.

    Raised by validation and by the warehouse before anything is written: a row was lost
    or counted twice.
    """

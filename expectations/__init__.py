"""Validation with Great Expectations: suites generated from the schema, rows quarantined.

- ``expectations.suites``: one GX suite per data set, generated from ``schemas/``; the rule
  id scheme and the national check family of every kind of rule.
- ``expectations.custom``: Huiju's custom GX expectations (value rules, list codes, dates in
  order, conditional rules, latest row per business key), vectorised pandas metrics.
- ``expectations.validate``: ``validate(frame, spec) -> Outcome`` — passed / quarantine /
  superseded, accounting, thresholds.
- ``expectations.messages``: the per-row Chinese/English rejection messages.
- ``expectations.testing.samples``: valid standard frames of any data set, for tests and
  benchmarks.

This package imports nothing on its own; ``expectations.suites`` does not import GX.
"""

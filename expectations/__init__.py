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

This package imports nothing on its own; ``expectations.suites`` does not import GX. It
quiets GX's logger before any module here imports GX, in the one place every task and
command passes through: GX logs a line at INFO for each expectation class it registers (214
of an Airflow task's 225 log lines, from ``great_expectations._docs_decorators`` and
``great_expectations.expectations.registry``). GX's warnings and errors still show.
"""

import logging

logging.getLogger("great_expectations").setLevel(logging.WARNING)

# What evaluates a suite (``expectations.validate``), named by this environment variable
# (``huiju.settings``): the vectorised checks, or GX itself. Both fail the same rows.
ENGINES = ("vectorised", "gx")
ENGINE_ENV = "HUIJU_VALIDATION_ENGINE"

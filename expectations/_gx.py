"""Great Expectations, imported once and quietly, and the one ephemeral context Huiju uses.

GX 1.x warns about its own deprecations on import; they are GX's business, so they are
silenced here — the only module that imports GX directly (``custom`` and ``validate``
import it from here). Import this before Airflow: both patch logging on import.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Iterator
from functools import cache

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import great_expectations as gx
    import great_expectations.execution_engine.pandas_execution_engine as _pandas_engine
    from great_expectations.core.batch_definition import BatchDefinition
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

__all__ = ["BatchDefinition", "batch_definition", "gx", "no_fingerprint"]

_FINGERPRINT_LOCK = threading.Lock()


@cache
def context():
    """An in-memory GX context: no files, no analytics calls, no progress bars."""
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


@cache
def batch_definition() -> BatchDefinition:
    """The one pandas data source of Huiju's context: a whole in-memory standard frame."""
    source = context().data_sources.add_pandas("huiju")
    asset = source.add_dataframe_asset("standard_frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


@contextlib.contextmanager
def no_fingerprint() -> Iterator[None]:
    """Skip GX's md5 fingerprint of every batch while Huiju validates.

    GX hashes each in-memory batch under 1 GB (``HASH_THRESHOLD``) into a batch marker,
    ``pandas_data_fingerprint``. Huiju never reads it: its rows carry ``_source_hash`` and the
    batch its ``batch_id``. On a million penalty rows the hash costs seconds, more than many
    expectations, so it is switched off for the duration of Huiju's own validation only.
    """
    with _FINGERPRINT_LOCK:
        saved = _pandas_engine.HASH_THRESHOLD
        _pandas_engine.HASH_THRESHOLD = 0
        try:
            yield
        finally:
            _pandas_engine.HASH_THRESHOLD = saved

"""Source connectors: SQL databases (``connectors.sql``), drop folders of files
(``connectors.files``) and paginated JSON APIs (``connectors.http``), all behind the small
interface of ``connectors.base``. This package imports nothing else of Huiju."""

from connectors.base import Batch, ConnectorError, RowError, Source, resolve_secret

__all__ = ["Batch", "ConnectorError", "RowError", "Source", "resolve_secret"]

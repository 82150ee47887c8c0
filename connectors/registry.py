"""The registry of connector kinds: a kind's name → its config model, class and capabilities.

A department file names a source's ``kind``; the department loader validates the source's
configuration with the kind's config model and the pipeline opens the kind's class — both by
asking here, so a new kind is one module plus one :func:`register` call below. Modules are
imported only when a kind is used (a files-only deployment need not import a SQL driver).

Each kind has a *role*: ``source`` (implements :class:`connectors.base.Source`: read legacy
rows) or ``destination`` (the delivery clients that push standard records to the national
platforms). Both share this shape; :func:`kinds` lists one role's names.

Capabilities the glue asks about instead of testing a kind's name:

- ``periods``: the source can read just the rows of a period (an Airflow data interval): its
  config has a ``window`` ``(start, end)`` over its ``cursor_column`` (``with_period``);
- ``paths``: config fields that name a folder on the Huiju host; when relative in a
  department file they are relative to that file's folder (never the process's current
  directory);
- ``sparse``: a read may leave out columns whose values are all null (a JSON API omits null
  keys), so a mapped column absent from a batch reads as empty; for the other kinds it is
  a misspelling and fails the feed;
- ``archive``: the config field where processed inputs are copied; when unset it defaults
  to ``<HUIJU_ARCHIVE_DIR>/<department>/<source>``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

Role = Literal["source", "destination"]

__all__ = ["Kind", "kind", "kinds", "register"]


@dataclass(frozen=True)
class Kind:
    """One kind of connector, named by ``name`` in configuration."""

    name: str
    role: Role
    module: str  # the module holding both classes, imported on first use
    config_class: str  # its pydantic config model (extra keys forbidden)
    connector_class: str  # built from a validated config: ``connector_class(config)``
    periods: bool = False
    paths: tuple[str, ...] = ()
    archive: str | None = None
    sparse: bool = False

    def config_model(self) -> type[BaseModel]:
        """The kind's configuration model."""
        return getattr(importlib.import_module(self.module), self.config_class)

    def open(self, config: BaseModel) -> Any:
        """A connector of this kind on ``config`` (a validated :meth:`config_model`)."""
        return getattr(importlib.import_module(self.module), self.connector_class)(config)

    def can_select_period(self, config: BaseModel) -> bool:
        """Whether ``config`` can be read for one period (a kind with periods and a cursor)."""
        return self.periods and bool(getattr(config, "cursor_column", None))

    def with_period(self, config: BaseModel, start: str | None, end: str | None) -> BaseModel:
        """``config`` reading only rows whose cursor lies in ``[start, end)``."""
        if not self.can_select_period(config):
            raise ValueError(f"a {self.name} {self.role} without a cursor column cannot "
                             "select a period")
        return config.model_copy(update={"window": (start, end)})


_KINDS: dict[tuple[Role, str], Kind] = {}


def register(entry: Kind) -> Kind:
    """Add ``entry`` to the registry; a name is registered once per role."""
    key = (entry.role, entry.name)
    if key in _KINDS and _KINDS[key] != entry:
        raise ValueError(f"{entry.role} kind {entry.name!r} is already registered")
    _KINDS[key] = entry
    return entry


def kind(name: str, role: Role = "source") -> Kind:
    """The registered kind ``name`` of ``role``; KeyError naming the known ones."""
    try:
        return _KINDS[(role, name)]
    except KeyError:
        raise KeyError(f"unknown {role} kind {name!r}; known: "
                       f"{', '.join(kinds(role)) or '(none)'}") from None


def kinds(role: Role = "source") -> tuple[str, ...]:
    """The names of the registered kinds of ``role``, sorted."""
    return tuple(sorted(name for (r, name) in _KINDS if r == role))


# --------------------------------------------------------------------------- the kinds

register(Kind("sql", "source", "connectors.sql", "SqlSourceConfig", "SqlSource",
              periods=True))
register(Kind("files", "source", "connectors.files", "FileSourceConfig", "FileSource",
              paths=("directory", "archive_dir", "rejected_dir"), archive="archive_dir"))
register(Kind("http", "source", "connectors.http", "HttpSourceConfig", "HttpSource",
              sparse=True))

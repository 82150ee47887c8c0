"""User mistakes, told in one line: what the command line prints instead of a traceback.

A mistake of the person running a command — an unknown department or data set, a warehouse
that is missing or not migrated, a broken department file — is not a bug: the command says
what is wrong and how to fix it in one line on stderr and exits 2. Anything else is a bug and
keeps its traceback. ``huiju --debug`` shows the traceback of a mistake too.
"""

from __future__ import annotations

EXIT_MISTAKE = 2


class UserMistake(Exception):
    """Something the person running the command can fix; its message says what."""


class UnknownName(UserMistake, KeyError):
    """An unknown department, source or data set (a KeyError too, for the callers that ask)."""

    def __str__(self) -> str:
        # KeyError quotes its message; a mistake reads as a sentence
        return str(self.args[0]) if self.args else ""


def explain(error: BaseException, warehouse: str | None = None) -> str | None:
    """The one line telling the mistake ``error`` is, or None when it is a bug.

    ``warehouse`` is the masked URL of the warehouse the command used, if any.
    """
    import sqlalchemy as sa

    from huiju.departments import DepartmentConfigError

    where = f" {warehouse}" if warehouse else ""
    if isinstance(error, UserMistake):
        return str(error)
    if isinstance(error, DepartmentConfigError):
        problems = [str(p) for p in error.problems]
        more = f" (and {len(problems) - 3} more; see huiju config check)" if len(problems) > 3 \
            else ""
        return f"bad department configuration: {'; '.join(problems[:3])}{more}"
    if isinstance(error, sa.exc.DBAPIError | sa.exc.NoSuchTableError):
        return _database_mistake(error, where)
    return None


# Phrases of the drivers (SQLite, PostgreSQL, MariaDB) saying a table or schema is missing.
_UNMIGRATED = ("no such table", "does not exist", "doesn't exist", "unknown database",
               "undefinedtable", "invalid schema name", "unknown schema")
_UNREACHABLE = ("connection refused", "could not connect", "unable to open database",
                "can't connect", "could not translate host name", "name or service not known",
                "password authentication failed", "access denied", "timeout expired")


def _database_mistake(error: BaseException, where: str) -> str | None:
    text = str(getattr(error, "orig", None) or error).lower()
    if any(p in text for p in _UNREACHABLE) or (
            "database" in text and "does not exist" in text and "relation" not in text):
        first = str(getattr(error, "orig", error)).strip().splitlines()[0]
        return (f"cannot open the warehouse{where}: {first} — check --url or "
                "HUIJU_WAREHOUSE_URL")
    if isinstance(error, Exception) and any(p in text for p in _UNMIGRATED):
        return (f"the warehouse{where} is not migrated (its tables are missing): run "
                "`huiju db upgrade` first")
    return None

"""A department case database on the real MariaDB server, grown and changed between runs.

The GS-SCJG sample department's legacy tables (built by ``huiju.demo.legacy``) are copied into
a MariaDB database, the penalty table multiplied to a few thousand rows so that a run lasts
long enough to be killed in every stage. :meth:`CaseDb.change` then inserts, updates and
deletes (the legacy way: 操作标志 = 删除 with a newer 更新时间) between runs, as the legacy
system would, and :meth:`CaseDb.expected` says what the warehouse must hold.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from huiju.demo import legacy

PENALTY = "行政处罚案件"
KEY = "案件编号"


class CaseDb:
    """The legacy case database of one fault test, on MariaDB."""

    def __init__(self, url: str, home: Path, copies: int = 30, seed: int = 0):
        self.url = url
        self.engine = sa.create_engine(url)
        self.rng = random.Random(seed)
        self.clock = datetime(2025, 1, 1, 8, 0, 0, tzinfo=UTC)  # legacy wall clock
        sources = legacy.build(home, http_port=1)
        case_db = sqlite3.connect(sources.env["HUIJU_SRC_GS_SCJG_CASE_DB"].removeprefix(
            "sqlite:///"))
        try:
            for (table,) in case_db.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                self._copy(case_db, table, copies if table == PENALTY else 1)
        finally:
            case_db.close()

    def _copy(self, case_db: sqlite3.Connection, table: str, copies: int) -> None:
        cursor = case_db.execute(f'SELECT * FROM "{table}"')
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        key = columns[0]
        ddl = ", ".join(f"`{c}` {'VARCHAR(64)' if c == key else 'TEXT'}" for c in columns)
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE `{table}` ({ddl}, PRIMARY KEY (`{key}`)) "
                                 "CHARACTER SET utf8mb4")
            marks = ", ".join(["%s"] * len(columns))
            names = ", ".join(f"`{c}`" for c in columns)
            for copy in range(copies):
                batch = [self._nth_copy(columns, row, copy) for row in rows]
                conn.exec_driver_sql(f"INSERT INTO `{table}` ({names}) VALUES ({marks})", batch)

    @staticmethod
    def _nth_copy(columns: list[str], row: tuple, copy: int) -> tuple:
        if not copy:
            return row
        values = dict(zip(columns, row, strict=True))
        values[KEY] = f"{values[KEY][:2]}{9000 + copy:04d}{values[KEY][-5:]}"
        return tuple(values[c] for c in columns)

    def _tick(self) -> str:
        self.clock += timedelta(seconds=1)
        return self.clock.strftime("%Y-%m-%d %H:%M:%S")

    def change(self, inserts: int = 20, updates: int = 20, deletes: int = 5) -> None:
        """Insert, update and delete penalty rows as the legacy system would."""
        with self.engine.begin() as conn:
            keys = [k for (k,) in conn.exec_driver_sql(
                f"SELECT `{KEY}` FROM `{PENALTY}` WHERE `操作标志` <> '删除' ORDER BY `{KEY}`")]
            for key in self.rng.sample(keys, min(updates, len(keys))):
                conn.exec_driver_sql(
                    f"UPDATE `{PENALTY}` SET `罚款金额` = %s, `操作标志` = '修改', "
                    f"`更新时间` = %s WHERE `{KEY}` = %s",
                    (str(self.rng.randrange(100, 90000)), self._tick(), key))
            for key in self.rng.sample(keys, min(deletes, len(keys))):
                conn.exec_driver_sql(
                    f"UPDATE `{PENALTY}` SET `操作标志` = '删除', `更新时间` = %s "
                    f"WHERE `{KEY}` = %s", (self._tick(), key))
            for _ in range(inserts):
                template = self.rng.choice(keys)
                new_key = f"CF8{self.rng.randrange(10**9):09d}"
                conn.exec_driver_sql(
                    f"CREATE TEMPORARY TABLE IF NOT EXISTS _row LIKE `{PENALTY}`")
                conn.exec_driver_sql("DELETE FROM _row")
                conn.exec_driver_sql(f"INSERT INTO _row SELECT * FROM `{PENALTY}` "
                                     f"WHERE `{KEY}` = %s", (template,))
                conn.exec_driver_sql(
                    f"UPDATE _row SET `{KEY}` = %s, `操作标志` = '新增', `更新时间` = %s",
                    (new_key, self._tick()))
                conn.exec_driver_sql(f"INSERT IGNORE INTO `{PENALTY}` SELECT * FROM _row")

    def expected(self) -> dict[str, tuple[str, Decimal | None]]:
        """Per penalty key at the source: ('deleted' | 'current', fine amount in 元)."""
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT `{KEY}`, `操作标志`, `罚款金额` FROM `{PENALTY}`").all()
        return {key: ("deleted" if flag == "删除" else "current",
                      Decimal(amount) if amount not in (None, "") else None)
                for key, flag, amount in rows}

    def dispose(self) -> None:
        """Close the source's connections."""
        self.engine.dispose()

"""End to end: a department's MariaDB penalty table into a PostgreSQL warehouse, four ways.

One seeded source table (``penalty``: 20 columns, Chinese text, valid USCC / ID check
characters, real Gansu county codes, ~1 % faulty rows) in a fresh MariaDB database; then, on
that same data, interleaved and repeated (``--rounds``), each variant into its own fresh
PostgreSQL database, each as its own process tree:

- ``raw``   — ``mariadb --batch --quick`` piped into ``psql \\copy``: the floor, no checks;
- ``dlt``   — dlt ``sql_table`` (connectorx backend, else pyarrow), ``write_disposition=merge``
  on the key, COPY-able csv loader files: the peer's best configuration;
- ``naive`` — pandas ``read_sql`` of the table, Great Expectations validation (not-null,
  regexes, value sets), failing rows dropped, ``to_sql``: what a data engineer writes first;
- ``huiju`` — ``huiju db upgrade`` (not timed) then ``huiju run --department GS-E2E`` as a
  subprocess, with a department YAML as a data engineer writes it, into a fresh warehouse.

Printed per variant: wall time, rows/s, peak RSS of the process tree (psutil polling, summed
over the process and its children; the database servers are not counted), the rows in the
destination, and how many of them carry an identifier with a bad check character (the fault
the checks exist for). Then the ratios Huiju/raw, Huiju/dlt, Huiju/naive (best round each),
and Huiju's incremental run after 1 % of the source rows changed, as a fraction of its first
load. ``--profile DIR`` adds one ``huiju run`` under py-spy (collapsed stacks in
``DIR/huiju.collapsed.txt``, which speedscope opens) and prints where the samples went.

``python -m benchmarks e2e --rows 1000000`` (``make bench-e2e`` syncs the ``bench``
dependency group first: dlt, psutil, py-spy; connectorx is a runtime dependency).
``--rows 100000`` is a quick run.
Servers: HUIJU_TEST_MARIADB_URL (root@127.0.0.1:3306) and HUIJU_BENCH_PG_URL
(postgres@127.0.0.1:5432). Every database is created with a unique name and dropped at the
end (``--keep`` keeps them).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
MARIADB_URL = os.environ.get("HUIJU_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
PG_URL = os.environ.get("HUIJU_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TABLE = "penalty"
KEY = "案件编号"
CODE_COLUMN = "证件号码"
VARIANTS = ("raw", "dlt", "naive", "huiju")
# where a legacy destination keeps the identifier: (table, column, type column, a person)
LEGACY = (TABLE, CODE_COLUMN, "当事人类型", "公民")
DEPARTMENT = "GS-E2E"
URL_SECRET = "HUIJU_SRC_GS_E2E_CASE_DB"

# (name, MariaDB type, PostgreSQL type): the legacy table, 20 columns.
COLUMNS = [
    (KEY, "VARCHAR(32) NOT NULL", "varchar(32) PRIMARY KEY"),
    ("事项编码", "VARCHAR(20)", "varchar(20)"),
    ("案件名称", "VARCHAR(200)", "varchar(200)"),
    ("办案机构", "VARCHAR(100)", "varchar(100)"),
    ("当事人名称", "VARCHAR(200)", "varchar(200)"),
    ("当事人类型", "VARCHAR(16)", "varchar(16)"),
    ("证件类型", "VARCHAR(32)", "varchar(32)"),
    (CODE_COLUMN, "VARCHAR(32)", "varchar(32)"),
    ("区划代码", "CHAR(6)", "char(6)"),
    ("案件来源", "VARCHAR(16)", "varchar(16)"),
    ("检查编号", "VARCHAR(32)", "varchar(32)"),
    ("违法事实", "TEXT", "text"),
    ("处罚依据", "VARCHAR(255)", "varchar(255)"),
    ("程序类型", "VARCHAR(8)", "varchar(8)"),
    ("决定书文号", "VARCHAR(100)", "varchar(100)"),
    ("决定日期", "DATE", "date"),
    ("处罚种类", "VARCHAR(64)", "varchar(64)"),
    ("罚款金额", "DECIMAL(18,2)", "numeric(18,2)"),
    ("处罚结果", "VARCHAR(500)", "varchar(500)"),
    ("更新时间", "DATETIME", "timestamp"),
]

# The department file a data engineer writes for this table (README "Configure a department").
DEPARTMENT_YAML = f"""\
code: {DEPARTMENT}
name: {{zh: 甘肃省市场监督管理局（基准）, en: Gansu market regulation (benchmark)}}
division_code: "620000"
schedule: "0 2 * * *"
thresholds:
  penalty: {{max_quarantined: 100000000, max_ratio: 0.05, min_batch_size: 1}}
sources:
  - id: case_db
    kind: sql
    system: 市场监管综合执法办案系统
    connection: {{url_secret: {URL_SECRET}}}
    feeds:
      - dataset: penalty
        extract: {{table: {TABLE}, primary_key: [{KEY}], cursor_column: 更新时间}}
        record_id: {{column: {KEY}}}
        mapping:
          supervise_item_code: 事项编码
          punish_action_name: 案件名称
          punish_action_code: {KEY}
          implement_institution: 办案机构
          supervise_object_type: {{const: "1"}}
          supervise_object: 当事人名称
          case_source:
            column: 案件来源
            labels: true
            values:
              {{日常检查: "01", 检测报告: "02", 投诉举报: "03", 上级交办: "04", 部门移送: "06"}}
          check_action_code: 检查编号
          administrative_cp: 当事人名称
          administrative_cp_nature: {{column: 当事人类型, labels: true}}
          administrative_cp_cert_type: {{column: 证件类型, labels: true}}
          administrative_cp_code: {CODE_COLUMN}
          area_code: 区划代码
          illegal_fact: 违法事实
          punish_basis: 处罚依据
          punish_procedure: {{column: 程序类型, labels: true, values: {{简易: "01", 一般: "02"}}}}
          is_hearing: {{const: "否"}}
          is_criminal_case: {{const: "否"}}
          punish_document_code: 决定书文号
          punish_decision_date: 决定日期
          punish_type: {{column: 处罚种类, labels: true, split: true}}
          fine_amount: {{column: 罚款金额, unit: 元}}
          penalty_result: 处罚结果
          admin_reconsideration: {{const: "00"}}
          admin_litigation: {{const: "99"}}
          closing_no_penalty: {{const: "否"}}
"""

FACTS = ["经营超过保质期的食品", "未按规定明码标价", "销售不符合食品安全标准的食品",
         "未取得食品经营许可从事食品经营活动", "使用未经检定的计量器具", "发布虚假违法广告",
         "销售无中文标签的预包装食品", "生产经营标注虚假生产日期的食品"]
BASES = ["《中华人民共和国食品安全法》第一百二十四条", "《中华人民共和国价格法》第四十二条",
         "《中华人民共和国广告法》第五十五条", "《中华人民共和国计量法》第二十六条"]
SOURCES = ["日常检查", "投诉举报", "上级交办", "部门移送", "检测报告"]
KINDS = [["警告"], ["罚款"], ["警告", "罚款"], ["罚款", "没收违法所得"]]


# --------------------------------------------------------------------------- the source table


def _faults(i: int) -> str | None:
    """~1 % of rows are faulty: 0.6 % a wrong check character, 0.2 % a division outside
    Gansu, 0.2 % an empty 违法事实 (required)."""
    slot = i % 1000
    if slot in (37, 137, 237, 337, 437, 537):
        return "check"
    if slot in (637, 737):
        return "division"
    if slot in (837, 937):
        return "fact"
    return None


def _tsv_rows(start: int, count: int, seed: int):
    """Penalty rows ``start`` .. ``start + count - 1`` as TSV lines (``\\N`` for NULL)."""
    from huiju.demo.legacy.common import _Faker
    from huiju.demo.legacy.gs_scjg import ITEM_CODES
    from schemas.rules.divisions import counties

    fake = _Faker(seed)
    names = counties()
    codes = sorted(names)
    # A pool of counterparts (valid identifiers are costly to draw): each is penalised often.
    pool = []
    for n in range(min(20_000, max(count, 1))):
        county = codes[n % len(codes)]
        if n % 10 == 3:
            pool.append((fake.person(), "公民", "居民身份证", fake.id_card(county), county))
        else:
            pool.append((fake.company(names[county]), "法人", "统一社会信用代码",
                         fake.uscc("91", county), county))
    rng = random.Random(seed * 7919 + start)
    base = datetime(2021, 1, 1)  # noqa: DTZ001 - a legacy DATETIME column, Beijing time
    decided0 = date(2021, 1, 1)
    for i in range(start, start + count):
        name, nature, cert, code, county = pool[rng.randrange(len(pool))]
        fault = _faults(i)
        if fault == "check":
            code = code[:-1] + ("1" if code[-1] != "1" else "2")
        division = "629999" if fault == "division" else county
        fact = "" if fault == "fact" else (
            f"经查，当事人{name}于{rng.randint(2019, 2023)}年{rng.randint(1, 12)}月"
            f"{FACTS[rng.randrange(len(FACTS))]}，涉案货值{rng.randint(100, 99999)}元，"
            "违法事实清楚，证据确凿。")
        kinds = KINDS[rng.randrange(len(KINDS))]
        fine = f"{rng.randint(1, 4000) * 50}.{rng.randrange(100):02d}" if "罚款" in kinds \
            else "\\N"
        agency = f"{names[county]}市场监督管理局"
        yield "\t".join((
            f"CF{i:010d}", ITEM_CODES[i % len(ITEM_CODES)], f"{name}涉嫌违法经营案",
            agency, name, nature, cert, code, division, SOURCES[i % len(SOURCES)],
            f"JC{i:010d}", fact, BASES[i % len(BASES)], "一般" if i % 4 else "简易",
            f"{names[county][:2]}市监处罚〔{2021 + i % 4}〕{i}号",
            (decided0 + timedelta(days=i % 1400)).isoformat(), "、".join(kinds), fine,
            "予以" + "并处".join(kinds), (base + timedelta(seconds=i * 7)).isoformat(" "),
        )) + "\n"


def _mariadb_url(database: str | None = None) -> sa.URL:
    url = sa.make_url(MARIADB_URL)
    return url.set(database=database, query={"charset": "utf8mb4", "local_infile": "1"})


def create_source(database: str, rows: int, seed: int) -> float:
    """Create ``database``.``penalty`` with ``rows`` seeded rows; returns seconds."""
    started = time.perf_counter()
    admin = sa.create_engine(_mariadb_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4"))
    admin.dispose()
    ddl = ",\n".join(f"`{n}` {kind}" for n, kind, _ in COLUMNS)
    engine = sa.create_engine(_mariadb_url(database), connect_args={"local_infile": True})
    with tempfile.TemporaryDirectory() as tmp, engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE `{TABLE}` ({ddl}, PRIMARY KEY (`{KEY}`), "
                             "KEY `ix_cursor` (`更新时间`, `案件编号`)) CHARACTER SET utf8mb4")
        chunk = 250_000
        for offset in range(0, rows, chunk):
            path = Path(tmp) / "penalty.tsv"
            with path.open("w", encoding="utf-8") as out:
                out.writelines(_tsv_rows(1 + offset, min(chunk, rows - offset), seed))
            conn.exec_driver_sql(
                f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE `{TABLE}` CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY '\\t' LINES TERMINATED BY '\\n'")
        conn.exec_driver_sql(f"ANALYZE TABLE `{TABLE}`")
    engine.dispose()
    return time.perf_counter() - started


def widen_source(database: str, mib: int) -> None:
    """Give one row (the middle one) a ``mib`` MiB 违法事实: the issue's single huge field.

    The column becomes LONGTEXT and the server's ``max_allowed_packet`` is raised to carry
    the row (MariaDB's default of 16 MiB would cut it), as a department holding such
    fields must have it."""
    engine = sa.create_engine(_mariadb_url(database), isolation_level="AUTOCOMMIT")
    size = mib * 2**20
    with engine.connect() as conn:
        packet = conn.exec_driver_sql("SELECT @@GLOBAL.max_allowed_packet").scalar()
        if packet < 4 * size:
            conn.exec_driver_sql(f"SET GLOBAL max_allowed_packet = {4 * size}")
    engine.dispose()
    engine = sa.create_engine(_mariadb_url(database))  # a new session sees the new packet
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ALTER TABLE `{TABLE}` MODIFY `违法事实` LONGTEXT")
        count = conn.exec_driver_sql(f"SELECT COUNT(*) FROM `{TABLE}`").scalar()
        middle = conn.exec_driver_sql(f"SELECT `{KEY}` FROM `{TABLE}` ORDER BY `{KEY}` "
                                      f"LIMIT 1 OFFSET {count // 2}").scalar()
        # 3 bytes per character in UTF-8: REPEAT of a CJK character, ``mib`` MiB in all
        conn.exec_driver_sql(f"UPDATE `{TABLE}` SET `违法事实` = REPEAT('违', {size // 3}) "
                             f"WHERE `{KEY}` = %s", (middle,))
    engine.dispose()


def change_source(database: str, fraction: float) -> int:
    """Change ``fraction`` of the source rows (a corrected result, a new update time)."""
    step = max(1, round(1 / fraction))
    engine = sa.create_engine(_mariadb_url(database))
    with engine.begin() as conn:
        changed = conn.exec_driver_sql(
            f"UPDATE `{TABLE}` SET `处罚结果` = CONCAT(`处罚结果`, '（已更正）'), "
            "`更新时间` = NOW() "
            f"WHERE MOD(CAST(SUBSTRING(`{KEY}`, 3) AS UNSIGNED), {step}) = 0").rowcount
    engine.dispose()
    return changed


def drop_source(database: str) -> None:
    """Drop the benchmark's MariaDB source database."""
    admin = sa.create_engine(_mariadb_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{database}`"))
    admin.dispose()


# --------------------------------------------------------------------------- destinations


def create_pg(name: str) -> sa.URL:
    """Create a fresh PostgreSQL database for one variant; return its URL."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(PG_URL).set(database=name)


def drop_pg(name: str) -> None:
    """Drop a variant's PostgreSQL database."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def bad_identifiers(codes: list, citizen: list[bool]):
    """Mask of identifiers with a bad check character: a citizen's ID number, else a USCC
    (judged by the row's own counterpart type: a damaged ID number can happen to spell a
    valid USCC)."""
    import numpy as np
    import pyarrow as pa

    from schemas.rules.id_card import check_id_card
    from schemas.rules.uscc import check_uscc

    array = pa.array(codes, type=pa.large_string())
    return np.where(np.asarray(citizen, dtype=bool), check_id_card(array) != 0,
                    check_uscc(array) != 0)


def count_destination(url: sa.URL, table: str, column: str, kind: str,
                      citizen: str) -> tuple[int, int]:
    """(rows, rows whose identifier has a bad check character) in ``table``; ``kind`` is the
    counterpart-type column, ``citizen`` its value for a person."""
    import numpy as np

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f'SELECT "{column}", "{kind}" FROM {table}').all()
    engine.dispose()
    if not rows:
        return 0, 0
    codes, kinds = zip(*rows, strict=True)
    bad = bad_identifiers(list(codes), [k == citizen for k in kinds])
    return len(rows), int(np.count_nonzero(bad))


# --------------------------------------------------------------------------- measuring


def measure(command: list[str], env: dict[str, str] | None = None,
            log: Path | None = None) -> dict:
    """Run ``command``; wall seconds and the peak RSS of its process tree (MiB, polled)."""
    import psutil

    out = log.open("w") if log else subprocess.DEVNULL
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                total = 0
                for proc in tree:
                    try:
                        total += proc.memory_info().rss
                    except psutil.Error:
                        pass
                peak = max(peak, total)
            except psutil.Error:
                return
            done.wait(0.05)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    code = process.wait()
    seconds = time.perf_counter() - started
    done.set()
    poller.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if log:
        out.close()
    # CPU seconds of the process tree (servers excluded): steadier than wall time when the
    # machine is shared; the 1-minute load average says how shared it was.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": seconds, "peak_mib": peak / 2**20, "exit": code, "cpu_seconds": cpu,
            "load_before": load, "load_after": os.getloadavg()[0]}


def _client_args(url: sa.URL, kind: str) -> list[str]:
    if kind == "mariadb":
        return ["-h", url.host or "127.0.0.1", "-P", str(url.port or 3306),
                "-u", url.username or "root", "--max-allowed-packet=1G"]
    return ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
            "-U", url.username or "postgres"]


def _child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), **(extra or {})}
    pg = sa.make_url(PG_URL)
    my = sa.make_url(MARIADB_URL)
    if pg.password:
        env["PGPASSWORD"] = str(pg.password)
    if my.password:
        env["MYSQL_PWD"] = str(my.password)
    return env


# --------------------------------------------------------------------------- the variants


def run_raw(source: str, dest: sa.URL, work: Path) -> tuple:
    """``mariadb --batch --quick | psql \\copy`` into a bare typed table."""
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None or shutil.which("psql") is None:
        raise SystemExit("the raw move needs the mariadb and psql clients")
    engine = sa.create_engine(dest)
    with engine.begin() as conn:
        body = ", ".join(f'"{n}" {pg}' for n, _, pg in COLUMNS)
        conn.exec_driver_sql(f"CREATE TABLE {TABLE} ({body})")
    engine.dispose()
    import shlex

    dump = [client, "--batch", "--quick", "--skip-column-names", "--default-character-set=utf8mb4",
            *_client_args(_mariadb_url(source), "mariadb"), source,
            "-e", f"SELECT * FROM `{TABLE}`"]
    # mariadb --batch escapes \t \n \\ as COPY's text format does, and writes NULL for NULL
    copy = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *_client_args(dest, "pg"),
            "-d", dest.database, "-c", f"\\copy {TABLE} FROM STDIN WITH (NULL 'NULL')"]
    script = f"set -o pipefail; {shlex.join(dump)} | {shlex.join(copy)}"
    return measure(["bash", "-c", script], env=_child_env(), log=work / "raw.log"), *LEGACY


def run_dlt(source: str, dest: sa.URL, work: Path) -> tuple:
    """Time dlt's best configuration in a child process."""
    command = [sys.executable, "-m", "benchmarks.bench_e2e", "--child", "dlt",
               "--source", source, "--dest", dest.database, "--work", str(work)]
    env = _child_env({"RUNTIME__DLTHUB_TELEMETRY": "false",
                      # Chinese column names stay as they are (snake_case would erase them)
                      "SCHEMA__NAMING": "direct"})
    return measure(command, env=env, log=work / "dlt.log"), f'penalty_dlt."{TABLE}"', \
        *LEGACY[1:]


def run_naive(source: str, dest: sa.URL, work: Path) -> tuple:
    """Time pandas read_sql + GX + to_sql in a child process."""
    command = [sys.executable, "-m", "benchmarks.bench_e2e", "--child", "naive",
               "--source", source, "--dest", dest.database, "--work", str(work)]
    return measure(command, env=_child_env(), log=work / "naive.log"), *LEGACY


def _huiju_env(source: str, dest: sa.URL, work: Path) -> dict[str, str]:
    return _child_env({
        "HUIJU_HOME": str(work),
        "HUIJU_DEPARTMENTS_DIR": str(work / "departments"),
        "HUIJU_WAREHOUSE_URL": dest.render_as_string(hide_password=False),
        URL_SECRET: _mariadb_url(source).set(query={"charset": "utf8mb4"})
        .render_as_string(hide_password=False),
    })


def _huiju() -> str:
    return str(Path(sys.executable).with_name("huiju"))


def prepare_huiju(source: str, dest: sa.URL, work: Path) -> dict[str, str]:
    """Write the department file and migrate the warehouse; return the CLI's environment."""
    (work / "departments").mkdir(parents=True, exist_ok=True)
    (work / "departments" / "gs_e2e.yaml").write_text(DEPARTMENT_YAML, encoding="utf-8")
    env = _huiju_env(source, dest, work)
    subprocess.run([_huiju(), "db", "upgrade"], env=env, cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    return env


def run_huiju(source: str, dest: sa.URL, work: Path, log_name: str = "huiju.log",
              prefix: list[str] | None = None) -> tuple:
    """Time `huiju run` as a user runs it."""
    env = prepare_huiju(source, dest, work) if not (work / "departments").exists() \
        else _huiju_env(source, dest, work)
    command = [*(prefix or []), _huiju(), "run", "--department", DEPARTMENT]
    result = measure(command, env=env, log=work / log_name)
    return result, "core.penalty", "administrative_cp_code", "administrative_cp_nature", "01"


RUNNERS = {"raw": run_raw, "dlt": run_dlt, "naive": run_naive, "huiju": run_huiju}


# --------------------------------------------------------------------------- children


def child_dlt(source: str, dest: str, work: Path) -> None:
    """The dlt variant (runs in its own process)."""
    import dlt
    from dlt.sources.sql_database import sql_table

    my = _mariadb_url(source)
    try:
        import connectorx  # noqa: F401
        backend, kwargs = "connectorx", {"conn": f"mysql://{my.username}@{my.host}:"
                                                 f"{my.port or 3306}/{source}"}
    except ImportError:
        backend, kwargs = "pyarrow", {}
    table = sql_table(credentials=my.set(query={"charset": "utf8mb4"}).render_as_string(
        hide_password=False), table=TABLE, backend=backend, backend_kwargs=kwargs,
        chunk_size=100_000)
    table.apply_hints(primary_key=KEY, write_disposition="merge")
    pg = sa.make_url(PG_URL).set(database=dest, drivername="postgresql")
    if not pg.password:  # dlt insists on a password; a trust-auth server ignores it
        pg = pg.set(password="unused")
    pipeline = dlt.pipeline(pipeline_name=f"e2e_{dest}", pipelines_dir=str(work / "dlt"),
                            destination=dlt.destinations.postgres(
                                credentials=pg.render_as_string(hide_password=False)),
                            dataset_name="penalty_dlt")
    info = pipeline.run(table, loader_file_format="csv")
    summary = " ".join(str(info).split()).split(" The postgres destination used")[0]
    print(f"dlt backend {backend}, loader csv, merge on {KEY}: {summary[:200]}")


def child_naive(source: str, dest: str) -> None:
    """The naive variant (runs in its own process)."""
    import great_expectations as gx
    import pandas as pd

    src = sa.create_engine(_mariadb_url(source).set(query={"charset": "utf8mb4"}))
    frame = pd.read_sql(f"SELECT * FROM `{TABLE}`", src)
    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas("naive").add_dataframe_asset("penalty")
             .add_batch_definition_whole_dataframe("all").get_batch(
                 batch_parameters={"dataframe": frame}))
    expect = gx.expectations
    suite = gx.ExpectationSuite(name="penalty", expectations=[
        *[expect.ExpectColumnValuesToNotBeNull(column=c)
          for c in (KEY, "当事人名称", CODE_COLUMN, "违法事实", "决定日期", "处罚种类")],
        expect.ExpectColumnValuesToMatchRegex(
            column=CODE_COLUMN,
            regex=r"^([0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|\d{17}[0-9X])$"),
        expect.ExpectColumnValueLengthsToBeBetween(column="违法事实", min_value=1),
        expect.ExpectColumnValuesToMatchRegex(column="区划代码", regex=r"^62\d{4}$"),
        expect.ExpectColumnValuesToMatchRegex(column="事项编码", regex=r"^\d{14}$"),
        expect.ExpectColumnValuesToBeInSet(column="当事人类型",
                                           value_set=["公民", "法人", "其他组织"]),
        expect.ExpectColumnValuesToBeInSet(column="案件来源", value_set=SOURCES),
        expect.ExpectColumnValuesToBeUnique(column=KEY),
    ])
    suite = context.suites.add(suite)
    result = batch.validate(suite, result_format={"result_format": "COMPLETE"})
    bad: set[int] = set()
    for item in result.results:
        bad.update(item.result.get("unexpected_index_list") or [])
    passed = frame.drop(index=list(bad))
    dst = sa.create_engine(sa.make_url(PG_URL).set(database=dest))
    passed.to_sql(TABLE, dst, index=False, chunksize=10_000)
    print(f"naive: {len(frame)} read, {len(bad)} dropped, {len(passed)} written")


# --------------------------------------------------------------------------- profile


def summarise_profile(raw: Path, top: int = 15) -> str:
    """Top functions by own and inclusive samples from py-spy's collapsed (``raw``) stacks."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    modules: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame_name(f) for f in stack.split(";") if f and not f.startswith("process")]
        if not frames:
            continue
        own[frames[-1]] += samples
        for name in set(frames):
            inclusive[name] += samples
        modules[_module_of(stack.split(";")[-1])] += samples
    if not total:
        return "no samples"
    lines = [f"{total} samples", "own time (top functions):"]
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("own time by package / module:")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in modules.most_common(top)]
    lines.append("inclusive time (functions on the stack):")
    lines += [f"  {100 * n / total:5.1f}%  {name}" for name, n in inclusive.most_common(top * 2)]
    return "\n".join(lines)


def _frame_name(frame: str) -> str:
    # py-spy frames: "function (path/to/file.py:line)"
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    return f"{name} ({_short(path)})"


def _module_of(frame: str) -> str:
    _, _, where = frame.partition(" (")
    return _short(where.rstrip(")").rsplit(":", 1)[0]).split("/")[0]


def _short(path: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def profile_huiju(source: str, work: Path, out: Path, rate: int) -> None:
    """Record a py-spy profile of `huiju run` and summarise where the time goes."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    out.mkdir(parents=True, exist_ok=True)
    # collapsed stacks: summarised below, and speedscope opens them as they are
    dest_name = f"huiju_e2e_{uuid.uuid4().hex[:8]}_prof"
    dest = create_pg(dest_name)
    try:
        run_dir = work / dest_name
        prefix = [py_spy, "record", "--subprocesses", "--rate", str(rate), "--format", "raw",
                  "-o", str(out / "huiju.collapsed.txt"), "--"]
        prepare_huiju(source, dest, run_dir)
        result, *_ = run_huiju(source, dest, run_dir, "profile.log", prefix)
        print(f"profiled huiju run: {result['seconds']:.1f} s", flush=True)
    finally:
        drop_pg(dest_name)
    print(summarise_profile(out / "huiju.collapsed.txt"))


# --------------------------------------------------------------------------- main


def _row(label: str, rows: int, result: dict) -> str:
    rate = rows / result["seconds"] if result["seconds"] else 0
    return (f"  {label:<10} {result['seconds']:8.1f} s  {rate / 1000:8.1f} k rows/s  "
            f"{result['peak_mib']:8.0f} MiB  cpu {result.get('cpu_seconds', 0):7.1f} s  "
            f"load {result.get('load_before', 0):4.1f}  "
            f"dest {result.get('dest_rows', '?'):>9}  bad check chars {result.get('bad', '?'):>6}"
            + ("" if result["exit"] == 0 else f"  (exit {result['exit']})"))


def run(rows: int, rounds: int, variants: list[str], seed: int, changed: float,  # noqa: C901
        keep: bool, profile: Path | None, profile_rate: int, json_out: Path | None,
        wide_mib: int = 0) -> dict:
    """Seed the source, run the variants interleaved, print figures and ratios."""
    tag = uuid.uuid4().hex[:8]
    source = f"huiju_e2e_{tag}_src"
    work = Path(tempfile.mkdtemp(prefix="huiju_e2e_"))
    report: dict = {"rows": rows, "rounds": rounds, "results": {v: [] for v in variants}}
    print(f"generating {rows:,} penalty rows in MariaDB {source} …", flush=True)
    seconds = create_source(source, rows, seed)
    faulty = sum(1 for i in range(1, rows + 1) if _faults(i) == "check")
    print(f"  {seconds:.1f} s; {faulty:,} rows with a bad check character", flush=True)
    if wide_mib:
        widen_source(source, wide_mib)
        print(f"  one row's 违法事实 is now {wide_mib} MiB", flush=True)
    report["wide_field_mib"] = wide_mib
    report["bad_in_source"] = faulty
    dests: list[str] = []
    try:
        for number in range(1, rounds + 1):
            print(f"round {number}/{rounds}", flush=True)
            for variant in variants:
                name = f"huiju_e2e_{tag}_{variant}_{number}"
                dest = create_pg(name)
                dests.append(name)
                run_dir = work / name
                run_dir.mkdir()
                try:
                    result, *where = RUNNERS[variant](source, dest, run_dir)
                    result["dest_rows"], result["bad"] = count_destination(dest, *where)
                except Exception as error:  # noqa: BLE001 - one variant's failure is reported
                    result = {"seconds": 0.0, "peak_mib": 0.0, "exit": -1, "error": repr(error)}
                for log in run_dir.glob(f"{variant}.log"):
                    notes = [line for line in log.read_text(errors="replace").splitlines()
                             if line.startswith(f"{variant}:") or line.startswith("dlt backend")]
                    if notes:
                        result["note"] = notes[-1][:300]
                        print(f"  {result['note']}", flush=True)
                if result["exit"] != 0:
                    logs = sorted(run_dir.glob("*.log"))
                    tail = logs[0].read_text(errors="replace")[-1500:] if logs else ""
                    print(f"  {variant} failed: {result.get('error', '')}\n{tail}", flush=True)
                report["results"][variant].append(result)
                print(_row(variant, rows, result), flush=True)
                last_huiju = (variant == "huiju" and number == rounds)
                if not (keep or last_huiju):
                    drop_pg(name)
        if "huiju" in variants and changed:
            name = f"huiju_e2e_{tag}_huiju_{rounds}"
            touched = change_source(source, changed)
            dest = sa.make_url(PG_URL).set(database=name)
            result, *where = run_huiju(source, dest, work / name, "incremental.log")
            result["dest_rows"], result["bad"] = count_destination(dest, *where)
            result["changed_rows"] = touched
            report["incremental"] = result
            print(f"incremental after {touched:,} rows changed ({changed:.0%}):", flush=True)
            print(_row("huiju inc", rows, result), flush=True)
        if profile is not None and "huiju" in variants:
            profile_huiju(source, work, profile, profile_rate)
    finally:
        if not keep:
            for name in dests:
                drop_pg(name)
            drop_source(source)
            shutil.rmtree(work, ignore_errors=True)
    _summary(report, rows)
    if json_out:
        json_out.write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _best(results: list[dict]) -> dict | None:
    ok = [r for r in results if r["exit"] == 0 or r.get("dest_rows")]
    return min(ok, key=lambda r: r["seconds"]) if ok else None


def _summary(report: dict, rows: int) -> None:
    print(f"\nsummary at {rows:,} rows (best of {report['rounds']} round(s); "
          f"{report['bad_in_source']:,} source rows carry a bad check character):")
    best = {v: _best(rs) for v, rs in report["results"].items()}
    for variant, result in best.items():
        if result:
            spread = ", ".join(f"{r['seconds']:.1f}" for r in report["results"][variant])
            print(_row(variant, rows, result) + f"   rounds: {spread} s")
    huiju = best.get("huiju")
    if huiju:
        for peer in ("raw", "dlt", "naive"):
            if best.get(peer):
                ratio = huiju["seconds"] / best[peer]["seconds"]
                cpu = huiju.get("cpu_seconds", 0) / max(best[peer].get("cpu_seconds", 0), 1e-9)
                print(f"  Huiju/{peer}: {ratio:.2f}× wall ({cpu:.2f}× client CPU)")
        if report.get("incremental"):
            inc = report["incremental"]["seconds"]
            print(f"  Huiju incremental (1 % changed): {inc:.1f} s = "
                  f"{100 * inc / huiju['seconds']:.1f} % of the first load")
    report["best"] = best


def main(argv: list[str] | None = None) -> None:
    """Command line of `python -m benchmarks e2e`."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int,
                        default=int(os.environ.get("HUIJU_BENCH_ROWS", 1_000_000)))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, run in this order each round")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--changed", type=float, default=0.01,
                        help="fraction of source rows changed before Huiju's incremental run")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--wide-field", type=int, default=0, metavar="MIB",
                        help="give one source row a 违法事实 of this many MiB")
    parser.add_argument("--profile", type=Path, help="also run huiju once under py-spy, "
                                                     "writing its profiles into this folder")
    parser.add_argument("--profile-rate", type=int, default=50, help="py-spy samples/s")
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    parser.add_argument("--child", choices=("dlt", "naive"), help=argparse.SUPPRESS)
    parser.add_argument("--source", help=argparse.SUPPRESS)
    parser.add_argument("--dest", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "dlt":
        child_dlt(args.source, args.dest, args.work)
        return
    if args.child == "naive":
        child_naive(args.source, args.dest)
        return
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    run(args.rows, args.rounds, variants, args.seed, args.changed, args.keep, args.profile,
        args.profile_rate, args.json, args.wide_field)


if __name__ == "__main__":
    main()

"""The auditors' completeness view against a real warehouse (SQLite and PostgreSQL): the lead
disposition timeliness KPI from audit.lead_routing and core.lead_disposition, on the page, and
the PDF export read back (figures, batch ids, Chinese labels, the hash)."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from reports import completeness
from reports.app import create_app
from reports.pdf import FONT_ENV, NoCjkFont, find_cjk_font
from reports.users import add_user
from schemas.catalog import dataset as dataset_spec
from tests.browser import sample
from tests.browser.conftest import SECRET, free_port, http_session, serve
from warehouse.engine import create_warehouse_engine
from warehouse.migrate import upgrade
from warehouse.tables import AUDIT, core_table, table

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
PASSWORD = "a long enough password"

# lead → (department, deadline (UTC), disposition: (status, 处置日期, loaded at, deleted) | None)
LEADS = {
    # closed on the deadline's day
    "L1": ("GS-SCJG", dt.datetime(2026, 3, 10, 10, tzinfo=UTC),
           ("4", dt.date(2026, 3, 10), NOW, False)),
    # due 04:00 on 6 March China time (5 March in UTC): closed on 6 March is on time
    "L2": ("GS-SCJG", dt.datetime(2026, 3, 5, 20, tzinfo=UTC),
           ("4", dt.date(2026, 3, 6), NOW, False)),
    "L3": ("GS-SCJG", dt.datetime(2026, 3, 8, 2, tzinfo=UTC),
           ("4", dt.date(2026, 3, 12), NOW, False)),  # closed four days late
    "L4": ("GS-SCJG", dt.datetime(2026, 3, 15, 2, tzinfo=UTC),
           ("2", None, NOW, False)),  # in progress, past the deadline: overdue
    "L5": ("GS-SCJG", dt.datetime(2026, 3, 25, 2, tzinfo=UTC), None),  # not due yet
    "L6": ("GS-SCJG", None, None),  # no declared deadline: not counted
    "L7": ("GS-YJJ", dt.datetime(2026, 2, 10, 2, tzinfo=UTC),
           ("4", None, dt.datetime(2026, 2, 9, 8, tzinfo=UTC), False)),  # dated by its load
    "L8": ("GS-SCJG", dt.datetime(2026, 3, 9, 2, tzinfo=UTC),
           ("4", dt.date(2026, 3, 1), NOW, True)),  # its closing was deleted: overdue
}
EXPECTED = [
    {"department_code": "GS-SCJG", "period": "2026-03", "leads": 6, "on_time": 2, "late": 1,
     "overdue": 2, "open": 1, "rate": 2 / 5},
    {"department_code": "GS-YJJ", "period": "2026-02", "leads": 1, "on_time": 1, "late": 0,
     "overdue": 0, "open": 0, "rate": 1.0},
]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request, tmp_path):
    url = f"sqlite:///{tmp_path}/warehouse/huiju.db"
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
    found = create_warehouse_engine(url)
    upgrade(found)
    _leads(found)
    yield found
    found.dispose()


def _leads(engine: sa.Engine) -> None:
    routing = table(AUDIT, "lead_routing")
    disposition = core_table(dataset_spec("lead_disposition"))
    with engine.begin() as conn:
        for lead_id, (department, deadline, disposed) in LEADS.items():
            conn.execute(routing.insert().values(
                dataset="complaint", lead_id=lead_id, lead_kind="complaint",
                department_code=department, routed=True, reason="test", deadline=deadline,
                batch_id="2026010100001", routed_at=NOW - dt.timedelta(days=60)))
            if disposed:
                status, handled, loaded, deleted = disposed
                conn.execute(disposition.insert().values(
                    lead_id=lead_id, lead_type="1", progress_status=status,
                    handling_date=handled, record_id=f"R-{lead_id}", batch_id="2026030100001",
                    operation="I", department_code=department, source_id="case_db",
                    source_ref=f"ref#{lead_id}", source_hash="0" * 64, first_loaded_at=loaded,
                    updated_at=loaded, is_deleted=deleted))


def test_lead_timeliness_per_department_and_month_of_the_deadline(engine):
    from huiju.leads import CLOSED

    assert completeness.CLOSED == CLOSED  # the view's copy of the constant
    with engine.connect() as conn:
        assert completeness.lead_timeliness(conn, now=NOW) == EXPECTED
        assert completeness.lead_timeliness(conn, "GS-YJJ", now=NOW) == EXPECTED[1:]
    # a month later L5's deadline has passed too
    with engine.connect() as conn:
        later = completeness.lead_timeliness(conn, now=NOW + dt.timedelta(days=30))
    assert (later[0]["overdue"], later[0]["open"], later[0]["rate"]) == (3, 0, 2 / 6)
    assert completeness.completeness(engine, now=NOW).timeliness == EXPECTED


def test_the_auditor_page_shows_the_timeliness_kpi(engine):
    add_user(engine, username="auditor", password=PASSWORD, role="auditor", department=None,
             actor="os:test@host")
    port = free_port()
    server, thread = serve(create_app(engine, secret=SECRET), port)
    try:
        session = http_session(f"http://127.0.0.1:{port}", "auditor", PASSWORD)
        page = session.get(f"http://127.0.0.1:{port}/audit").text
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert "线索处置及时率" in page
    row = page.split('data-key="GS-SCJG|2026-03"')[1].split("</tr>")[0]
    # rate is computed against the real clock on the page: every March 2026 deadline has passed
    for css, value in (("leads", 6), ("on_time", 2), ("late", 1), ("overdue", 3), ("open", 0)):
        assert f'class="num {css}' in row and f">{value}</td>" in row.split(f"num {css}")[1][:40]
    assert "33.3%" in row


def _pdf_text(body: bytes) -> str:
    """The PDF's text with every blank and NUL removed: fpdf2 encodes the subset CJK font with
    an embedded two-byte CMap, which pypdf reads as a NUL before each character (poppler's
    pdftotext reads it cleanly); the characters and their order are what the test reads."""
    reader = PdfReader(io.BytesIO(body))
    return re.sub(r"[\s\x00]+", "", "".join(page.extract_text() for page in reader.pages))


@pytest.fixture
def sample_served(tmp_path):
    """The browser tier's two-department sample (one batch broken) plus the leads, served."""
    engine = create_warehouse_engine(f"sqlite:///{tmp_path}/warehouse/huiju.db")
    upgrade(engine)
    sample.build(engine)
    sample.break_batch(engine)
    _leads(engine)
    port = free_port()
    server, thread = serve(create_app(engine, secret=SECRET), port)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_completeness_pdf_holds_the_figures_batch_ids_and_their_hash(sample_served, lang):
    auditor = http_session(sample_served, "auditor")
    answer = auditor.get(f"{sample_served}/audit/export.pdf?lang={lang}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = _pdf_text(answer.content)
    found = auditor.get(f"{sample_served}/api/audit/completeness").json()
    # the hash of the same figures the API gives (recomputed here), on the page and each foot
    assert completeness.figures_digest(found["cells"]) == found["sha256"]
    assert text.count(found["sha256"]) == 1 + len(PdfReader(io.BytesIO(answer.content)).pages)
    # every cell: its counts in the row's order, every batch id, and the break of sample B
    for cell in found["cells"]:
        counts = "".join(str(cell[c]) for c in ("extracted", "passed", "quarantined",
                                                "superseded"))
        assert (f"{cell['department_code']}{cell['dataset']}{cell['period']}{counts}"
                in text), cell
        assert all(batch in text for batch in cell["batches"])
    assert sum(c["breaks"] for c in found["cells"]) == 1
    assert "landed" in text  # the broken batch's problem, as huiju verify words it
    # the KPI tables, with the Chinese (or English) labels
    words = {"zh": ("完整性核查", "报送覆盖", "线索处置及时率", "逾期未处置", "目录完整性"),
             "en": ("Completeness", "Coverage", "Leaddispositiontimeliness", "Overdue,")}[lang]
    assert all(word in text for word in words), words
    assert "GS-SCJG2026-0362130" in text  # 6 leads: 2 on time, 1 late, 3 overdue, 0 open
    assert "GS-YJJ2026-02110001" in text
    # and only an auditor gets it
    clerk = http_session(sample_served, "clerk_a")
    assert clerk.get(f"{sample_served}/audit/export.pdf").status_code == 403


def test_without_a_cjk_font_the_pdf_export_says_what_to_install(sample_served, monkeypatch,
                                                                tmp_path):
    find_cjk_font.cache_clear()
    monkeypatch.setenv(FONT_ENV, str(tmp_path / "no-such-font.ttc"))
    try:
        answer = http_session(sample_served, "auditor").get(f"{sample_served}/audit/export.pdf")
    finally:
        find_cjk_font.cache_clear()
    assert answer.status_code == 503
    assert "no-such-font.ttc is not a file" in answer.json()["detail"]
    with pytest.raises(NoCjkFont, match="not a file"):
        find_cjk_font()
    find_cjk_font.cache_clear()


def test_a_department_report_pdf_holds_its_run_figures_and_their_hash(sample_served):
    clerk = http_session(sample_served, "clerk_a")
    run = sample.A_RUNS[0]
    answer = clerk.get(f"{sample_served}/departments/{sample.A}/report.pdf?run={run}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = _pdf_text(answer.content)
    found = clerk.get(f"{sample_served}/api/departments/{sample.A}/report?run={run}").json()
    digest = completeness.figures_digest(found)
    assert text.count(digest) == 1 + len(PdfReader(io.BytesIO(answer.content)).pages)
    assert "数据质量报告" in text and "按数据集" in text and "主要问题" in text
    for d in found["datasets"]:  # the run's figures per data set, in the row's order
        counts = "".join(str(d[c]) for c in ("extracted", "passed", "quarantined",
                                             "superseded"))
        assert f"{d['zh']}({d['dataset']}){counts}" in text, d
    assert all(r["batch_id"] in text for r in found["runs"])
    reason = found["reasons"][0]
    assert re.sub(r"\s+", "", reason["message_zh"]) in text
    # B's report is not A's to print
    other = clerk.get(f"{sample_served}/departments/{sample.B}/report.pdf")
    assert other.status_code == 404


def test_a_stale_view_is_served_while_the_next_is_computed(engine):
    app = create_app(engine, secret=SECRET, view_seconds=0)  # every view stale at once
    shared = app.state.view
    first = shared.get()  # none yet: this request waits for the first computation
    assert first.timeliness == completeness.completeness(engine).timeliness
    with engine.begin() as conn:  # a new lead due in March for GS-SCJG, still open
        conn.execute(table(AUDIT, "lead_routing").insert().values(
            dataset="complaint", lead_id="L9", lead_kind="complaint", department_code="GS-SCJG",
            routed=True, reason="test", deadline=dt.datetime(2026, 3, 30, 2, tzinfo=UTC),
            batch_id="2026010100001", routed_at=NOW))
    # stale: the refresh starts in the background and this request gets the current view
    assert shared.get() is first
    deadline = dt.datetime.now(UTC) + dt.timedelta(seconds=120)
    while (found := shared.get()) is first and dt.datetime.now(UTC) < deadline:
        threading.Event().wait(0.1)
    assert found is not first and found.computed_at >= first.computed_at
    march = next(r for r in found.timeliness if r["period"] == "2026-03")
    assert march["leads"] == 7  # L9 counted by the refreshed view
    shared.seconds = 3600.0  # no further refresh; let the last one end before the teardown
    while shared._computing:
        threading.Event().wait(0.1)

"""The report application in headless Chromium: figures against the warehouse, downloads read
back, and the department boundary on every route the application registers."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from huiju.cells import recover
from reports.completeness import figures_digest
from tests.browser import sample
from tests.browser.conftest import follow, http_session, log_in, wait_for_file
from warehouse.verify import verify

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _cells(row, classes):
    return [int(row.find_element(By.CSS_SELECTOR, f"td.{c}").text) for c in classes]


def test_department_report_shows_the_warehouse_figures(served, browser):
    log_in(browser, served.url, "clerk_a")
    assert browser.current_url.startswith(f"{served.url}/departments/{sample.A}")
    with served.engine.connect() as conn:
        def expected(run):
            return {r[0]: list(r[1:]) for r in conn.execute(sa.text(
                "SELECT dataset, sum(extracted), sum(passed), sum(quarantined), "
                "sum(superseded) FROM audit.batch WHERE department_code = :d AND batch_id = :b "
                "GROUP BY dataset"), {"d": sample.A, "b": run})}
        latest, first = expected(sample.A_RUNS[1]), expected(sample.A_RUNS[0])
        open_counts = dict(conn.execute(sa.text(
            "SELECT dataset, count(*) FROM quarantine.record WHERE department_code = :d "
            "AND status = 'open' GROUP BY dataset"), {"d": sample.A}).all())
        failed_first = dict(conn.execute(sa.text(
            "SELECT rule_id, count(DISTINCT source_ref) FROM quarantine.record "
            "WHERE department_code = :d AND batch_id = :b GROUP BY rule_id"),
            {"d": sample.A, "b": sample.A_RUNS[0]}).all())

    def shown():
        rows = browser.find_elements(By.CSS_SELECTOR, "#datasets tr[data-dataset]")
        return {r.get_attribute("data-dataset"): _cells(
            r, ("extracted", "passed", "quarantined", "superseded")) for r in rows}

    assert browser.find_element(By.ID, "shown-run").text == sample.A_RUNS[1]
    assert shown() == latest
    # choose the first run in the page's own selector
    Select(browser.find_element(By.ID, "run")).select_by_value(sample.A_RUNS[0])
    follow(browser, browser.find_element(By.CSS_SELECTOR, "form[method=get] button"))
    assert browser.find_element(By.ID, "shown-run").text == sample.A_RUNS[0]
    assert shown() == first
    penalty = browser.find_element(By.CSS_SELECTOR, '#datasets tr[data-dataset="penalty"]')
    _, passed, quarantined, _ = first["penalty"]
    assert penalty.find_element(By.CSS_SELECTOR, "td.rate").text == \
        f"{passed / (passed + quarantined):.1%}"
    rules = {r.get_attribute("data-rule"): int(r.find_element(By.CSS_SELECTOR, "td.failed").text)
             for r in browser.find_elements(By.CSS_SELECTOR, "#rules tr[data-rule]")}
    assert rules == failed_first
    status = {r.get_attribute("data-dataset"): int(r.find_element(By.CSS_SELECTOR, "td.open").text)
              for r in browser.find_elements(By.CSS_SELECTOR, "#status tr[data-dataset]")}
    assert status == open_counts
    # the trend is an inline SVG drawn by the server, one point per run
    points = browser.find_elements(By.CSS_SELECTOR, "#trend svg circle")
    assert len(points) == len(sample.A_RUNS)
    # the English switch keeps the run
    follow(browser, browser.find_element(By.ID, "lang-en"))
    assert "Data-quality report" in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.find_element(By.ID, "shown-run").text == sample.A_RUNS[0]


def test_rejection_download_reads_back_with_every_open_failure(served, browser, downloads):
    log_in(browser, served.url, "clerk_a")
    browser.find_element(By.ID, "download").click()
    book = load_workbook(wait_for_file(downloads, ".xlsx"))
    sheet = book.active
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert header[0] == "数据集" and "原始值" in header
    with served.engine.connect() as conn:
        expected = conn.execute(sa.text(
            "SELECT source_ref, rule_id, raw_value FROM quarantine.record "
            "WHERE department_code = :d AND status = 'open' ORDER BY dataset, source_ref, rule_id"),
            {"d": sample.A}).all()
    at = {name: header.index(name) for name in ("来源引用", "规则", "原始值")}
    got = [(recover(r[at["来源引用"]]), recover(r[at["规则"]]), recover(r[at["原始值"]]))
           for r in body]
    assert got == [tuple(r) for r in expected]
    raw_cells = next(iter(sheet.iter_cols(min_col=at["原始值"] + 1, max_col=at["原始值"] + 1,
                                            min_row=2, values_only=False)))
    for cell in raw_cells:
        assert cell.data_type != "f"  # never a formula
        if isinstance(cell.value, str):
            assert not cell.value.startswith(("=", "+", "-", "@"))
    assert {recover(c.value) for c in raw_cells} >= set(sample.RAW_VALUES)


def test_auditor_sees_every_cell_the_breaks_in_red_and_can_drill_down(served, browser,
                                                                     downloads):
    log_in(browser, served.url, "auditor")
    assert browser.current_url.startswith(f"{served.url}/audit")
    with served.engine.connect() as conn:
        expected = {f"{d}|{ds}|{p[:4]}-{p[4:6]}": [int(v) for v in values]
                    for d, ds, p, *values in conn.execute(sa.text(
                        "SELECT department_code, dataset, substr(batch_id, 1, 6), sum(extracted),"
                        " sum(passed), sum(quarantined), sum(superseded) FROM audit.batch "
                        "GROUP BY department_code, dataset, substr(batch_id, 1, 6)")).all()}
    rows = browser.find_elements(By.CSS_SELECTOR, "#cells tr[data-key]")
    shown = {r.get_attribute("data-key"): _cells(
        r, ("extracted", "passed", "quarantined", "superseded")) for r in rows}
    assert shown == expected
    # delivery per platform: the outbox messages the cell's batches enqueued, by outcome
    with served.engine.connect() as conn:
        outbox = {}
        for d, ds, p, platform, status, n in conn.execute(sa.text(
                "SELECT department_code, dataset, substr(batch_id, 1, 6), platform, status, "
                "count(*) FROM delivery.outbox WHERE cause = 'load' GROUP BY 1, 2, 3, 4, 5")):
            outbox.setdefault((f"{d}|{ds}|{p[:4]}-{p[4:6]}", platform), {})[status] = n
    assert outbox  # the sample's penalty versions are due to the platforms
    for (key, platform), counts in outbox.items():
        row = browser.find_element(By.CSS_SELECTOR, f'#cells tr[data-key="{key}"]')
        cell = row.find_element(By.CSS_SELECTOR, f'td.delivery[data-platform="{platform}"]')
        assert cell.text == " / ".join(str(v) for v in (
            sum(counts.values()), counts.get("acknowledged", 0), counts.get("rejected", 0),
            counts.get("pending", 0)))
    # the break is the one `huiju verify` finds, shown in red on its row
    department, dataset, batch_id = served.broken
    problems = [c for c in verify(served.engine) if c.problems]
    assert [(c.department_code, c.dataset, c.batch_id) for c in problems] == [served.broken]
    red = [r for r in rows if "break" in r.get_attribute("class").split()]
    assert [r.get_attribute("data-key") for r in red] == \
        [f"{department}|{dataset}|{batch_id[:4]}-{batch_id[4:6]}"]
    assert red[0].value_of_css_property("color") == "rgba(170, 0, 0, 1)"
    assert problems[0].problems[0] in red[0].find_element(By.CSS_SELECTOR, "td.problems").text
    assert "1" in browser.find_element(By.ID, "verdict").text
    # coverage: A delivered nothing for B's month 2026-03
    missing = browser.find_element(
        By.CSS_SELECTOR, f'#coverage td[data-department="{sample.A}"][data-month="2026-03"]')
    assert "missing" in missing.get_attribute("class")
    # the export carries the same sha256 as the page, and it is the digest of the figures
    digest = browser.find_element(By.ID, "digest").text
    browser.find_element(By.ID, "export").click()
    book = load_workbook(wait_for_file(downloads, ".xlsx"))
    about = dict(book["about"].iter_rows(min_row=2, values_only=True))
    assert about["sha256 of the figures"] == digest
    api = http_session(served.url, "auditor").get(served.url + "/api/audit/completeness").json()
    assert api["sha256"] == digest == figures_digest(api["cells"])
    exported = {f"{r[0]}|{r[1]}|{r[2]}": list(r[3:7])
                for r in book["completeness"].iter_rows(min_row=2, values_only=True)}
    assert exported == expected
    # drill down: a count → its records → one record's provenance
    row = browser.find_element(By.CSS_SELECTOR,
                               f'#cells tr[data-key="{sample.A}|penalty|2026-01"]')
    follow(browser, row.find_element(By.LINK_TEXT, sample.A_RUNS[0]))
    quarantined = browser.find_elements(By.CSS_SELECTOR, "#quarantined tr td:first-child a")
    with served.engine.connect() as conn:
        refs = conn.execute(sa.text(
            "SELECT source_ref FROM quarantine.record WHERE department_code = :d AND "
            "batch_id = :b ORDER BY source_ref, rule_id"),
            {"d": sample.A, "b": sample.A_RUNS[0]}).scalars().all()
    assert [a.text for a in quarantined] == refs
    follow(browser, quarantined[0])
    landed = browser.find_elements(By.CSS_SELECTOR, "table.landings tr td:nth-child(2)")
    assert [td.text for td in landed] == [refs[0]]
    # a loaded record's provenance reaches its platform messages
    browser.back()
    written = browser.find_elements(By.CSS_SELECTOR, "#written tr td:first-child a")
    record_id = browser.find_element(By.CSS_SELECTOR, "#written tr td:nth-child(2)").text
    follow(browser, written[0])
    shown = {td.text.split("/")[0] for td in browser.find_elements(
        By.CSS_SELECTOR, "table.deliveries tr td:first-child")}
    with served.engine.connect() as conn:
        platforms = set(conn.execute(sa.text(
            "SELECT DISTINCT platform FROM delivery.outbox WHERE department_code = :d AND "
            "dataset = 'penalty' AND record_id = :r"), {"d": sample.A, "r": record_id}
            ).scalars())
    assert shown == platforms and shown

"""The department boundary on EVERY route the report application registers, logins, roles,
CSRF and session expiry — over real HTTP to the real server, and in headless Chromium."""

from __future__ import annotations

import io
import time

import pytest
import requests
import sqlalchemy as sa
from fastapi.routing import APIRoute
from openpyxl import load_workbook

from reports.app import create_app
from tests.browser import sample
from tests.browser.conftest import SECRET, free_port, http_session, log_in, page_html, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

B_REF = "synthetic:penalty#pk=5100"  # a quarantined record of B
# Every query or form parameter a route may take, filled with B's identifiers. A route with a
# parameter missing here fails the test: whoever adds it must say what B's value is.
B_PARAMS = {"run": sample.B_RUNS[0], "batch": sample.B_RUNS[0], "dataset": "penalty",
            "record": B_REF, "lang": "zh", "failed": "false", "dept": sample.B,
            "period": "2026-03", "only": "broken"}
B_FORM = {"username": "clerk_b", "password": "not the password", "lang": "zh"}


def b_markers(engine: sa.Engine, sent: set[str]) -> set[str]:
    """Strings only B's data contains (what the request itself sent excepted)."""
    with engine.connect() as conn:
        refs = set(conn.execute(sa.text(
            "SELECT source_ref FROM raw.record r JOIN raw.part p ON p.part_id = r.part_id "
            "WHERE p.department_code = :b"), {"b": sample.B}).scalars())
        refs |= set(conn.execute(sa.text(
            "SELECT record_id FROM quarantine.record WHERE department_code = :b"),
            {"b": sample.B}).scalars())
    markers = {sample.B, "B-SECRET-RAW-VALUE", *sample.B_RUNS, *refs} - sent
    assert len(markers) > 10
    return markers


def routes(app) -> list[tuple[str, str, APIRoute]]:
    """(method, path, route) for every route the application registers."""
    found = []
    for route in app.routes:
        assert isinstance(route, APIRoute), f"{route}: not an APIRoute; extend this test"
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, route.path, route))
    assert len(found) >= 12
    return found


def request_for(route: APIRoute, department: str, csrf: str | None) -> tuple[str, dict, dict]:
    """The path, query and form of a request to ``route`` naming ``department``."""
    path_params = {p.name for p in route.dependant.path_params}
    assert path_params <= {"department"}, f"{route.path}: unknown path parameters"
    query = {}
    for param in route.dependant.query_params:
        assert param.name in B_PARAMS, f"{route.path}: no B value for ?{param.name}"
        query[param.name] = B_PARAMS[param.name]
    form = {}
    for param in route.dependant.body_params:
        if param.name == "csrf":
            form["csrf"] = csrf or "none"
        else:
            assert param.name in B_FORM, f"{route.path}: no B value for form field {param.name}"
            form[param.name] = B_FORM[param.name]
    return route.path.replace("{department}", department), query, form


def body_text(answer: requests.Response) -> str:
    """Everything a response says: an xlsx is opened and its cells read."""
    text = answer.headers.get("location", "")
    if answer.headers.get("content-type", "").startswith("application/vnd.openxmlformats"):
        book = load_workbook(io.BytesIO(answer.content))
        return text + " ".join(str(v) for sheet in book for row in sheet.iter_rows(
            values_only=True) for v in row if v is not None)
    return text + answer.text


def _csrf(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/departments/{sample.A}").text
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def test_department_a_gets_nothing_of_b_on_any_route(served):
    checked = 0
    for method, _path, route in routes(served.app):
        for department in (sample.B, sample.A):  # B's page; A's page asked for B's records
            session = http_session(served.url, "clerk_a")
            path, query, form = request_for(route, department, _csrf(session, served.url))
            answer = session.request(method, served.url + path, params=query, data=form or None,
                                     allow_redirects=False)
            markers = b_markers(served.engine, {*query.values(), *form.values()})
            text = body_text(answer)
            leaked = sorted(m for m in markers if m in text)
            assert not leaked, f"{method} {path} {query} leaked {leaked}"
            if "department" in {p.name for p in route.dependant.path_params}:
                if department == sample.B:
                    assert answer.status_code == 404, f"{method} {path}: {answer.status_code}"
                else:
                    assert answer.status_code == 200, f"{method} {path}: {answer.status_code}"
            checked += 1
    assert checked == 2 * len(routes(served.app))


def test_every_get_route_in_the_browser_shows_a_nothing_of_b(served, browser, downloads):
    log_in(browser, served.url, "clerk_a")
    for method, _path, route in routes(served.app):
        if method != "GET":
            continue
        path, query, _ = request_for(route, sample.B, None)
        browser.get(served.url + path + "?" + "&".join(f"{k}={v}" for k, v in query.items()))
        markers = b_markers(served.engine, set(query.values()))
        source = page_html(browser)
        assert not [m for m in markers if m in source], path
    time.sleep(1)  # a download would have started by now
    assert list(downloads.iterdir()) == []


def test_no_route_answers_without_a_login(served):
    for method, path, route in routes(served.app):
        url, query, form = request_for(route, sample.A, None)
        answer = requests.request(method, served.url + url, params=query, data=form or None,
                                  allow_redirects=False, timeout=30)
        if path == "/login":
            assert answer.status_code in (200, 403)  # the form; a post without its token
        elif path.startswith("/api/"):
            assert answer.status_code == 401, path
        else:
            assert answer.status_code == 303 and answer.headers["location"] == "/login", path
        assert sample.A not in body_text(answer).replace("/login", "")


def test_roles_auditor_reads_all_admin_manages_users(served):
    auditor = http_session(served.url, "auditor")
    for department in (sample.A, sample.B):
        assert auditor.get(f"{served.url}/departments/{department}").status_code == 200
    assert auditor.get(f"{served.url}/admin/users").status_code == 403
    clerk = http_session(served.url, "clerk_a")
    assert clerk.get(f"{served.url}/audit").status_code == 403
    assert clerk.get(f"{served.url}/api/audit/completeness").status_code == 403
    admin = http_session(served.url, "admin")
    assert admin.get(f"{served.url}/departments/{sample.A}").status_code == 404
    users = admin.get(f"{served.url}/admin/users").text
    assert all(name in users for name in sample.USERS) and "scrypt" not in users
    with served.engine.connect() as conn:
        logged = conn.execute(sa.text(
            "SELECT target FROM audit.action WHERE action = 'user.add' ORDER BY action_id")
            ).scalars().all()
    assert logged == [f"user:{name}" for name in sample.USERS]


def test_wrong_password_and_forms_without_their_token_are_refused(served):
    session = requests.Session()
    form = session.get(served.url + "/login").text
    token = form.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    wrong = session.post(served.url + "/login", data={
        "username": "clerk_a", "password": "wrong password", "csrf": token},
        allow_redirects=False)
    assert wrong.status_code == 303 and "failed=1" in wrong.headers["location"]
    forged = requests.post(served.url + "/login", data={
        "username": "clerk_a", "password": sample.PASSWORD, "csrf": token},
        allow_redirects=False, timeout=30)  # the token without its cookie: another site
    assert forged.status_code == 403 and "set-cookie" not in forged.headers
    clerk = http_session(served.url, "clerk_a")
    refused = clerk.post(served.url + "/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert refused.status_code == 403
    out = clerk.post(served.url + "/logout", data={"csrf": _csrf(clerk, served.url)},
                     allow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"


def test_sessions_expire(served):
    app = create_app(served.engine, secret=SECRET, session_seconds=1)
    port = free_port()
    server, thread = serve(app, port)
    try:
        base = f"http://127.0.0.1:{port}"
        session = http_session(base, "clerk_a")
        assert session.get(f"{base}/departments/{sample.A}").status_code == 200
        time.sleep(2.2)
        late = session.get(f"{base}/departments/{sample.A}", allow_redirects=False)
        assert late.status_code == 303 and late.headers["location"] == "/login"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

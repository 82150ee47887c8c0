"""The web application: routes, rendering and downloads (``huiju serve`` runs it).

Every route but the login form depends on :func:`reports.access.current_user`; every route
that names a department checks :func:`reports.access.require_department` before reading a row,
and every query it calls filters by that department. Auditor routes are read-only; admins see
the user list (users are added with ``huiju users add``). Pages are rendered on the server;
charts are inline SVG; no asset is loaded from anywhere else (the CSP says so).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, FastAPI, Form, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from reports import completeness as comp
from reports import quality
from reports.access import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    LoginRequired,
    Sessions,
    check_csrf,
    current_user,
    require_department,
    require_role,
)
from reports.charts import trend_svg
from reports.i18n import labels
from reports.pdf import NoCjkFont, completeness_pdf, quality_pdf
from reports.spreadsheets import workbook_bytes
from reports.users import User, authenticate, list_users
from warehouse.provenance import trace

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
REJECTION_HEADER = {"zh": ("数据集", "来源系统", "来源引用", "记录标识", "批次", "规则", "检核类型",
                           "字段", "原因", "Reason", "原始值", "首次发现", "最近发现"),
                    "en": ("data set", "source system", "source reference", "record id", "batch",
                           "rule", "family", "field", "原因", "reason", "raw value",
                           "first seen", "last seen")}
REJECTION_COLUMNS = ("dataset", "source_id", "source_ref", "record_id", "batch_id",
                     "rule_id", "family", "field", "message_zh", "message_en", "raw_value",
                     "first_seen_at", "last_seen_at")

LOG = logging.getLogger(__name__)
VIEW_SECONDS = 60.0
CELL_ROWS = 300  # cells listed on the page; the export has them all
PLATFORM_COLUMNS = ("dataset", "platform", "resource", "record_id", "source_ref", "batch_id",
                    "code", "field", "reason", "rejected_at")

TIMELINESS_COLUMNS = ("department_code", "period", "leads", "on_time", "late", "overdue", "open",
                      "rate")

UserDep = Annotated[User, Depends(current_user)]
Lang = Annotated[str, Query(pattern="^(zh|en)$")]


def create_app(engine: sa.Engine, *, secret: str, session_seconds: int | None = None,
               secure_cookies: bool = False, view_seconds: float = VIEW_SECONDS,
               warm_view: bool = False) -> FastAPI:
    """The application reading ``engine`` (a read-only login in production).

    The completeness view (every batch of every department checked against its evidence) is
    computed at most once per ``view_seconds`` and shared by every auditor's page, export and
    API answer, which therefore carry the same figures and sha256; the page says as of when.
    It is refreshed in the background (see ``_SharedView``); ``warm_view`` computes it as the
    application starts (``huiju serve`` does), so no auditor waits for the first computation.
    """
    app = FastAPI(title="Huiju reports", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.sessions = Sessions(secret, **({"max_age": session_seconds}
                                             if session_seconds else {}))
    app.state.secure_cookies = secure_cookies
    app.state.view = _SharedView(engine, view_seconds, warm=warm_view)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": "login required"}, status_code=401)
        return RedirectResponse("/login", status_code=303)

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.update(SECURITY_HEADERS)
        return response

    _routes(app)
    return app


class _SharedView:
    """The completeness view, shared by every request and refreshed when older than
    ``seconds``: one computation at a time, in a background thread; a request gets the
    current view at once (its "as of" says how old) and waits only when there is none yet.
    With ``warm`` the first computation starts with the application, so the first auditor
    does not wait for it either."""

    def __init__(self, engine: sa.Engine, seconds: float, *, warm: bool = False) -> None:
        self.engine, self.seconds = engine, seconds
        self._changed = threading.Condition()
        self._view: comp.Completeness | None = None
        self._at = 0.0
        self._computing = False
        self._error: Exception | None = None
        if warm:
            with self._changed:
                self._start()

    def _start(self) -> None:  # the caller holds the condition's lock
        self._computing, self._error = True, None
        threading.Thread(target=self._compute, name="completeness-view", daemon=True).start()

    def _compute(self) -> None:
        view, error = None, None
        try:
            view = comp.completeness(self.engine)
            _ = view.digest  # hashed here, not in the request that first shows it
        except Exception as exc:  # raised again in the request that waits for it
            error = exc
            LOG.exception("the completeness view could not be computed")
        with self._changed:
            if view is not None:
                self._view, self._at = view, time.monotonic()
            self._error, self._computing = error, False
            self._changed.notify_all()

    def get(self) -> comp.Completeness:
        """The current view (starting a refresh when it is stale; waiting when none yet)."""
        with self._changed:
            stale = self._view is None or time.monotonic() - self._at > self.seconds
            if stale and not self._computing:
                self._start()
            while self._view is None:
                self._changed.wait()
                if self._error is not None and self._view is None:
                    raise self._error
            return self._view


def _json_text(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def _page(request: Request, name: str, lang: str, user: User | None, **context) -> HTMLResponse:
    def lang_query(choice: str) -> str:
        # The same page in another language: every other query parameter kept.
        params = {k: v for k, v in request.query_params.items() if k != "lang"}
        return str(request.url.replace_query_params(**params, lang=choice).query)

    return TEMPLATES.TemplateResponse(request, name, {
        "t": labels(lang), "lang": lang, "user": user, "pct": _pct, "json_text": _json_text,
        "lang_query": lang_query,
        "csrf": getattr(request.state, "csrf", None), **context})


def _download(body: bytes, filename: str) -> Response:
    return Response(body, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _pdf(body: bytes, filename: str) -> Response:
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _routes(app: FastAPI) -> None:  # noqa: C901 - one small handler per route
    engine: sa.Engine = app.state.engine
    sessions: Sessions = app.state.sessions

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, lang: Lang = "zh", failed: bool = False) -> Response:
        token, cookie = sessions.login_token()
        response = _page(request, "login.html", lang, None, login_token=token, failed=failed)
        response.set_cookie(LOGIN_COOKIE, cookie, httponly=True, samesite="strict",
                            secure=app.state.secure_cookies, max_age=sessions.max_age)
        return response

    @app.post("/login")
    def login(request: Request, username: Annotated[str, Form()],
              password: Annotated[str, Form()], csrf: Annotated[str, Form()],
              lang: Annotated[str, Form()] = "zh") -> Response:
        if not sessions.login_token_ok(request.cookies.get(LOGIN_COOKIE), csrf):
            return JSONResponse({"detail": "CSRF token missing or wrong"}, status_code=403)
        lang = "en" if lang == "en" else "zh"
        user = authenticate(engine, username, password)
        if user is None:
            return RedirectResponse(f"/login?failed=1&lang={lang}", status_code=303)
        response = RedirectResponse(f"/?lang={lang}", status_code=303)
        response.set_cookie(SESSION_COOKIE, sessions.issue(user.username), httponly=True,
                            samesite="strict", secure=app.state.secure_cookies,
                            max_age=sessions.max_age)
        response.delete_cookie(LOGIN_COOKIE)
        return response

    @app.post("/logout")
    def logout(request: Request, user: UserDep, csrf: Annotated[str, Form()]) -> Response:
        check_csrf(request, csrf)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/")
    def home(user: UserDep, lang: Lang = "zh") -> Response:
        target = {"department": f"/departments/{user.department}", "auditor": "/audit",
                  "admin": "/admin/users"}[user.role]
        return RedirectResponse(f"{target}?lang={lang}", status_code=303)

    # --- a department's data quality -------------------------------------------------------

    def _report(department: str, run: str | None) -> quality.QualityReport:
        with engine.connect() as conn:
            return quality.report(conn, department, run)

    @app.get("/departments/{department}", response_class=HTMLResponse)
    def department_report(request: Request, user: UserDep, department: str,
                          run: str | None = None, lang: Lang = "zh") -> Response:
        require_department(user, department)
        found = _report(department, run)
        chart = trend_svg([(r["batch_id"], r["pass_rate"]) for r in found.runs],
                          labels(lang)["trend"])
        return _page(request, "quality.html", lang, user, report=found, chart=chart)

    @app.get("/departments/{department}/trend.svg")
    def department_trend(user: UserDep, department: str, lang: Lang = "zh") -> Response:
        require_department(user, department)
        with engine.connect() as conn:
            found = quality.runs(conn, department)
        return Response(trend_svg([(r["batch_id"], r["pass_rate"]) for r in found],
                                  labels(lang)["trend"]), media_type="image/svg+xml")

    @app.get("/departments/{department}/rejections.xlsx")
    def department_rejections(user: UserDep, department: str, lang: Lang = "zh") -> Response:
        require_department(user, department)
        with engine.connect() as conn:
            rows = quality.open_rejections(conn, department)
            platform = quality.open_platform_rejections(conn, department)
        body = workbook_bytes([
            (department, REJECTION_HEADER[lang],
             ([r[c] for c in REJECTION_COLUMNS] for r in rows)),
            (labels(lang)["platform_rejections"], PLATFORM_COLUMNS,
             ([r[c] for c in PLATFORM_COLUMNS] for r in platform))])
        return _download(body, f"rejections-{department}.xlsx")

    @app.get("/departments/{department}/report.pdf")
    def department_report_pdf(user: UserDep, department: str, run: str | None = None,
                              lang: Lang = "zh") -> Response:
        require_department(user, department)
        try:
            body = quality_pdf(_report(department, run), lang)
        except NoCjkFont as error:  # say what to install rather than print empty boxes
            return JSONResponse({"detail": str(error)}, status_code=503)
        return _pdf(body, f"quality-{department}.pdf")

    @app.get("/api/departments/{department}/report")
    def department_report_api(user: UserDep, department: str,
                              run: str | None = None) -> Response:
        require_department(user, department)
        return JSONResponse(jsonable_encoder(_report(department, run)))

    @app.get("/departments/{department}/records", response_class=HTMLResponse)
    def department_records(request: Request, user: UserDep, department: str, dataset: str,
                           batch: str, lang: Lang = "zh") -> Response:
        require_department(user, department)
        if dataset not in quality.dataset_names():
            return JSONResponse({"detail": "unknown data set"}, status_code=404)
        found = comp.cell_records(engine, department, dataset, batch)
        return _page(request, "records.html", lang, user, department=department,
                     dataset=dataset, batch=batch, found=found)

    @app.get("/departments/{department}/trace", response_class=HTMLResponse)
    def department_trace(request: Request, user: UserDep, department: str, record: str,
                         dataset: str | None = None, lang: Lang = "zh") -> Response:
        require_department(user, department)
        if dataset is not None and dataset not in quality.dataset_names():
            return JSONResponse({"detail": "unknown data set"}, status_code=404)
        trails = [t for t in trace(engine, record, dataset) if t.department_code == department]
        return _page(request, "trace.html", lang, user, department=department, record=record,
                     trails=trails)

    # --- the auditors' completeness view ---------------------------------------------------

    @app.get("/audit", response_class=HTMLResponse)
    def audit(request: Request, user: UserDep, lang: Lang = "zh", dept: str | None = None,
              period: str | None = None, only: str | None = None) -> Response:
        require_role(user, "auditor")
        found = app.state.view.get()
        cells = [c for c in found.cells if (not dept or c.department_code == dept)
                 and (not period or c.period == period) and (only != "broken" or c.breaks)]
        return _page(request, "completeness.html", lang, user, view=found,
                     news_target=comp.NEWS_PER_MONTH, shown=cells[:CELL_ROWS],
                     hidden=max(0, len(cells) - CELL_ROWS), dept=dept, period=period, only=only)

    @app.get("/audit/export.xlsx")
    def audit_export(user: UserDep) -> Response:
        require_role(user, "auditor")
        found = app.state.view.get()
        return _download(completeness_workbook(found), "completeness.xlsx")

    @app.get("/audit/export.pdf")
    def audit_export_pdf(user: UserDep, lang: Lang = "zh") -> Response:
        require_role(user, "auditor")
        found = app.state.view.get()
        try:
            body = completeness_pdf(found, lang)
        except NoCjkFont as error:  # say what to install rather than print empty boxes
            return JSONResponse({"detail": str(error)}, status_code=503)
        return _pdf(body, "completeness.pdf")

    @app.get("/api/audit/completeness")
    def audit_api(user: UserDep) -> Response:
        require_role(user, "auditor")
        found = app.state.view.get()
        return JSONResponse({"cells": jsonable_encoder([c.figures() for c in found.cells]),
                             "sha256": found.digest,
                             "lead_timeliness": jsonable_encoder(found.timeliness)})

    # --- users -----------------------------------------------------------------------------

    @app.get("/admin/users", response_class=HTMLResponse)
    def users(request: Request, user: UserDep, lang: Lang = "zh") -> Response:
        require_role(user, "admin")
        return _page(request, "users.html", lang, user, users=list_users(engine))


def completeness_workbook(view: comp.Completeness) -> bytes:
    """The completeness export: every cell with its batch ids, the breaks, and the sha256."""
    delivery = [f"{p} {s}" for p in view.platforms for s in ("due", *comp.DELIVERY_STATES)]
    header = ("department", "dataset", "period", "extracted", "passed", "quarantined",
              "superseded", *delivery, "batches", "breaks", "problems")
    rows = ([c.department_code, c.dataset, c.period, c.extracted, c.passed, c.quarantined,
             c.superseded, *(c.delivery.get(p, {}).get(s, 0) for p in view.platforms
                             for s in ("due", *comp.DELIVERY_STATES)),
             " ".join(c.batches), c.breaks, "; ".join(c.problems)] for c in view.cells)
    coverage = ([d, *(view.coverage[(d, m)] for m in view.months)] for d in view.departments)
    about = [("sha256 of the figures", view.digest),
             ("how to check", "sha256 of the JSON list of cells (keys sorted, no spaces, UTF-8) "
                              "as in reports.completeness.figures_digest"),
             ("exported at", datetime.now(UTC).isoformat())]
    timeliness = ([r[c] for c in TIMELINESS_COLUMNS] for r in view.timeliness)
    return workbook_bytes([("completeness", header, rows),
                           ("coverage", ("department", *view.months), coverage),
                           ("lead timeliness", TIMELINESS_COLUMNS, timeliness),
                           ("about", ("item", "value"), about)])

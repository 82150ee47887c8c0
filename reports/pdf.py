"""The completeness view and a department's report as PDF (fpdf2), with the batch ids and
the sha256 of their figures.

Chinese needs a font with CJK glyphs, and none ships with fpdf2: :func:`find_cjk_font` takes
``HUIJU_CJK_FONT`` (a .ttf/.otf/.ttc path, ``path#index`` for a face of a collection), else
asks fontconfig (``fc-list :lang=zh-cn``) preferring a Simplified-Chinese sans face, else
looks at the paths Debian's ``fonts-noto-cjk`` and ``fonts-wqy-*`` install to. Without one
it raises :class:`NoCjkFont` saying what to install — never a PDF of empty boxes.

The font is embedded as a subset (only the glyphs used), with its ToUnicode map, so the text
can be searched and copied, and read back by a PDF text extractor (the tests do).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from fastapi.encoders import jsonable_encoder
from fpdf import FPDF
from fpdf.fonts import FontFace

from reports import completeness as comp
from reports.i18n import labels
from reports.quality import QualityReport

FONT_ENV = "HUIJU_CJK_FONT"
KNOWN_FONTS = (  # (path, face index): Debian's packages, Simplified Chinese face first
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
)
RED, GREY = (200, 0, 0), (235, 235, 235)
HOW_TO_CHECK = ("sha256 of the JSON list of cells (keys sorted, no spaces, UTF-8) as in "
                "reports.completeness.figures_digest; /api/audit/completeness gives them")


class NoCjkFont(RuntimeError):
    """No font with Chinese glyphs on this machine: a PDF would show empty boxes."""


@cache
def find_cjk_font() -> tuple[Path, int]:
    """(font file, face index) of a font with Chinese glyphs; :class:`NoCjkFont` if none."""
    if chosen := os.environ.get(FONT_ENV):
        path, _, index = chosen.partition("#")
        if not Path(path).is_file():
            raise NoCjkFont(f"{FONT_ENV}={path} is not a file")
        return Path(path), int(index or 0)
    if found := _fontconfig():
        return found
    for path, index in KNOWN_FONTS:
        if Path(path).is_file():
            return Path(path), index
    raise NoCjkFont("no font with Chinese glyphs found for the PDF export: install one "
                    "(Debian: apt-get install fonts-noto-cjk) or set "
                    f"{FONT_ENV}=/path/to/font.ttc[#face]")


def _fontconfig() -> tuple[Path, int] | None:
    """The best face fontconfig lists for Simplified Chinese (sans, SC, regular first)."""
    if not shutil.which("fc-list"):
        return None
    listed = subprocess.run(["fc-list", ":lang=zh-cn", "file", "index", "family", "style"],
                            capture_output=True, text=True, timeout=30, check=False).stdout
    faces = []
    for line in listed.splitlines():
        path, _, rest = line.partition(": ")
        fields = dict(part.split("=", 1) for part in rest.split(":")[1:] if "=" in part)
        family = rest.split(":")[0]
        if not path.lower().endswith((".ttf", ".otf", ".ttc", ".otc")):
            continue
        rank = ("Mono" in family, "Sans" not in family, " SC" not in family,
                "Regular" not in fields.get("style", ""))
        faces.append((rank, path, int(fields.get("index", 0))))
    if not faces:
        return None
    _, path, index = min(faces)
    return Path(path), index


class _Document(FPDF):
    """A landscape A4 page with the figures' sha256 and the page number at the foot."""

    def __init__(self, footer: str) -> None:
        super().__init__(orientation="L", format="A4")
        self.footer_text = footer
        path, index = find_cjk_font()
        self.add_font("cjk", fname=str(path), collection_font_number=index)
        self.set_font("cjk", size=8)
        self.set_auto_page_break(True, margin=12)
        self.set_creator("Huiju")

    def footer(self) -> None:
        """The figures' hash and the page number on every page."""
        self.set_y(-9)
        self.set_font("cjk", size=6)
        self.cell(0, 4, f"{self.footer_text} · {self.page_no()}/{{nb}}", align="C")
        self.set_font("cjk", size=8)

    def heading(self, text: str) -> None:
        """A section heading."""
        self.ln(2)
        self.set_font("cjk", size=11)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("cjk", size=8)

    def line_of(self, text: str, colour: tuple[int, int, int] | None = None) -> None:
        """A paragraph line (in ``colour``)."""
        if colour:
            self.set_text_color(*colour)
        self.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)

    def grid(self, header: Sequence[str], rows: Iterable[Sequence[object]],
             widths: Sequence[float] | None = None,
             red: Iterable[Sequence[bool]] | None = None) -> None:
        """A table; ``red`` (per row, per cell) marks cells to print in red."""
        red_rows = iter(red) if red is not None else None
        with self.table(col_widths=widths, first_row_as_headings=True, line_height=4,
                        headings_style=FontFace(fill_color=GREY), text_align="LEFT",
                        padding=0.8) as table:
            heading = table.row()
            for text in header:
                heading.cell(str(text))
            for values in rows:
                marks = next(red_rows) if red_rows is not None else ()
                row = table.row()
                for position, value in enumerate(values):
                    bad = position < len(marks) and marks[position]
                    row.cell(_text(value), style=FontFace(color=RED) if bad else None)


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.1%}"
    return str(value)


def completeness_pdf(view: comp.Completeness, lang: str = "zh",
                     exported_at: datetime | None = None) -> bytes:
    """The completeness view as a PDF: verdict, delivery checks, coverage, KPIs, every cell
    with its batch ids and breaks; the sha256 of the figures on the first page and every
    page's foot."""
    t = labels(lang)
    exported_at = exported_at or datetime.now(UTC)
    pdf = _Document(f"sha256 {view.digest}")
    pdf.set_title(t["completeness"])
    pdf.add_page()
    pdf.heading(f"{t['app']} · {t['completeness']}")
    pdf.line_of(f"{t['as_of']} {view.computed_at:%Y-%m-%d %H:%M:%S} UTC · "
                f"exported {exported_at:%Y-%m-%d %H:%M:%S} UTC")
    pdf.line_of(f"{t['digest']}: {view.digest}")
    pdf.line_of(f"({HOW_TO_CHECK})")
    verdict = (f"{len(view.broken)} {t['breaks']}" if view.broken else t["ok"])
    pdf.line_of(f"{t['invariants']}: {verdict}", RED if view.broken else None)
    _delivery(pdf, view, t)
    _coverage(pdf, view, t)
    _kpis(pdf, view, t)
    _cells(pdf, view, t)
    return bytes(pdf.output())


def _delivery(pdf: _Document, view: comp.Completeness, t: dict[str, str]) -> None:
    pdf.heading(t["delivery"])
    checks = view.delivery_checks
    pdf.grid((t["platform"], t["dataset"], t["due"], t["missing_messages"], t["acknowledged"],
              t["rejected"], "withheld", t["pending"], t["invariants"]),
             ([f"{d.platform}/{d.resource}", d.dataset, d.due, d.missing, d.acknowledged,
               d.rejected, d.withheld, d.pending, "; ".join(d.problems) or t["ok"]]
              for d in checks), (50, 40, 20, 20, 20, 20, 20, 20, 67),
             red=([bool(d.problems)] * 9 for d in checks))


def _coverage(pdf: _Document, view: comp.Completeness, t: dict[str, str]) -> None:
    for start in range(0, max(len(view.months), 1), 12):  # twelve months a table
        months = view.months[start:start + 12]
        pdf.heading(f"{t['coverage']} {months[0] if months else ''}–"
                    f"{months[-1] if months else ''}")
        pdf.grid((t["department"], *months),
                 ([d, *(t[view.coverage[(d, m)]] for m in months)] for d in view.departments),
                 red=([False, *(view.coverage[(d, m)] != "ok" for m in months)]
                      for d in view.departments))
        pdf.heading(f"{t['kpi_news']} {months[0] if months else ''}–"
                    f"{months[-1] if months else ''}")
        pdf.grid((t["department"], *months),
                 ([d, *(view.news.get((d, m), 0) for m in months)] for d in view.departments),
                 red=([False, *(view.news.get((d, m), 0) < comp.NEWS_PER_MONTH
                                for m in months)] for d in view.departments))


def _kpis(pdf: _Document, view: comp.Completeness, t: dict[str, str]) -> None:
    pdf.heading(t["kpi_catalog"])
    pdf.grid((t["department"], t["catalog_items"], t["with_check_list"], t["with_flags"]),
             ([c["department_code"], c["items"], c["with_check_list"], c["with_flags"]]
              for c in view.catalog),
             red=([False, False, c["with_check_list"] < c["items"],
                   c["with_flags"] < c["items"]] for c in view.catalog))
    pdf.heading(t["kpi_leads"])
    if not view.timeliness:
        pdf.line_of(t["no_leads"])
        return
    pdf.grid((t["department"], t["period"], t["leads"], t["on_time"], t["late_disposed"],
              t["overdue"], t["open_in_time"], t["timely_rate"]),
             ([r["department_code"], r["period"], r["leads"], r["on_time"], r["late"],
               r["overdue"], r["open"], r["rate"]] for r in view.timeliness),
             red=([False] * 5 + [bool(r["overdue"]), False,
                                 r["rate"] is not None and r["rate"] < 1]
                  for r in view.timeliness))


def _cells(pdf: _Document, view: comp.Completeness, t: dict[str, str]) -> None:
    pdf.heading(f"{t['department']} × {t['dataset']} × {t['period']}")
    if not view.problems_listed:
        pdf.line_of(t["too_many_breaks"], RED)
    platforms = view.platforms
    header = (t["department"], t["dataset"], t["period"], t["extracted"], t["passed"],
              t["quarantined"], t["superseded"],
              *(f"{p}: {t['due']}/{t['acknowledged']}/{t['rejected']}/{t['pending']}"
                for p in platforms), t["batches"], t["invariants"])
    widths = [28, 30, 14, 13, 13, 13, 13, *([24] * len(platforms)), 42, 0]  # mm of 277
    widths[-1] = max(30, 277 - sum(widths))

    def delivered(cell: comp.Cell, platform: str) -> str:
        d = cell.delivery.get(platform)
        return f"{d['due']}/{d['acknowledged']}/{d['rejected']}/{d['pending']}" if d else ""

    rows = ([c.department_code, c.dataset, c.period, c.extracted, c.passed, c.quarantined,
             c.superseded, *(delivered(c, p) for p in platforms), " ".join(c.batches),
             "; ".join(c.problems) or (f"{c.breaks} {t['breaks']}" if c.breaks else t["ok"])]
            for c in view.cells)
    pdf.grid(header, rows, widths, red=([bool(c.breaks)] * len(header) for c in view.cells))


def quality_pdf(report: QualityReport, lang: str = "zh",
                exported_at: datetime | None = None) -> bytes:
    """A department's data-quality report as PDF: the run shown, every run's figures (the
    trend, as a table), pass rates per data set, rule family and rule, the top open failure
    reasons with example raw values, open vs resolved and the platforms' open rejections;
    the sha256 of the report's figures (the canonical JSON of what
    ``/api/departments/{code}/report?run=`` answers) on the first page and every foot."""
    t = labels(lang)
    exported_at = exported_at or datetime.now(UTC)
    digest = comp.figures_digest(jsonable_encoder(report))
    pdf = _Document(f"{report.department} · {report.run or '—'} · sha256 {digest}")
    pdf.set_title(f"{t['quality']} {report.department}")
    pdf.add_page()
    pdf.heading(f"{t['app']} · {t['quality']} · {report.department}")
    pdf.line_of(f"{t['run']} {report.run or t['no_runs']} · exported "
                f"{exported_at:%Y-%m-%d %H:%M:%S} UTC")
    pdf.line_of(f"{t['digest']}: {digest}")
    pdf.line_of("(sha256 of /api/departments/{code}/report?run= as canonical JSON: keys sorted, "
                "no spaces, UTF-8; reports.completeness.figures_digest)")
    pdf.heading(f"{t['by_dataset']} ({t['run']} {report.run or '—'})")
    pdf.grid((t["dataset"], t["extracted"], t["passed"], t["quarantined"], t["superseded"],
              t["pass_rate"]),
             ([f"{d[lang]} ({d['dataset']})", d["extracted"], d["passed"], d["quarantined"],
               d["superseded"], d["pass_rate"]] for d in report.datasets),
             (90, 35, 35, 35, 35, 47))
    pdf.heading(t["by_family"])
    pdf.grid((t["dataset"], t["family"], t["failed"], t["checked"], t["pass_rate"]),
             ([f["dataset"], f"{f['family']} {f[lang]}", f["failed"], f["checked"],
               f["pass_rate"]] for f in report.families))
    pdf.heading(t["by_rule"])
    pdf.grid((t["dataset"], t["rule"], t["failed"], t["checked"], t["pass_rate"]),
             ([r["dataset"], r["rule_id"], r["failed"], r["checked"], r["pass_rate"]]
              for r in report.rules), (45, 110, 40, 40, 42))
    pdf.heading(t["trend"])
    pdf.grid((t["run"], t["loaded_at"], t["extracted"], t["passed"], t["quarantined"],
              t["pass_rate"]),
             ([r["batch_id"], r["loaded_at"], r["extracted"], r["passed"], r["quarantined"],
               r["pass_rate"]] for r in report.runs))
    pdf.heading(t["top_reasons"])
    pdf.grid((t["dataset"], t["rule"], t["field"], t["reason"], t["failures"], t["examples"]),
             ([r["dataset"], r["rule_id"], r["field"],
               r["message_en"] if lang == "en" else r["message_zh"], r["failures"],
               " | ".join(str(e) for e in r["examples"])] for r in report.reasons),
             (30, 50, 30, 90, 17, 60))
    pdf.heading(t["status"])
    pdf.grid((t["dataset"], t["open"], t["resolved"]),
             ([s["dataset"], s["open"], s["resolved"]] for s in report.status))
    pdf.heading(t["platform_rejections"])
    pdf.grid((t["dataset"], t["platform"], t["code"], t["field"], t["reason"], t["open"]),
             ([r["dataset"], f"{r['platform']}/{r['resource']}", r["code"], r["field"],
               r["reason"], r["open"]] for r in report.platform),
             (35, 50, 25, 35, 112, 20))
    return bytes(pdf.output())

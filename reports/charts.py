"""Charts drawn on the server as SVG text: no script, no chart library, no network."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 640, 220, 36


def trend_svg(points: list[tuple[str, float | None]], title: str) -> str:
    """A line chart of pass rates (0–1) across runs: ``points`` are (label, rate) in order."""
    usable = [(label, rate) for label, rate in points if rate is not None]
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
             f"<title>{escape(title)}</title>",
             f'<rect x="{PAD}" y="{PAD}" width="{inner_w}" height="{inner_h}" fill="#fafafa" '
             'stroke="#ccc"/>']
    for tick in (0, 0.5, 1):
        y = PAD + inner_h * (1 - tick)
        parts.append(f'<line x1="{PAD}" x2="{PAD + inner_w}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#e0e0e0"/>')
        parts.append(f'<text x="{PAD - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end">'
                     f"{tick:.0%}</text>")
    if usable:
        step = inner_w / max(len(usable) - 1, 1)
        coords = [(PAD + i * step, PAD + inner_h * (1 - rate))
                  for i, (_, rate) in enumerate(usable)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#1f6feb" '
                     'stroke-width="2"/>')
        for (x, y), (label, rate) in zip(coords, usable, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f6feb">'
                         f"<title>{escape(label)}: {rate:.1%}</title></circle>")
        every = max(1, len(usable) // 8)  # at most ~8 labels under the axis
        for i, ((x, _), (label, _)) in enumerate(zip(coords, usable, strict=True)):
            if i % every == 0 or i == len(usable) - 1:
                parts.append(f'<text x="{x:.1f}" y="{HEIGHT - PAD + 14}" font-size="9" '
                             f'text-anchor="middle">{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)

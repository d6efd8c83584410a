"""Times to a funnel step (SPEC A9): how they are written, binned and drawn. Pure functions.

A histogram's bins are fixed, so the counts of several groups add up (the snapshot stores them
per finest-grain group and a filtered page sums the groups it keeps), and SQL can bin with one
CASE (`bin_case_sql`).
"""

from __future__ import annotations

from django.utils.html import format_html, format_html_join

# Upper edges in seconds of every bin but the last (open-ended), roughly ×3 apart: a second to a week.
EDGES = (10, 30, 60, 180, 600, 1800, 3600, 3 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)


def bin_labels() -> list[str]:
    labels, lower = [], 0
    for edge in EDGES:
        labels.append(f"{_short(lower)}–{_short(edge)}")
        lower = edge
    labels.append(f"≥ {_short(lower)}")
    return labels


def bin_of(seconds: float) -> int:
    """The index of the bin holding `seconds` (lower edge inclusive)."""
    for index, edge in enumerate(EDGES):
        if seconds < edge:
            return index
    return len(EDGES)


def bin_case_sql(column: str) -> str:
    """`bin_of` as SQL over a column of seconds (fixed numbers only: no parameters needed)."""
    whens = " ".join(f"WHEN {column} < {edge} THEN {index}" for index, edge in enumerate(EDGES))
    return f"CASE {whens} ELSE {len(EDGES)} END"


def _short(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def duration(seconds: float | None) -> str:
    """How a time reads on the page: sub-minute times to the second (a tenth below 10 s, so
    a quick step is not "0 s"), longer ones in two units: 12 min 30 s, 2 h 5 min, 4 d 3 h."""
    if seconds is None:
        return "–"
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s"


def histogram_svg(counts: list[int], *, title: str, width: int = 260, height: int = 60) -> str:
    """A small bar chart of one step's times (inline SVG, no script: CSP-safe); every bar has
    a <title> with its bin and count, and the whole picture a text alternative."""
    total = sum(counts)
    peak = max(counts, default=0) or 1
    bar = width / max(len(counts), 1)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" class="hist-bar"><title>{}: {}</title></rect>',
        (
            (
                round(i * bar + 1, 1),
                round(height - 12 - (height - 14) * n / peak, 1),
                round(bar - 2, 1),
                round((height - 14) * n / peak, 1),
                label,
                n,
            )
            for i, (label, n) in enumerate(zip(bin_labels(), counts, strict=True))
        ),
    )
    return format_html(
        '<svg class="hist" role="img" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        'aria-label="{t}: {n} timed">'
        '{bars}<text x="0" y="{y}" class="hist-axis">{lo}</text>'
        '<text x="{w}" y="{y}" text-anchor="end" class="hist-axis">{hi}</text></svg>',
        w=width,
        h=height,
        t=title,
        n=total,
        bars=bars,
        y=height - 1,
        lo="0 s",
        hi=bin_labels()[-1],
    )

"""The payoff at expiry drawn as an SVG picture (SPEC W15, W16), rendered on the server.

Plain markup with presentation attributes only: no script and no `style` attribute, so it sits
inside the admin's Content-Security-Policy as it is. 600 x 360 user units, readable at 600 px:
the zero line, the P&L curve (straight lines between the exact payoff points), every strike
(dashed) and every breakeven (a dot on the zero line) marked and labelled, both axes labelled.
Pixel positions are floats (they only place ink); every number printed comes from the exact
decimals of `trading.economics`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

from trading.economics import Economics, PayoffPoint, decimal_text

WIDTH, HEIGHT = 600, 360
LEFT, RIGHT, TOP, BOTTOM = 84, 16, 34, 78
LABEL_GAP = 46  # px between two labels on one row before the next one moves down a row
INK, GAIN, LOSS, GRID, MUTED = "#1f2933", "#1a7f37", "#b42318", "#9aa5b1", "#52606d"


def _rows(xs: list[float]) -> list[int]:
    """A row per label (0 first) so that labels closer than LABEL_GAP never overlap."""
    last_x: list[float] = []
    rows = []
    for x in xs:
        row = next((r for r, seen in enumerate(last_x) if x - seen >= LABEL_GAP), len(last_x))
        if row == len(last_x):
            last_x.append(x)
        last_x[row] = x
        rows.append(row)
    return rows


def _text(
    x: float, y: float, label: str, *, anchor: str = "middle", fill: str = INK, size: int = 12, **extra
) -> str:
    attrs = "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in extra.items())
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{fill}" font-size="{size}"'
        f' font-family="sans-serif" paint-order="stroke" stroke="#ffffff" stroke-width="3"'
        f"{attrs}>{escape(label)}</text>"
    )


@dataclass(frozen=True)
class _Frame:
    """The plot area and its scales: an underlying price to x, a P&L to y (in user units)."""

    x_lo: Decimal
    x_hi: Decimal
    y_lo: Decimal
    y_hi: Decimal
    plot_w: int = WIDTH - LEFT - RIGHT
    plot_h: int = HEIGHT - TOP - BOTTOM

    @classmethod
    def around(cls, points: Sequence[PayoffPoint]) -> _Frame:
        """Every payoff point and the zero line, with a tenth of the P&L range as a margin."""
        pnls = [p.pnl for p in points] + [Decimal(0)]
        y_lo, y_hi = min(pnls), max(pnls)
        pad = (y_hi - y_lo) / 10 or Decimal(1)
        return cls(points[0].underlying, points[-1].underlying, y_lo - pad, y_hi + pad)

    def x(self, value: Decimal) -> float:
        return LEFT + float((value - self.x_lo) / (self.x_hi - self.x_lo)) * self.plot_w

    def y(self, value: Decimal) -> float:
        return TOP + float((self.y_hi - value) / (self.y_hi - self.y_lo)) * self.plot_h


def _axes(frame: _Frame, title: str) -> list[str]:
    bottom, right = TOP + frame.plot_h, LEFT + frame.plot_w
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="payoff" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="payoff-title">',
        f'<title id="payoff-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"></rect>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="{GRID}"></line>',
        f'<line x1="{LEFT}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="{GRID}"></line>',
    ]


def _strikes(frame: _Frame, strikes: Sequence[Decimal]) -> Iterator[str]:
    """Dashed verticals, labelled under the axis (staggered rows when close)."""
    xs = [frame.x(k) for k in strikes]
    for k, x, row in zip(strikes, xs, _rows(xs), strict=True):
        yield (
            f'<line class="strike" x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + frame.plot_h}" '
            f'stroke="{GRID}" stroke-dasharray="4 3"></line>'
        )
        label = decimal_text(k).removesuffix(".00")
        yield _text(x, TOP + frame.plot_h + 16 + 14 * row, label, data_strike=decimal_text(k))


def _curve(frame: _Frame, points: Sequence[PayoffPoint]) -> Iterator[str]:
    """The zero line, the P&L values the position reaches, and the P&L curve."""
    zero_y = frame.y(Decimal(0))
    yield (
        f'<line class="zero" x1="{LEFT}" y1="{zero_y:.1f}" x2="{LEFT + frame.plot_w}" y2="{zero_y:.1f}" '
        f'stroke="{INK}" stroke-width="1"></line>'
    )
    # The highest and lowest P&L of the picture (a covered call's largest loss, at 0, is off it).
    for value in sorted({Decimal(0), max(p.pnl for p in points), min(p.pnl for p in points)}):
        yield _text(LEFT - 6, frame.y(value) + 4, decimal_text(value), anchor="end", fill=MUTED, size=11)
    # Exact, since P&L is linear between the payoff points.
    path = " ".join(f"{frame.x(p.underlying):.1f},{frame.y(p.pnl):.1f}" for p in points)
    yield f'<polyline class="pnl" points="{path}" fill="none" stroke="{INK}" stroke-width="2.5"></polyline>'


def _breakevens(frame: _Frame, breakevens: Sequence[Decimal]) -> Iterator[str]:
    """Dots on the zero line, labelled above it."""
    zero_y = frame.y(Decimal(0))
    xs = [frame.x(b) for b in breakevens]
    for b, x, row in zip(breakevens, xs, _rows(xs), strict=True):
        yield f'<circle class="breakeven" cx="{x:.1f}" cy="{zero_y:.1f}" r="4.5" fill="{GAIN}"></circle>'
        label = f"breakeven {decimal_text(b)}"
        yield _text(x, zero_y - 10 - 14 * row, label, fill=GAIN, size=11, data_breakeven=decimal_text(b))


def _axis_labels(frame: _Frame, underlying: str, title: str) -> list[str]:
    middle = TOP + frame.plot_h / 2
    return [
        _text(LEFT + frame.plot_w / 2, HEIGHT - 10, f"Price of {underlying} at expiry (strikes dashed)"),
        _text(16, middle, "Profit / loss at expiry", transform=f"rotate(-90 16 {middle:.1f})"),
        _text(LEFT, 18, title, anchor="start", size=13, font_weight="bold"),
    ]


def payoff_svg(
    economics: Economics, *, underlying: str = "the underlying", title: str = "Payoff at expiry"
) -> SafeString:
    """The economics' payoff as an inline <svg> element (escaped, safe to put in a template)."""
    frame = _Frame.around(economics.payoff)
    parts = [
        *_axes(frame, title),
        *_strikes(frame, economics.strikes),
        *_curve(frame, economics.payoff),
        *_breakevens(frame, economics.breakevens),
        *_axis_labels(frame, underlying, title),
        "</svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above

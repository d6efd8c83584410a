"""Journal statistics (SPEC J11): small pure functions over the user's closed, labelled trades.

Every figure is historical and carries the `n` it is made of. The definitions, so that every
client reads the same figures (docs/journal.md, "Statistics"):

- a closed trade counts in its pre_label group, and in a post_label group only once it has one;
  the transitions count a missing label as `null`;
- a share is of the filtered `n`;
- win / loss / breakeven: realized P&L > 0, < 0, = 0; a closed trade with no P&L recorded is none;
- a median of an even count is the mean of the two middle values;
- the largest gain is the most positive realized P&L above 0, the largest loss the most
  negative one below 0 (none without such a trade);
- money is rounded to the cent and shares to 4 places, half away from zero, only for display;
  a median holding time to the whole second the same way.

No expectancy, ranking or "best"/"worst" group: groups are listed in their taxonomy picker's
order, never by a figure (SPEC J9).

Two steps: the trades are reduced to one `GroupRow` per group (counts, sums, extremes and the
two middle values), then the rows are shaped into the answer. `group_rows` below is the
reduction in Python, the reference; on PostgreSQL one SQL statement produces the very same rows
(journal.models.LabelQuerySet.stats_group_rows), so 10,000 trades never travel to Python.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from itertools import groupby
from pathlib import Path
from typing import NamedTuple

COPY_FILE = Path(__file__).resolve().parent / "copy" / "stats.json"

CENT = Decimal("0.01")
SHARE_PLACES = Decimal("0.0001")
ONE = Decimal(1)
MICROSECONDS = Decimal(1_000_000)
MICROSECOND = dt.timedelta(microseconds=1)


class ClosedTrade(NamedTuple):
    """One closed, labelled trade (plain tuples in this order work too)."""

    taxonomy_version: int
    pre_label: str | None
    post_label: str | None
    closed_on: dt.date  # the UTC day of closed_at
    holding: dt.timedelta  # closed_at - opened_at
    realized_pnl: Decimal | None


class GroupRow(NamedTuple):
    """What one group's figures are made of. `kind` is "all", "pre", "post", "pair" (a
    transition) or "day"; the key columns that do not apply to the kind are None."""

    kind: str
    taxonomy_version: int | None
    pre_label: str | None
    post_label: str | None
    closed_on: dt.date | None
    n: int
    pnl_n: int  # trades with a realized P&L recorded
    pnl_sum: Decimal | None
    wins: int
    losses: int
    breakevens: int
    largest_gain: Decimal | None
    largest_loss: Decimal | None
    pnl_low: Decimal | None  # the two middle recorded P&L values (the same one for an odd count)
    pnl_high: Decimal | None
    holding_low: dt.timedelta | None  # the two middle holding times
    holding_high: dt.timedelta | None
    first_closed_on: dt.date | None
    last_closed_on: dt.date | None


class Picker(NamedTuple):
    """A taxonomy version's label codes in picker order, with their display text."""

    pre: Mapping[str, str]
    post: Mapping[str, str]


@functools.cache
def stats_copy() -> dict[str, str]:
    """The response's sentences, as data (journal/copy/stats.json)."""
    return json.loads(COPY_FILE.read_text(encoding="utf-8"))


# --- The figures ---------------------------------------------------------------------------------


def middle(ordered: Sequence) -> tuple:
    """The two middle values of sorted values (the same one twice for an odd count)."""
    if not ordered:
        return None, None
    return ordered[(len(ordered) - 1) // 2], ordered[len(ordered) // 2]


def median(values: Sequence):
    """The middle of the sorted values; of an even count, the mean of the two middle ones."""
    low, high = middle(sorted(values))
    return None if low is None else (low + high) / 2


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.quantize(CENT, ROUND_HALF_UP):.2f}"


def share(part: int, whole: int) -> str:
    """`part / whole` as a decimal string with 4 places ("0.3333"); 0 of nothing is "0.0000"."""
    value = Decimal(part) / Decimal(whole) if whole else Decimal(0)
    return f"{value.quantize(SHARE_PLACES, ROUND_HALF_UP):.4f}"


def outcomes(pnls: Iterable[Decimal | None]) -> dict[str, int]:
    """Wins (P&L > 0), losses (< 0), breakevens (= 0) and trades with no P&L recorded."""
    values = list(pnls)
    recorded = sorted(p for p in values if p is not None)
    below, above = bisect.bisect_left(recorded, 0), bisect.bisect_right(recorded, 0)
    return {
        "wins": len(recorded) - above,
        "losses": below,
        "breakevens": above - below,
        "without_pnl": len(values) - len(recorded),
    }


def median_seconds(low: dt.timedelta | None, high: dt.timedelta | None) -> int | None:
    """The mean of two middle durations in whole seconds (half away from zero), exact."""
    if low is None:
        return None
    microseconds = Decimal(low // MICROSECOND + high // MICROSECOND) / 2
    return int((microseconds / MICROSECONDS).quantize(ONE, ROUND_HALF_UP))


def pnl_figures(row: GroupRow) -> dict:
    """Sum, mean, median, largest gain and largest loss of recorded P&L, with their `n`."""
    recorded = row.pnl_n > 0
    return {
        "n": row.pnl_n,
        "sum": money(row.pnl_sum) if recorded else None,
        "mean": money(row.pnl_sum / row.pnl_n) if recorded else None,
        "median": money((row.pnl_low + row.pnl_high) / 2) if recorded else None,
        "largest_gain": money(row.largest_gain),
        "largest_loss": money(row.largest_loss),
    }


# --- Trades to group rows: the reference reduction ---------------------------------------------


def group_row(kind: str, key: tuple, trades: Sequence[ClosedTrade]) -> GroupRow:
    """One group's row from its trades; `key` is (taxonomy_version, pre, post, closed_on)."""
    recorded = sorted(t[5] for t in trades if t[5] is not None)
    counts = outcomes(recorded)
    days = [t[3] for t in trades]
    holding_low, holding_high = middle(sorted(t[4] for t in trades))
    return GroupRow(
        kind,
        *key,
        n=len(trades),
        pnl_n=len(recorded),
        pnl_sum=sum(recorded, Decimal(0)) if recorded else None,
        wins=counts["wins"],
        losses=counts["losses"],
        breakevens=counts["breakevens"],
        largest_gain=recorded[-1] if recorded and recorded[-1] > 0 else None,
        largest_loss=recorded[0] if recorded and recorded[0] < 0 else None,
        pnl_low=middle(recorded)[0],
        pnl_high=middle(recorded)[1],
        holding_low=holding_low,
        holding_high=holding_high,
        first_closed_on=min(days, default=None),
        last_closed_on=max(days, default=None),
    )


def group_rows(trades: Sequence[ClosedTrade]) -> list[GroupRow]:
    """Every group of the answer: all trades, per pre_label, per post_label (only trades that
    have one), per pre -> post pair (null included) and per UTC day."""
    keys = {
        "pre": lambda t: (t[0], t[1], None, None),
        "post": lambda t: (t[0], None, t[2], None),
        "pair": lambda t: (t[0], t[1], t[2], None),
        "day": lambda t: (None, None, None, t[3]),
    }
    rows = [group_row("all", (None, None, None, None), trades)] if trades else []
    for kind, key in keys.items():
        groups: dict[tuple, list[ClosedTrade]] = defaultdict(list)
        for trade in trades:
            if kind != "post" or trade[2] is not None:
                groups[key(trade)].append(trade)
        rows.extend(group_row(kind, group_key, members) for group_key, members in groups.items())
    return rows


# --- Group rows to the answer, labelled with their own taxonomy version's display text ---------


def _display(pickers: Mapping[int, Picker], version: int, side: str, code: str | None) -> str:
    if code is None:
        return stats_copy()[f"no_{side}_label"]
    picker = pickers.get(version)
    items = getattr(picker, side) if picker else {}
    return items.get(code, code)


def _order(pickers: Mapping[int, Picker], version: int, side: str, code: str | None) -> tuple:
    """Picker order within a version, "no label" last: never an order by a figure."""
    picker = pickers.get(version)
    codes = list(getattr(picker, side)) if picker else []
    position = codes.index(code) if code in codes else len(codes) + (code is None)
    return (version, position, code or "")


def _row_order(pickers: Mapping[int, Picker]):
    def order(row: GroupRow) -> tuple:
        return (
            _order(pickers, row.taxonomy_version or 0, "pre", row.pre_label),
            _order(pickers, row.taxonomy_version or 0, "post", row.post_label),
            row.closed_on or dt.date.min,
        )

    return order


def group_figures(row: GroupRow, *, total: int, pickers: Mapping[int, Picker]) -> dict:
    """A pre_label or post_label group: its label, `n`, share of `total` and figures."""
    side = row.kind
    code = row.pre_label if side == "pre" else row.post_label
    return {
        "taxonomy_version": row.taxonomy_version,
        "label": code,
        "display": _display(pickers, row.taxonomy_version, side, code),
        "n": row.n,
        "share": share(row.n, total),
        "wins": row.wins,
        "losses": row.losses,
        "breakevens": row.breakevens,
        "without_pnl": row.n - row.pnl_n,
        "realized_pnl": pnl_figures(row),
        "median_holding_seconds": median_seconds(row.holding_low, row.holding_high),
    }


def transition(row: GroupRow, *, pickers: Mapping[int, Picker]) -> dict:
    return {
        "taxonomy_version": row.taxonomy_version,
        "pre_label": row.pre_label,
        "pre_display": _display(pickers, row.taxonomy_version, "pre", row.pre_label),
        "post_label": row.post_label,
        "post_display": _display(pickers, row.taxonomy_version, "post", row.post_label),
        "n": row.n,
    }


def calendar_day(row: GroupRow) -> dict:
    return {
        "date": row.closed_on.isoformat(),
        "n": row.n,
        "realized_pnl": {"n": row.pnl_n, "sum": money(row.pnl_sum) if row.pnl_n else None},
    }


def basis(row: GroupRow | None) -> dict:
    """What the figures describe: the first and last closed_at counted (UTC dates) and `n`."""
    copy = stats_copy()
    return {
        "n": row.n if row else 0,
        "period": {
            "first_closed_on": row.first_closed_on.isoformat() if row else None,
            "last_closed_on": row.last_closed_on.isoformat() if row else None,
        },
        "win_rule": copy["win_rule"],
        "statement": copy["statement"],
    }


def journal_stats(rows: Iterable[GroupRow], *, pickers: Mapping[int, Picker]) -> dict:
    """The whole answer of GET /api/sentiment-labels/stats/ (SPEC J11) from its group rows."""
    by_kind = {
        kind: sorted(members, key=_row_order(pickers))
        for kind, members in groupby(sorted(rows, key=lambda row: row.kind), key=lambda row: row.kind)
    }
    total = next(iter(by_kind.get("all", [])), None)
    n = total.n if total else 0
    return {
        "basis": basis(total),
        "by_pre_label": [group_figures(row, total=n, pickers=pickers) for row in by_kind.get("pre", [])],
        "by_post_label": [group_figures(row, total=n, pickers=pickers) for row in by_kind.get("post", [])],
        "transitions": [transition(row, pickers=pickers) for row in by_kind.get("pair", [])],
        "calendar": [calendar_day(row) for row in by_kind.get("day", [])],
    }


def pickers_from_rows(rows: Iterable[Mapping]) -> dict[int, Picker]:
    """`{version: Picker}` from taxonomy rows with `version`, `pre_labels` and `post_labels`."""
    return {
        row["version"]: Picker(
            pre={item["code"]: item["display"] for item in row["pre_labels"]},
            post={item["code"]: item["display"] for item in row["post_labels"]},
        )
        for row in rows
    }

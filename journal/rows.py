"""The journal's row shapes: each row's columns defined once, for every reader.

A label row is the same ten columns in the API (LabelSerializer's fields and the list page's
`.values()` rows), in the admin (the list, the read-only page) and in the admin's CSV export;
a paper order and a backtest row are their serializer's fields and their pages' `.values()` rows.
journal_note is never a column: only whether one exists (SPEC J6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from django.utils import timezone

from trading.legs import SignedMoneyField


@dataclass(frozen=True)
class Column:
    key: str  # the JSON key (the serializer's field)
    column: str  # the `.values()` column, also the admin export's
    admin_field: str = ""  # the admin's field or display name, where the admin shows it
    kind: str = ""  # how the JSON shows it: "time" (DRF's DateTimeField), "money", "flag"


LABEL_ROW = (
    Column("id", "id", "id"),
    Column("source_table", "source_table", "source_table"),
    Column("trade_id", "trade_id", "trade"),
    Column("pre_label", "pre_label", "pre_label"),
    Column("post_label", "post_label", "post_label"),
    Column("taxonomy_version", "taxonomy_version_id", "taxonomy_version"),
    Column("journal_note_present", "journal_note_present", "note_present", kind="flag"),
    Column("post_label_locked_at", "post_label_locked_at", "post_label_locked_at", kind="time"),
    Column("created_at", "created_at", "created_at", kind="time"),
    Column("updated_at", "updated_at", "updated_at", kind="time"),
)

PAPER_ORDER_ROW = (
    Column("id", "id"),
    Column("symbol", "symbol"),
    Column("strategy_type", "strategy_type"),
    Column("legs", "legs_json"),
    Column("quantity", "quantity"),
    Column("status", "status"),
    Column("opened_at", "opened_at", kind="time"),
    Column("closed_at", "closed_at", kind="time"),
    Column("realized_pnl", "realized_pnl", kind="money"),
)

# An order's facts without its id and legs: the admin list's columns and the export's order
# columns beside each label.
ORDER_FACTS = tuple(c.key for c in PAPER_ORDER_ROW if c.key not in ("id", "legs"))


def _through_trade(*keys: str) -> tuple[Column, ...]:
    """The order's columns read from a label row, through its `trade` relation."""
    by_key = {c.key: c for c in PAPER_ORDER_ROW}
    return tuple(Column(key, f"trade__{by_key[key].column}", kind=by_key[key].kind) for key in keys)


BACKTEST_ROW = (
    Column("trade_id", "trade_id"),
    *_through_trade("symbol", "strategy_type", "opened_at", "closed_at", "realized_pnl"),
    Column("pre_label", "pre_label"),
    Column("post_label", "post_label"),
    Column("journal_note_present", "journal_note_present", kind="flag"),
)


def keys(shape: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.key for c in shape)


def columns(shape: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.column for c in shape)


def items(shape: tuple[Column, ...], rows: Iterable[Mapping]) -> list[dict]:
    """The serializer's JSON objects for `.values(*columns(shape))` rows, without the serializer.

    A page of 50 model instances run through a serializer cost far more than its queries
    (docs/performance.md); tests/journal/test_list_rows.py pins this to each serializer.
    """
    tz = timezone.get_current_timezone()
    convert = [(c.key, c.column, _CONVERTERS.get(c.kind)) for c in shape]
    return [{key: fn(row[column], tz) if fn else row[column] for key, column, fn in convert} for row in rows]


def _datetime(value, tz) -> str | None:
    """DRF's DateTimeField output (ISO 8601 in the current time zone, UTC as "Z") for a page
    whose zone is looked up once: DRF asks for the current zone per value, and those lookups
    add up on a 50-row page (docs/performance.md)."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return f"{text[:-6]}Z" if text.endswith("+00:00") else text


_MONEY = SignedMoneyField()
_CONVERTERS: dict[str, Callable] = {
    "time": _datetime,
    "money": lambda value, tz: None if value is None else _MONEY.to_representation(value),
    "flag": lambda value, tz: bool(value),
}

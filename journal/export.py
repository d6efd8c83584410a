"""The owner's export (SPEC J12, GDPR Art. 15/20): one user's paper orders, labels and notes.

Streamed in keyset chunks: each chunk is one statement that starts where the previous one
ended, so the process holds one chunk at a time whatever the journal's size, and no
server-side cursor is needed (a transaction-mode pooler cannot keep one across statements).
Nothing here logs or raises with a row's content: the note text goes to its owner only (J6).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from collections.abc import Iterator, Mapping
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.models import User
from audit.services import export_record
from journal.models import PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel
from journal.rows import ORDER_FACTS
from journal.serializers import (
    LABEL_LIST_COLUMNS,
    PAPER_ORDER_COLUMNS,
    label_list_items,
    paper_order_items,
)
from journal.stats import Picker, pickers_from_rows

audit = logging.getLogger("journal.audit")

EXPORT_FORMATS = ("json", "csv")
CONTENT_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
EXPORT_CHUNK_ROWS = 1000
TAXONOMY_COLUMNS = ("version", "pre_labels", "post_labels")

# OWASP "CSV injection": a cell starting with one of these is read as a formula by spreadsheets.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

# One row per label, its order's columns beside it (SPEC J12). Display text comes from the
# label's own taxonomy version.
CSV_COLUMNS = (
    "label_id",
    "trade_id",
    "source_table",
    "taxonomy_version",
    "pre_label",
    "pre_label_display",
    "post_label",
    "post_label_display",
    "journal_note",
    "post_label_locked_at",
    "label_created_at",
    "label_updated_at",
    *ORDER_FACTS,
    "legs",
)
# Written as plain numbers, never neutralised: "-40.00" is a loss, not a formula.
CSV_NUMBER_COLUMNS = frozenset({"label_id", "trade_id", "taxonomy_version", "quantity", "realized_pnl"})

_LABEL_CSV_VALUES = (
    "id",
    "trade_id",
    "source_table",
    "taxonomy_version_id",
    "pre_label",
    "post_label",
    "journal_note",
    "post_label_locked_at",
    "created_at",
    "updated_at",
    *(f"trade__{fact}" for fact in ORDER_FACTS),
    "trade__legs_json",
)


def neutralise(text: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading single quote (OWASP)."""
    return f"'{text}" if text.startswith(FORMULA_PREFIXES) else text


def keyset_chunks(rows: QuerySet, *, key: str, size: int | None = None) -> Iterator[list[dict]]:
    """`.values()` rows (with `key` and `id`) in (key, id) order, `size` per statement."""
    size = size or EXPORT_CHUNK_ROWS
    last: tuple | None = None
    while True:
        page = rows
        if last is not None:
            # The `>=` bound lets the index range start at the previous chunk's end.
            page = page.filter(Q(**{f"{key}__gt": last[0]}) | Q(**{key: last[0], "id__gt": last[1]}))
            page = page.filter(**{f"{key}__gte": last[0]})
        chunk = list(page.order_by(key, "id")[:size])
        if chunk:
            yield chunk
        if len(chunk) < size:
            return
        last = (chunk[-1][key], chunk[-1]["id"])


def _json_array(chunks: Iterator[list[dict]]) -> Iterator[bytes]:
    """The items of every chunk as the elements of one JSON array (without its brackets)."""
    separator = b""
    for items in chunks:
        yield separator + json.dumps(items, ensure_ascii=False)[1:-1].encode()
        separator = b","


def export_json(*, user: User, exported_at: dt.datetime) -> Iterator[bytes]:
    """`{"exported_at", "taxonomy_versions", "orders", "labels"}`: orders in the shape of
    GET /api/paper-orders/{id}/, labels in that of GET /api/sentiment-labels/{id}/ (note included)."""
    versions = list(SentimentTaxonomyVersion.objects.order_by("version").values(*TAXONOMY_COLUMNS))
    head = {"exported_at": exported_at.isoformat().replace("+00:00", "Z"), "taxonomy_versions": versions}
    yield json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "orders": ['
    orders = PaperOrder.objects.for_user(user).values(*PAPER_ORDER_COLUMNS)
    yield from _json_array(paper_order_items(chunk) for chunk in keyset_chunks(orders, key="opened_at"))
    yield b'], "labels": ['
    labels = (
        TradeSentimentLabel.objects.for_user(user).without_note().values(*LABEL_LIST_COLUMNS, "journal_note")
    )
    yield from _json_array(
        label_list_items(chunk, with_note=True) for chunk in keyset_chunks(labels, key="created_at")
    )
    yield b"]}\n"


def _csv_cell(column: str, value) -> str | int:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, list | dict):
        value = json.dumps(value, ensure_ascii=False)
    if column in CSV_NUMBER_COLUMNS:
        return value
    return neutralise(str(value))


def _csv_row(row: Mapping, pickers: Mapping[int, Picker]) -> list:
    picker = pickers.get(row["taxonomy_version_id"])
    pre, post = row["pre_label"], row["post_label"]
    values = {
        "label_id": row["id"],
        "trade_id": row["trade_id"],
        "source_table": row["source_table"],
        "taxonomy_version": row["taxonomy_version_id"],
        "pre_label": pre,
        "pre_label_display": picker.pre.get(pre, pre) if picker and pre else None,
        "post_label": post,
        "post_label_display": picker.post.get(post, post) if picker and post else None,
        "journal_note": row["journal_note"],
        "post_label_locked_at": row["post_label_locked_at"],
        "label_created_at": row["created_at"],
        "label_updated_at": row["updated_at"],
        "symbol": row["trade__symbol"],
        "strategy_type": row["trade__strategy_type"],
        "quantity": row["trade__quantity"],
        "status": row["trade__status"],
        "opened_at": row["trade__opened_at"],
        "closed_at": row["trade__closed_at"],
        "realized_pnl": row["trade__realized_pnl"],
        "legs": row["trade__legs_json"],
    }
    return [_csv_cell(column, values[column]) for column in CSV_COLUMNS]


def export_csv(*, user: User) -> Iterator[bytes]:
    """One row per label with its order beside it, UTF-8 with a byte-order mark (so spreadsheets
    read the notes' accents right), CRLF line ends, formula cells neutralised."""
    pickers = pickers_from_rows(SentimentTaxonomyVersion.objects.values(*TAXONOMY_COLUMNS))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    labels = TradeSentimentLabel.objects.backtest_for_user(user).values(*_LABEL_CSV_VALUES)
    for chunk in keyset_chunks(labels, key="created_at"):
        for row in chunk:
            writer.writerow(_csv_row(row, pickers))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def journal_export(*, user: User, export_format: str) -> Iterator[bytes]:
    """The export's body, produced as the client reads it. Audited without any content."""
    if export_format not in EXPORT_FORMATS:
        raise ValueError(f"export_format must be one of {', '.join(EXPORT_FORMATS)}")
    audit.info("journal exported: user=%s format=%s", user.id, export_format)
    # SPEC P2: every export of personal data is a change-log row (who, what; never the content).
    export_record(actor=user, what=f"own journal export ({export_format})", subject=user.email)
    if export_format == "csv":
        return export_csv(user=user)
    return export_json(user=user, exported_at=timezone.now())


def export_filename(*, export_format: str, now: dt.datetime) -> str:
    return f"raxx-journal-{now.astimezone(dt.UTC):%Y-%m-%d}.{export_format}"

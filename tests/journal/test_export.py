"""The owner's export (SPEC J12): every order, label and note of the requester, nobody else's,
streamed as an attachment, never logged; CSV safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from journal import export
from journal.compliance import find_banned
from journal.models import PaperOrder, TradeSentimentLabel
from tests.journal.conftest import SENTINEL_NOTE
from tests.journal.factories import CONDOR_LEGS, LabelFactory, PaperOrderFactory

pytestmark = pytest.mark.django_db

URL = "/api/sentiment-labels/export/"
JULY = dt.datetime(2026, 7, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
COVERED_CALL = [
    {"action": "buy", "instrument": "equity", "right": None, "strike": None, "expiry": None, "quantity": 100},
    {"action": "sell", "instrument": "option", "right": "call", "strike": "101.50", "expiry": "2026-08-21",
     "quantity": 1},
]  # fmt: skip
# Text a spreadsheet would run, a note with the CSV's own separators, and non-ASCII text.
TRICKY_NOTES = [
    '=HYPERLINK("http://example.com","x")',
    "+1 then -1",
    "-2 after the gap",
    "@SUM(A1)",
    "\tindented",
    "\rcarriage",
    'line one\nline two, with "quotes"',
    "Größe über 5 € — naïve",
]


def _body(response) -> bytes:
    assert response.streaming
    return b"".join(response.streaming_content)


@pytest.fixture
def alices_journal(alice, bob):
    """Alice: orders in every state (one unlabelled), labels with tricky notes; Bob: his own."""
    orders = [
        PaperOrderFactory(user=alice, opened_at=JULY),
        PaperOrderFactory(
            user=alice,
            symbol="AAPL",
            strategy_type="covered_call",
            legs_json=COVERED_CALL,
            opened_at=JULY + dt.timedelta(hours=1),
            status="closed",
            closed_at=JULY + dt.timedelta(days=1),
            realized_pnl=Decimal("-40.00"),
        ),
        PaperOrderFactory(user=alice, opened_at=JULY + dt.timedelta(hours=2), status="cancelled"),
        PaperOrderFactory(
            user=alice,
            opened_at=JULY + dt.timedelta(hours=3),
            status="closed",
            closed_at=JULY + dt.timedelta(hours=4),
            realized_pnl=None,
        ),
    ]
    orders += [
        PaperOrderFactory(user=alice, opened_at=JULY + dt.timedelta(days=2, minutes=i)) for i in range(6)
    ]
    labels = [
        LabelFactory(user=alice, trade=orders[0], journal_note=SENTINEL_NOTE),
        LabelFactory(
            user=alice, trade=orders[1], pre_label=None, post_label="closed_early", journal_note="-5 then"
        ),
        LabelFactory(user=alice, trade=orders[2], pre_label=None, journal_note="why I cancelled"),
    ]
    labels += [
        LabelFactory(user=alice, trade=order, journal_note=note)
        for order, note in zip(orders[4:], TRICKY_NOTES, strict=False)
    ]
    # orders[3] stays unlabelled: the JSON still carries it, the CSV has no row for it.
    bobs = PaperOrderFactory(user=bob, symbol="BOB", opened_at=JULY)
    LabelFactory(user=bob, trade=bobs, journal_note="bob-private-note")
    return orders, labels


def test_json_round_trips_every_order_label_and_note_exactly(journal_on, alice_client, alices_journal):
    orders, _ = alices_journal
    response = alice_client.get(f"{URL}?format=json")
    assert response.status_code == 200
    document = json.loads(_body(response))
    assert set(document) == {"exported_at", "taxonomy_versions", "orders", "labels"}
    # Exactly what the single-record routes answer, for every row the requester has.
    expected_orders = [
        alice_client.get(f"/api/paper-orders/{order.pk}/").json()
        for order in PaperOrder.objects.filter(user=orders[0].user).order_by("opened_at", "id")
    ]
    expected_labels = [
        alice_client.get(f"/api/sentiment-labels/{label.pk}/").json()
        for label in TradeSentimentLabel.objects.filter(user=orders[0].user).order_by("created_at", "id")
    ]
    assert document["orders"] == expected_orders
    assert document["labels"] == expected_labels
    assert len(document["orders"]) == 10 and len(document["labels"]) == 9
    assert {label["journal_note"] for label in document["labels"]} >= {SENTINEL_NOTE, *TRICKY_NOTES[:6]}
    assert document["orders"][1]["legs"] == COVERED_CALL  # legs exactly as posted
    assert document["taxonomy_versions"][0]["version"] == 1


def test_no_format_is_json(journal_on, alice_client, alices_journal):
    response = alice_client.get(URL)
    assert response["Content-Type"] == "application/json"
    assert len(json.loads(_body(response))["labels"]) == 9


def _csv_rows(response) -> list[list[str]]:
    text = _body(response).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def test_csv_has_one_row_per_label_with_its_order_beside_it(journal_on, alice_client, alices_journal):
    _, labels = alices_journal
    response = alice_client.get(f"{URL}?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, *rows = _csv_rows(response)
    assert tuple(header) == export.CSV_COLUMNS
    assert len(rows) == len(labels) == 9
    by_label = {int(row[0]): dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_label) == {label.pk for label in labels}
    loss = by_label[labels[1].pk]
    assert loss["realized_pnl"] == "-40.00"  # a number stays a number
    assert loss["journal_note"] == "'-5 then"  # text that looks like a formula does not
    assert loss["post_label_display"] == "Closed before the planned exit"
    assert loss["symbol"] == "AAPL" and loss["status"] == "closed"
    assert json.loads(loss["legs"]) == COVERED_CALL
    assert by_label[labels[0].pk]["journal_note"] == SENTINEL_NOTE
    assert by_label[labels[0].pk]["opened_at"] == "2026-07-01T09:30:15.123456Z"


def test_csv_neutralises_every_formula_note_and_keeps_the_rest_intact(
    journal_on, alice_client, alices_journal
):
    _, labels = alices_journal
    header, *rows = _csv_rows(alice_client.get(f"{URL}?format=csv"))
    notes = {int(row[0]): row[header.index("journal_note")] for row in rows}
    got = [notes[label.pk] for label in labels[3:]]
    assert got == [
        '\'=HYPERLINK("http://example.com","x")',
        "'+1 then -1",
        "'-2 after the gap",
        "'@SUM(A1)",
        "'\tindented",
        "'\rcarriage",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        ("'quoted", "'quoted"),
    ],
)
def test_neutralise(text, expected):
    assert export.neutralise(text) == expected


def test_headers_make_it_a_private_attachment(journal_on, alice_client, alices_journal):
    for fmt in ("json", "csv"):
        response = alice_client.get(f"{URL}?format={fmt}")
        assert response["Content-Disposition"].startswith('attachment; filename="raxx-journal-')
        assert response["Content-Disposition"].endswith(f'.{fmt}"')
        assert response["Cache-Control"] == "no-store"


def test_bob_gets_only_his_own_and_anonymous_gets_401(journal_on, bob_client, anon_client, alices_journal):
    document = json.loads(_body(bob_client.get(URL)))
    assert [order["symbol"] for order in document["orders"]] == ["BOB"]
    assert [label["journal_note"] for label in document["labels"]] == ["bob-private-note"]
    csv_text = _body(bob_client.get(f"{URL}?format=csv")).decode("utf-8-sig")
    assert SENTINEL_NOTE not in csv_text and "bob-private-note" in csv_text
    assert anon_client.get(URL).status_code == 401
    assert anon_client.get(f"{URL}?format=csv").status_code == 401


def test_flag_off_is_404(alice_client, alices_journal):
    assert alice_client.get(f"{URL}?format=csv").status_code == 404


@pytest.mark.parametrize(
    ("query", "key", "names"),
    [
        ("format=xml", "format", ["json", "csv"]),
        ("format=", "__all__", ["format"]),
        ("format=csv&since=2026", "__all__", ["since", "format"]),
    ],
)
def test_bad_parameters_are_400_naming_the_valid_ones(journal_on, alice_client, query, key, names):
    response = alice_client.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    message = " ".join(response.json()[key])
    assert all(name in message for name in names), message


def test_the_column_names_are_descriptive():
    assert find_banned(" ".join(export.CSV_COLUMNS)) == []


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_streamed_in_chunks_every_row_once_even_with_equal_timestamps(
    journal_on, alice, alice_client, monkeypatch, fmt
):
    """Flat memory: one chunk per statement, read as the client reads; rows that share a
    timestamp are split across chunks and still come out exactly once."""
    monkeypatch.setattr(export, "EXPORT_CHUNK_ROWS", 2)
    for _ in range(5):
        LabelFactory(user=alice, trade=PaperOrderFactory(user=alice, opened_at=JULY))
    TradeSentimentLabel.objects.update(created_at=JULY)  # five labels, one timestamp
    alice_client.get("/api/sentiment-labels/")  # warm the flag cache
    with CaptureQueriesContext(connection) as captured:
        response = alice_client.get(f"{URL}?format={fmt}")
        before_reading = len(captured)
        pieces = list(response.streaming_content)
    # token+user and the change-log row before the body; then per section ceil(5 / 2) = 3
    # chunk statements (+ taxonomy).
    assert before_reading == 2
    chunks = len(captured) - before_reading
    assert chunks == (1 + 3 + 3 if fmt == "json" else 1 + 3)
    body = b"".join(pieces)
    if fmt == "json":
        document = json.loads(body)
        assert sorted(o["id"] for o in document["orders"]) == sorted(
            PaperOrder.objects.values_list("id", flat=True)
        )
        ids = [label["id"] for label in document["labels"]]
    else:
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        ids = [int(row[0]) for row in rows[1:]]
    assert sorted(ids) == sorted(TradeSentimentLabel.objects.values_list("id", flat=True))
    assert len(ids) == 5


def test_the_note_reaches_its_owner_only_through_the_export_and_the_single_get_never_a_log(
    journal_on, alice, alice_client, bob_client, anon_client, alices_journal, caplog
):
    """SPEC J6/J12: a sentinel note is hunted through every log line of every journal route
    (export included, both formats, its errors too) and through every response but the two."""
    caplog.set_level(logging.DEBUG)
    _, labels = alices_journal
    label = labels[0]
    carrying = {
        "export json": _body(alice_client.get(f"{URL}?format=json")),
        "export csv": _body(alice_client.get(f"{URL}?format=csv")),
        "single GET": alice_client.get(f"/api/sentiment-labels/{label.pk}/").content,
    }
    assert all(SENTINEL_NOTE.encode() in body for body in carrying.values())
    others = {
        "export, bad format": alice_client.get(f"{URL}?format=xml"),
        "export, bob": bob_client.get(URL),
        "export, anonymous": anon_client.get(URL),
        "labels": alice_client.get("/api/sentiment-labels/"),
        "label by trade": alice_client.get(f"/api/sentiment-labels/?trade_id={label.trade_id}"),
        "backtest": alice_client.get("/api/sentiment-labels/backtest-filter/"),
        "stats": alice_client.get("/api/sentiment-labels/stats/"),
        "stats, filtered": alice_client.get("/api/sentiment-labels/stats/?pre_label=planned_setup"),
        "orders": alice_client.get("/api/paper-orders/"),
        "order": alice_client.get(f"/api/paper-orders/{label.trade_id}/"),
        "taxonomy": alice_client.get("/api/sentiment-taxonomy/"),
        "bob's GET of the label": bob_client.get(f"/api/sentiment-labels/{label.pk}/"),
        "schema": alice_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json"),
    }
    for name, response in others.items():
        body = _body(response) if response.streaming else response.content
        assert b"sentinel-note" not in body, name
    assert caplog.records, "the capture saw nothing; the test would prove nothing"
    assert any("journal exported" in record.getMessage() for record in caplog.records)
    for record in caplog.records:
        assert "sentinel-note" not in record.getMessage()
        assert "sentinel-note" not in str(record.args)
    assert "sentinel-note" not in caplog.text


def test_every_export_is_a_change_log_row_without_content(journal_on, alice, alice_client, alices_journal):
    from audit.models import ChangeLogEntry

    _body(alice_client.get(f"{URL}?format=csv"))
    entry = ChangeLogEntry.objects.get(object_repr__startswith="own journal export")
    assert (entry.actor, entry.object_repr, entry.subject) == (
        "alice",
        "own journal export (csv)",
        "alice@example.com",
    )
    assert "sentinel-note" not in str(entry.after)


def test_the_export_rows_are_the_serializers_own(alice, alices_journal):
    """paper_order_items / label_list_items(with_note) give what the single GETs' serializers give."""
    from journal.serializers import (
        LABEL_LIST_COLUMNS,
        PAPER_ORDER_COLUMNS,
        LabelDetailSerializer,
        PaperOrderSerializer,
        label_list_items,
        paper_order_items,
    )

    orders = PaperOrder.objects.for_user(alice).order_by("id")
    assert paper_order_items(orders.values(*PAPER_ORDER_COLUMNS)) == [
        PaperOrderSerializer(o).data for o in orders
    ]
    labels = TradeSentimentLabel.objects.for_user(alice).order_by("id")
    items = label_list_items(
        labels.without_note().values(*LABEL_LIST_COLUMNS, "journal_note"), with_note=True
    )
    assert items == [LabelDetailSerializer(label).data for label in labels]
    assert [list(item) for item in items] == [list(LabelDetailSerializer(label).data) for label in labels]


def test_legs_are_exactly_as_posted_through_the_ticket(journal_on, alice_client):
    posted = [dict(leg) for leg in CONDOR_LEGS]
    created = alice_client.post(
        "/api/paper-orders/",
        {"symbol": "spx", "strategy_type": "iron_condor", "quantity": 1, "legs": posted},
        format="json",
    )
    assert created.status_code == 201, created.content
    document = json.loads(_body(alice_client.get(URL)))
    assert document["orders"][0]["legs"] == posted

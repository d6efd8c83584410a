"""Demo journal data for `make run` only: the trader's password is public, never use it in production."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User
from accounts.services import api_key_create, api_keys_revoke
from journal import services
from journal.models import PaperOrder

DEMO_TRADER = ("trader", "raxx-demo-trader")

CONDOR_LEGS = [
    {
        "action": "buy",
        "instrument": "option",
        "right": "put",
        "strike": "480.00",
        "expiry": "2026-09-18",
        "quantity": 1,
    },
    {
        "action": "sell",
        "instrument": "option",
        "right": "put",
        "strike": "490.00",
        "expiry": "2026-09-18",
        "quantity": 1,
    },
    {
        "action": "sell",
        "instrument": "option",
        "right": "call",
        "strike": "530.00",
        "expiry": "2026-09-18",
        "quantity": 1,
    },
    {
        "action": "buy",
        "instrument": "option",
        "right": "call",
        "strike": "540.00",
        "expiry": "2026-09-18",
        "quantity": 1,
    },
]
_VERTICAL = [
    {
        "action": "buy",
        "instrument": "option",
        "right": "call",
        "strike": "190.00",
        "expiry": "2026-08-21",
        "quantity": 2,
    },
    {
        "action": "sell",
        "instrument": "option",
        "right": "call",
        "strike": "200.00",
        "expiry": "2026-08-21",
        "quantity": 2,
    },
]
_COVERED = [
    {"action": "buy", "instrument": "equity", "right": None, "strike": None, "expiry": None, "quantity": 100},
    {
        "action": "sell",
        "instrument": "option",
        "right": "call",
        "strike": "150.00",
        "expiry": "2026-08-21",
        "quantity": 1,
    },
]


# What the trader sends, one order per row: symbol, strategy, quantity, legs, pre_label, and
# then either "cancel" or (P&L, post_label, hours since the close, note) or None (still open).
_TICKET = ("symbol", "strategy_type", "quantity", "legs", "pre_label")  # the first five
_DEMO_ORDERS = (
    ("SPY", "iron_condor", 1, CONDOR_LEGS, "planned_setup", None),
    (
        "AAPL",
        "vertical_spread",
        2,
        _VERTICAL,
        "rule_based_entry",
        ("84.00", "exited_per_plan", 3, "Closed at the planned level; sizing matched the plan."),
    ),
    ("KO", "covered_call", 1, _COVERED, "practice_trade", ("-42.50", "held_past_plan", 72, "")),
    ("QQQ", "iron_condor", 1, CONDOR_LEGS, None, "cancel"),
)


def _seed_orders(user: User) -> None:
    # Each label below goes through the services, as the trader's own request would (SPEC J9).
    for *ticket, outcome in _DEMO_ORDERS:
        order, label = services.paper_order_open(user=user, **dict(zip(_TICKET, ticket, strict=True)))
        if outcome == "cancel":
            services.paper_order_cancel(user=user, order_id=order.pk)
        elif outcome is not None:
            pnl, post_label, hours_ago, note = outcome
            services.paper_order_close(user=user, order_id=order.pk, realized_pnl=Decimal(pnl))
            services.label_update(user=user, label_id=label.pk, post_label=post_label, journal_note=note)
            # Demo only: move the close into the past so the list shows both sides of the 24h lock.
            closed_at = timezone.now() - dt.timedelta(hours=hours_ago)
            PaperOrder.objects.filter(pk=order.pk).update(
                closed_at=closed_at, opened_at=closed_at - dt.timedelta(days=2)
            )


def seed_demo(*, stdout) -> None:
    """A demo trader with paper orders (open, closed, locked, cancelled) and labels incl. a note."""
    username, password = DEMO_TRADER
    user, created = User.objects.get_or_create(username=username, defaults={"email": "trader@example.com"})
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    # Only digests are stored, so the demo key cannot be shown again: each seeding replaces it.
    api_keys_revoke(keys=AuthToken.objects.filter(user=user))
    key = api_key_create(user=user)
    if not PaperOrder.objects.for_user(user).exists():
        with transaction.atomic():
            _seed_orders(user)
        services.labels_lock_due(full=True)  # backdated rows: sweep them all
    stdout.write(f"Journal: demo trader {username!r} password {password!r}")
    stdout.write(f"Journal: API token {key}  (Authorization: Token {key})")
    stdout.write("Journal: routes are 404 until FLAG_SENTIMENT_JOURNAL is on (manage.py flags set ...)")

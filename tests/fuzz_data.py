"""Data for the schemathesis run: real rows, so fuzzed ids and bodies reach real handlers."""

from __future__ import annotations

from decimal import Decimal

from journal.services import label_create, paper_order_close, paper_order_open
from walkthrough.demo import SAMPLE_LEGS
from walkthrough.services import walkthrough_token_issue


def seed_fuzz_data(*, user) -> str:
    """Give `user` an open and a closed paper order with labels; return a tester's raw token."""
    from tests.journal.factories import seed_taxonomy_v1

    seed_taxonomy_v1()  # a transactional test that ran earlier may have flushed migration 0002's row
    legs = SAMPLE_LEGS["iron_condor"]
    # The open, unlabelled order is the newest: the list's links follow the first row, so
    # the stateful phase can close it, cancel it and label it.
    closed_order, _ = paper_order_open(
        user=user, symbol="SPX", strategy_type="iron_condor", quantity=1, legs=legs
    )
    open_order, _ = paper_order_open(
        user=user, symbol="SPX", strategy_type="iron_condor", quantity=1, legs=legs
    )
    paper_order_close(user=user, order_id=closed_order.pk, realized_pnl=Decimal("12.50"))
    label_create(user=user, trade_id=closed_order.pk, journal_note="fuzz note")
    _, raw_token = walkthrough_token_issue(email="fuzz-tester@example.com", track="full")
    assert open_order.pk != closed_order.pk
    return raw_token

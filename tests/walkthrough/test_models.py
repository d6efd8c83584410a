"""SPEC W2, W8, W10: the database holds the invariants; the ADR's migration reverses cleanly."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.walkthrough.factories import PaperTradeFactory, ProgressFactory, legs
from walkthrough.models import PaperTrade, Progress, Track

pytestmark = pytest.mark.django_db


def violates(constraint: str, make) -> None:
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        make()
    assert constraint in str(excinfo.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("constraint", "kwargs"),
    [
        ("walkthrough_progress_intent_bucket_valid", {"intent_bucket": "growth"}),
        (
            "walkthrough_progress_self_select_no_persona",
            {"track": Track.SELF_SELECT, "persona_answers": {"goal": "income"}},
        ),
        ("walkthrough_progress_track_valid", {"track": "vip"}),
        ("walkthrough_progress_current_screen_range", {"current_screen": 6}),
    ],
)
def test_progress_checks(constraint, kwargs):
    violates(constraint, lambda: ProgressFactory(**kwargs))


@pytest.mark.postgres
@pytest.mark.parametrize("bucket", [None, "income", "covered_call", "directional", "unknown"])
def test_intent_bucket_allows_null_and_the_four_buckets(bucket):
    assert ProgressFactory(intent_bucket=bucket, track=Track.SELF_SELECT).intent_bucket == bucket


@pytest.mark.postgres
def test_email_and_token_hash_are_unique():
    first = ProgressFactory()
    violates("walkthrough_progress_unique_email", lambda: ProgressFactory(tester_email=first.tester_email))
    violates("walkthrough_progress_unique_token_hash", lambda: ProgressFactory(token_hash=first.token_hash))


@pytest.mark.postgres
def test_strategy_type_defaults_to_iron_condor_in_the_database():
    progress = ProgressFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO beta_walkthrough_paper_trades (progress_id, legs_json, filled_at, short_call_strike,"
            " long_call_strike, short_put_strike, long_put_strike, expiry, net_credit)"
            " VALUES (%s, '[]', now(), 1, 2, 3, 4, '2026-07-17', 1) RETURNING strategy_type",
            [progress.pk],
        )
        assert cursor.fetchone() == ("iron_condor",)


@pytest.mark.postgres
@pytest.mark.parametrize("value", ["'straddle'", "NULL"])
def test_strategy_type_is_one_of_three_and_not_null(value):
    trade = PaperTradeFactory(non_ic="covered_call")
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE beta_walkthrough_paper_trades SET strategy_type = {value} WHERE id = %s", [trade.pk]
        )
    expected = "walkthrough_papertrade_strategy_type_valid" if value != "NULL" else "strategy_type"
    assert expected in str(excinfo.value)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "kwargs",
    [
        {"strategy_type": "covered_call"},  # CC with IC columns filled
        {"strategy_type": "vertical_spread", "expiry": None, "net_credit": None},  # some left
    ],
)
def test_iron_condor_columns_are_null_for_other_strategies(kwargs):
    violates("walkthrough_papertrade_ic_columns_null_unless_iron_condor", lambda: PaperTradeFactory(**kwargs))


@pytest.mark.postgres
def test_non_ic_trades_with_null_columns_are_fine():
    assert PaperTradeFactory(non_ic="vertical_spread").short_call_strike is None
    assert PaperTrade.objects.count() == 1


@pytest.fixture
def back_to_the_latest_migration():
    """Migration tests leave the schema where later transactional tests expect it: at the
    leaf (0003 and after), not at 0002."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migration")
def test_migration_0002_reverses_and_reapplies_cleanly():
    executor = MigrationExecutor(connection)
    executor.migrate([("walkthrough", "0001_initial")])
    with connection.cursor() as cursor:
        columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, "beta_walkthrough_progress")
        }
        trade_columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, "beta_walkthrough_paper_trades")
        }
    assert "intent_bucket" not in columns and "strategy_type" not in trade_columns
    assert {
        "tester_email",
        "token_hash",
        "persona_answers",
        "legs_json",
        "short_call_strike",
    } <= columns | trade_columns

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("walkthrough", "0002_intent_bucket_strategy_type")])
    with connection.cursor() as cursor:
        columns = {
            c.name
            for c in connection.introspection.get_table_description(cursor, "beta_walkthrough_progress")
        }
    assert "intent_bucket" in columns
    # 0002 adds exactly the two ADR columns (plus their constraints) and nothing else.
    ops = executor.loader.get_migration("walkthrough", "0002_intent_bucket_strategy_type").operations
    added = sorted(op.name for op in ops if op.__class__.__name__ == "AddField")
    assert added == ["intent_bucket", "strategy_type"]
    assert {op.__class__.__name__ for op in ops} == {"AddField", "AddConstraint"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migration")
def test_migration_0002_turns_pre_adr_trades_into_iron_condors_whatever_their_columns():
    """Old rows get the database default; a legacy row with an empty IC column cannot stop it."""
    executor = MigrationExecutor(connection)
    executor.migrate([("walkthrough", "0001_initial")])
    old = executor.loader.project_state([("walkthrough", "0001_initial")]).apps
    progress = old.get_model("walkthrough", "Progress").objects.create(
        tester_email="legacy@example.com", token_hash="a" * 64, track="full"
    )
    trade = old.get_model("walkthrough", "PaperTrade").objects.create(
        progress_id=progress.pk, legs_json=[{"action": "buy"}], short_call_strike="5600", net_credit=None
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("walkthrough", "0002_intent_bucket_strategy_type")])

    # Read through the model as of 0002: later migrations add columns the database lacks here.
    at_0002 = executor.loader.project_state([("walkthrough", "0002_intent_bucket_strategy_type")]).apps
    migrated = at_0002.get_model("walkthrough", "PaperTrade").objects.get(pk=trade.pk)
    assert (migrated.strategy_type, migrated.net_credit, migrated.legs_json) == (
        "iron_condor",
        None,
        [{"action": "buy"}],
    )
    # Only the columns this migration knows: later migrations add more to the model.
    assert Progress.objects.values_list("intent_bucket", flat=True).get(pk=progress.pk) is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migration")
def test_migration_0003_screen_events_is_additive_and_reverses_cleanly():
    """SPEC W14: the events table comes and goes on its own; the ADR's tables are untouched."""
    progress = ProgressFactory(intent_bucket="income")
    executor = MigrationExecutor(connection)
    executor.migrate([("walkthrough", "0002_intent_bucket_strategy_type")])
    assert "beta_walkthrough_screen_events" not in connection.introspection.table_names()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("walkthrough", "0003_screen_events")])
    assert "beta_walkthrough_screen_events" in connection.introspection.table_names()
    assert Progress.objects.values_list("intent_bucket", flat=True).get(pk=progress.pk) == "income"
    ops = executor.loader.get_migration("walkthrough", "0003_screen_events").operations
    assert [op.__class__.__name__ for op in ops] == ["CreateModel"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migration")
def test_migration_0010_stores_the_review_of_every_trade_with_fills():
    """Trades filled between 0008 and 0010 get their review, so the CHECK holds from the start."""
    executor = MigrationExecutor(connection)
    executor.migrate([("walkthrough", "0009_copy_signoff")])
    old = executor.loader.project_state([("walkthrough", "0009_copy_signoff")]).apps
    progress = old.get_model("walkthrough", "Progress").objects.create(
        tester_email="filled@example.com", token_hash="b" * 64, track="full", current_screen=4
    )
    trades = old.get_model("walkthrough", "PaperTrade").objects
    filled = trades.create(
        progress_id=progress.pk,
        strategy_type="iron_condor",
        legs_json=legs("iron_condor"),
        fills_json=["8.80", "11.40", "12.80", "6.90"],
        short_call_strike="5600",
        long_call_strike="5650",
        short_put_strike="5350",
        long_put_strike="5300",
        expiry="2026-07-17",
        net_credit="8.50",
    )
    legacy = trades.create(
        progress_id=progress.pk, strategy_type="covered_call", legs_json=legs("covered_call"), fills_json=None
    )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("walkthrough", "0010_trade_review")])

    reviews = dict(PaperTrade.objects.values_list("pk", "review_json"))
    assert reviews[legacy.pk] is None
    assert reviews[filled.pk]["net"] == {"kind": "credit", "per_unit": "8.50", "total": "850.00"}
    assert reviews[filled.pk]["breakevens"] == ["5341.50", "5608.50"]

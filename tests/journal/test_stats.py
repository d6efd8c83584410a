"""Journal statistics (SPEC J11): pure functions against hand-worked tables, then the route
against figures worked out by hand from the orders and labels the test creates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from journal import stats
from journal.compliance import find_banned
from journal.serializers import StatsSerializer
from tests.journal.factories import LabelFactory, PaperOrderFactory

URL = "/api/sentiment-labels/stats/"
D = Decimal
S = dt.timedelta(seconds=1)
US = dt.timedelta(microseconds=1)


def at(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 7, day, hour, minute, tzinfo=dt.UTC)


# --- Pure functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], None),
        ([D("5")], D("5")),
        ([D("3"), D("1"), D("2")], D("2")),
        ([D("4"), D("1"), D("3"), D("2")], D("2.5")),  # even count: mean of the two middle values
        ([D("-40.00"), D("15.50")], D("-12.25")),
        ([D("0.01"), D("0.02")], D("0.015")),  # exact; rounding is only for display
        ([3 * S, S, 2 * S, 10 * S], 2.5 * S),
    ],
)
def test_median(values, expected):
    assert stats.median(values) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (D("18.3333"), "18.33"),
        (D("0.015"), "0.02"),  # half away from zero, as a spreadsheet's ROUND
        (D("-0.015"), "-0.02"),
        (D("0.025"), "0.03"),
        (D("-40"), "-40.00"),
        (D("0"), "0.00"),
    ],
)
def test_money_rounds_half_away_from_zero(value, expected):
    assert stats.money(value) == expected


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [
        (1, 3, "0.3333"),
        (2, 3, "0.6667"),
        (3, 3, "1.0000"),
        (1, 8, "0.1250"),
        (0, 5, "0.0000"),
        (0, 0, "0.0000"),
    ],
)
def test_share(part, whole, expected):
    assert stats.share(part, whole) == expected


def test_outcomes_follow_the_stated_rule():
    pnls = [D("1"), D("-1"), D("0"), None, D("0.00"), D("-0.01")]
    assert stats.outcomes(pnls) == {"wins": 1, "losses": 2, "breakevens": 2, "without_pnl": 1}


@pytest.mark.parametrize(
    ("pnls", "expected"),
    [
        ([], {"n": 0, "sum": None, "mean": None, "median": None, "largest_gain": None, "largest_loss": None}),
        (
            [D("100.00"), D("-40.00"), D("0.00")],
            {
                "n": 3,
                "sum": "60.00",
                "mean": "20.00",
                "median": "0.00",
                "largest_gain": "100.00",
                "largest_loss": "-40.00",
            },
        ),
        (
            [D("10.00"), D("10.00"), D("0.01")],  # mean 6.67 (20.01 / 3 = 6.67)
            {
                "n": 3,
                "sum": "20.01",
                "mean": "6.67",
                "median": "10.00",
                "largest_gain": "10.00",
                "largest_loss": None,
            },
        ),
        (
            [D("-3.00"), D("-1.00")],  # no gain: null, not the least negative loss
            {
                "n": 2,
                "sum": "-4.00",
                "mean": "-2.00",
                "median": "-2.00",
                "largest_gain": None,
                "largest_loss": "-3.00",
            },
        ),
        (
            [D("0.00")],
            {
                "n": 1,
                "sum": "0.00",
                "mean": "0.00",
                "median": "0.00",
                "largest_gain": None,
                "largest_loss": None,
            },
        ),
    ],
)
def test_pnl_figures(pnls, expected):
    trades = [stats.ClosedTrade(1, "x", None, dt.date(2026, 7, 1), S, pnl) for pnl in [*pnls, None]]
    assert stats.pnl_figures(stats.group_row("pre", (1, "x", None, None), trades)) == expected


@pytest.mark.parametrize(
    ("durations", "expected"),
    [
        ([], None),
        ([3600 * S], 3600),
        ([S, 2 * S], 2),  # 1.5 s: half away from zero
        ([S, 1.8 * S], 1),  # 1.4 s
        ([0 * S, 999_999 * US], 0),  # 0.4999995 s
        ([3 * S, S, 2 * S, 10 * S], 3),  # even count: (2 + 3) / 2 = 2.5 s
    ],
)
def test_median_holding_seconds(durations, expected):
    assert stats.median_seconds(*stats.middle(sorted(durations))) == expected


def _trade(pre, post, pnl, day=1, version=1):
    return stats.ClosedTrade(version, pre, post, dt.date(2026, 7, day), S, None if pnl is None else D(pnl))


def test_calendar_counts_and_sums_per_day_oldest_first():
    trades = [
        _trade("a", None, "1.00", day=4),
        _trade("a", None, None, day=4),
        _trade("a", None, "-3.50", day=2),
    ]
    assert stats.journal_stats(stats.group_rows(trades), pickers={})["calendar"] == [
        {"date": "2026-07-02", "n": 1, "realized_pnl": {"n": 1, "sum": "-3.50"}},
        {"date": "2026-07-04", "n": 2, "realized_pnl": {"n": 1, "sum": "1.00"}},
    ]


def test_groups_are_per_taxonomy_version_with_that_version_s_display_text():
    pickers = {
        1: stats.Picker(pre={"calm": "Calm (v1)", "rushed": "Rushed"}, post={}),
        2: stats.Picker(pre={"rushed": "Rushed entry", "calm": "Calm (v2)"}, post={}),
    }
    trades = [
        _trade("calm", None, "1", version=2),
        _trade("calm", None, "1", version=1),
        _trade(None, None, "1", version=1),
        _trade("rushed", None, "1", version=2),
    ]
    answer = stats.journal_stats(stats.group_rows(trades), pickers=pickers)
    groups = answer["by_pre_label"]
    # Version, then picker order, "no label" last: never ordered by a figure.
    assert [(g["taxonomy_version"], g["label"], g["display"], g["n"]) for g in groups] == [
        (1, "calm", "Calm (v1)", 1),
        (1, None, "No pre-trade label", 1),
        (2, "rushed", "Rushed entry", 1),
        (2, "calm", "Calm (v2)", 1),
    ]
    assert answer["by_post_label"] == []  # no post_label yet: no group


def test_an_empty_journal_answers_n_zero_and_no_figure():
    body = stats.journal_stats([], pickers={})
    assert body["basis"]["n"] == 0
    assert body["basis"]["period"] == {"first_closed_on": None, "last_closed_on": None}
    assert body["by_pre_label"] == body["by_post_label"] == body["transitions"] == body["calendar"] == []


def test_the_copy_is_descriptive():
    copy = stats.stats_copy()
    assert copy["statement"] == "Historical and descriptive: describes past paper trades only."
    assert find_banned(" ".join(copy.values())) == []
    # SPEC J11: no figure that rates a label; the scan of every response refuses the words.
    assert find_banned("expectancy; the best label; the worst label; a ranking") == [
        "expectancy",
        "best",
        "worst",
        "ranking",
    ]


# --- The route, against figures worked out by hand -------------------------------------------------

V1_PRE = {"planned_setup": "Setup from my written plan", "discretionary_entry": "Discretionary entry"}
V1_POST = {"exited_per_plan": "Exited as planned", "closed_early": "Closed before the planned exit"}


@pytest.fixture
def journal(alice, bob):
    """Alice: five closed, labelled trades (a breakeven, one with no P&L recorded, one with no
    pre_label, one with no post_label), plus rows that must not count: an open trade, a
    cancelled one, a closed trade without a label. Bob: a closed, labelled trade."""

    def trade(pre, post, pnl, opened, closed, *, user=alice, status="closed", note=""):
        order = PaperOrderFactory(
            user=user,
            status=status,
            opened_at=opened,
            closed_at=closed,
            realized_pnl=None if pnl is None else D(pnl),
        )
        return LabelFactory(user=user, trade=order, pre_label=pre, post_label=post, journal_note=note)

    trade("planned_setup", "exited_per_plan", "100.00", at(1, 10), at(1, 12))  # t1: 2 h
    trade("planned_setup", "closed_early", "-40.00", at(2, 9), at(3, 9))  # t2: 24 h
    trade("planned_setup", None, "0.00", at(3), at(3, 0, 30))  # t3: 30 min, breakeven
    trade("discretionary_entry", "exited_per_plan", "15.50", at(9, 12), at(10, 13))  # t4: 25 h
    trade(None, "exited_per_plan", None, at(10), at(10, 1), note="no P&L")  # t5: 1 h, no P&L
    # Not counted: open, cancelled, unlabelled, someone else's.
    trade("practice_trade", None, None, at(11), None, status="open")
    trade(None, None, None, at(11), None, status="cancelled", note="why I cancelled")
    PaperOrderFactory(user=alice, status="closed", opened_at=at(4), closed_at=at(5), realized_pnl=D("7.00"))
    trade("planned_setup", "closed_early", "999.00", at(1), at(1, 1), user=bob)


def _group(version, label, display, n, share, outcomes, pnl, holding):
    wins, losses, breakevens, without = outcomes
    keys = ("n", "sum", "mean", "median", "largest_gain", "largest_loss")
    return {
        "taxonomy_version": version,
        "label": label,
        "display": display,
        "n": n,
        "share": share,
        "wins": wins,
        "losses": losses,
        "breakevens": breakevens,
        "without_pnl": without,
        "realized_pnl": dict(zip(keys, pnl, strict=True)),
        "median_holding_seconds": holding,
    }


def _transition(pre, post, n):
    return {
        "taxonomy_version": 1,
        "pre_label": pre,
        "pre_display": V1_PRE.get(pre, "No pre-trade label"),
        "post_label": post,
        "post_display": V1_POST.get(post, "No post-trade label"),
        "n": n,
    }


def _day(date, n, pnl_n, pnl_sum):
    return {"date": date, "n": n, "realized_pnl": {"n": pnl_n, "sum": pnl_sum}}


BASIS = {
    "win_rule": stats.stats_copy()["win_rule"],
    "statement": "Historical and descriptive: describes past paper trades only.",
}


@pytest.mark.django_db
def test_unfiltered_figures_equal_the_hand_worked_ones(journal_on, alice_client, journal):
    body = alice_client.get(URL).json()
    assert body["basis"] == {
        "n": 5,
        "period": {"first_closed_on": "2026-07-01", "last_closed_on": "2026-07-10"},
        **BASIS,
    }
    assert body["by_pre_label"] == [
        # t1, t2, t3: P&L 100, -40, 0 -> sum 60, mean 20, median 0; holding 2 h, 24 h, 30 min -> 2 h
        _group(1, "planned_setup", V1_PRE["planned_setup"], 3, "0.6000", (1, 1, 1, 0),
               (3, "60.00", "20.00", "0.00", "100.00", "-40.00"), 7200),
        _group(1, "discretionary_entry", V1_PRE["discretionary_entry"], 1, "0.2000", (1, 0, 0, 0),
               (1, "15.50", "15.50", "15.50", "15.50", None), 90000),
        _group(1, None, "No pre-trade label", 1, "0.2000", (0, 0, 0, 1),
               (0, None, None, None, None, None), 3600),
    ]  # fmt: skip
    assert body["by_post_label"] == [
        # t1, t4, t5: P&L 100, 15.50 and none -> n 2, median (15.50 + 100) / 2; holding 2 h, 25 h, 1 h
        _group(1, "exited_per_plan", V1_POST["exited_per_plan"], 3, "0.6000", (2, 0, 0, 1),
               (2, "115.50", "57.75", "57.75", "100.00", None), 7200),
        _group(1, "closed_early", V1_POST["closed_early"], 1, "0.2000", (0, 1, 0, 0),
               (1, "-40.00", "-40.00", "-40.00", None, "-40.00"), 86400),
    ]  # fmt: skip
    assert body["transitions"] == [
        _transition("planned_setup", "exited_per_plan", 1),
        _transition("planned_setup", "closed_early", 1),
        _transition("planned_setup", None, 1),
        _transition("discretionary_entry", "exited_per_plan", 1),
        _transition(None, "exited_per_plan", 1),
    ]
    assert body["calendar"] == [
        _day("2026-07-01", 1, 1, "100.00"),
        _day("2026-07-03", 2, 2, "-40.00"),
        _day("2026-07-10", 2, 1, "15.50"),
    ]


@pytest.mark.django_db
def test_a_calendar_day_is_the_utc_day_of_closed_at(journal_on, alice, alice_client):
    five_hours_west = dt.timezone(dt.timedelta(hours=-5))
    for closed in (dt.datetime(2026, 7, 3, 22, 0, tzinfo=five_hours_west), at(4, 23, 59), at(4)):
        order = PaperOrderFactory(
            user=alice, status="closed", opened_at=at(1), closed_at=closed, realized_pnl=D(1)
        )
        LabelFactory(user=alice, trade=order)
    body = alice_client.get(URL).json()
    assert body["calendar"] == [_day("2026-07-04", 3, 3, "3.00")]
    assert body["basis"]["period"] == {"first_closed_on": "2026-07-04", "last_closed_on": "2026-07-04"}


@pytest.mark.django_db
def test_a_closed_at_range_counts_only_the_trades_closed_in_it(journal_on, alice_client, journal):
    body = alice_client.get(
        f"{URL}?closed_at_after=2026-07-03T00:00:00Z&closed_at_before=2026-07-10T00:00:00Z"
    ).json()
    # t2 and t3 only: P&L -40 and 0; holding 24 h and 30 min -> (86400 + 1800) / 2
    assert body["basis"] == {
        "n": 2,
        "period": {"first_closed_on": "2026-07-03", "last_closed_on": "2026-07-03"},
        **BASIS,
    }
    assert body["by_pre_label"] == [
        _group(1, "planned_setup", V1_PRE["planned_setup"], 2, "1.0000", (0, 1, 1, 0),
               (2, "-40.00", "-20.00", "-20.00", None, "-40.00"), 44100),
    ]  # fmt: skip
    assert body["by_post_label"] == [
        _group(1, "closed_early", V1_POST["closed_early"], 1, "0.5000", (0, 1, 0, 0),
               (1, "-40.00", "-40.00", "-40.00", None, "-40.00"), 86400),
    ]  # fmt: skip
    assert body["transitions"] == [
        _transition("planned_setup", "closed_early", 1),
        _transition("planned_setup", None, 1),
    ]
    assert body["calendar"] == [_day("2026-07-03", 2, 2, "-40.00")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        "",
        "pre_label=planned_setup",
        "post_label=exited_per_plan",
        "symbol=spy",
        "strategy_type=iron_condor",
        "taxonomy_version=1",
        "closed_at_after=2026-07-03T00:00:00Z",
    ],
)
def test_n_is_the_backtest_filter_s_closed_trades_for_the_same_parameters(
    journal_on, alice_client, journal, query
):
    figures = alice_client.get(f"{URL}?{query}").json()
    backtest = alice_client.get(f"/api/sentiment-labels/backtest-filter/?{query}").json()
    assert figures["basis"]["n"] == backtest["summary"]["closed_trades"]
    assert sum(group["n"] for group in figures["by_pre_label"]) == figures["basis"]["n"]
    assert sum(t["n"] for t in figures["transitions"]) == figures["basis"]["n"]
    assert sum(day["n"] for day in figures["calendar"]) == figures["basis"]["n"]


@pytest.mark.django_db
def test_bob_sees_none_of_alices_trades(journal_on, bob_client, journal):
    body = bob_client.get(URL).json()
    assert body["basis"]["n"] == 1
    assert body["by_pre_label"][0]["realized_pnl"]["sum"] == "999.00"


@pytest.mark.django_db
def test_anonymous_is_401_and_the_flag_off_is_404(anon_client, alice_client, journal, set_flags):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    assert anon_client.get(URL).status_code == 401
    set_flags(FLAG_SENTIMENT_JOURNAL=False)
    assert alice_client.get(URL).status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "key", "names"),
    [
        ("pre_label=nope", "pre_label", ["planned_setup", "practice_trade"]),
        ("post_label=nope", "post_label", ["exited_per_plan"]),
        ("strategy_type=strangle", "strategy_type", ["iron_condor", "vertical_spread", "covered_call"]),
        ("pre_lable=planned_setup", "__all__", ["pre_label", "closed_at_after", "format"]),
        ("page=2", "__all__", ["pre_label", "format"]),  # not paginated: no silent drop
        ("symbol=", "__all__", ["symbol"]),
        ("taxonomy_version=2&pre_label=planned_setup", "pre_label", ["taxonomy version 2", "(none yet)"]),
    ],
)
def test_bad_parameters_are_400_naming_the_valid_ones(journal_on, alice_client, query, key, names):
    response = alice_client.get(f"{URL}?{query}")
    assert response.status_code == 400, response.content
    message = " ".join(response.json()[key])
    assert all(name in message for name in names), message


@pytest.mark.django_db
def test_format_json_is_drf_s_format_override_and_still_answers(journal_on, alice_client, journal):
    assert alice_client.get(f"{URL}?format=json").json()["basis"]["n"] == 5


@pytest.mark.django_db
def test_the_answer_is_exactly_the_documented_schema(journal_on, alice_client, journal):
    body = alice_client.get(URL).json()
    assert StatsSerializer(body).data == body
    assert find_banned(str(body)) == []


@pytest.mark.django_db
@pytest.mark.usefixtures("flags_stay_cached")
@pytest.mark.parametrize(
    "query", ["", "pre_label=planned_setup&symbol=SPY&closed_at_after=2026-07-01T00:00:00Z"]
)
def test_three_queries_at_any_size(
    journal_on, alice, alice_client, journal, django_assert_max_num_queries, query
):
    for i in range(30):
        order = PaperOrderFactory(
            user=alice, status="closed", opened_at=at(1), closed_at=at(2), realized_pnl=D(i)
        )
        LabelFactory(user=alice, trade=order, pre_label="planned_setup", post_label="closed_early")
    alice_client.get(URL)  # warm the flag cache, as in a running process
    # token+user, the taxonomy (code check and display text), the matching trades
    with django_assert_max_num_queries(3):
        response = alice_client.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert response.json()["basis"]["n"] == (33 if query else 35)


@pytest.mark.django_db
def test_the_schema_types_the_route_only_while_the_flag_is_on(alice_client, set_flags):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    answer = schema["paths"]["/api/sentiment-labels/stats/"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Stats"}
    parameters = {p["name"] for p in schema["paths"]["/api/sentiment-labels/stats/"]["get"]["parameters"]}
    assert parameters == {
        "pre_label",
        "post_label",
        "taxonomy_version",
        "symbol",
        "strategy_type",
        "closed_at_after",
        "closed_at_before",
    }
    export = schema["paths"]["/api/sentiment-labels/export/"]["get"]
    assert [(p["name"], sorted(p["schema"]["enum"])) for p in export["parameters"]] == [
        ("format", ["csv", "json"])
    ]
    assert set(export["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    group = schema["components"]["schemas"]["StatsGroup"]
    assert {"n", "share", "wins", "losses", "breakevens", "realized_pnl", "median_holding_seconds"} <= set(
        group["required"]
    )
    set_flags(FLAG_SENTIMENT_JOURNAL=False)
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/sentiment-labels/stats/" not in schema["paths"]
    assert "/api/sentiment-labels/export/" not in schema["paths"]
    assert "Stats" not in schema["components"]["schemas"]
    assert "JournalExport" not in schema["components"]["schemas"]


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    "filters",
    [{}, {"pre_label": "planned_setup"}, {"post_label__isnull": True}, {"trade__closed_at__gte": at(15)}],
    ids=["all", "pre", "no-post", "range"],
)
def test_the_database_reduction_equals_the_python_reference(alice, bob, filters):
    """PostgreSQL reduces the trades to group rows in SQL; journal.stats.group_rows is the
    reference. Seeded random trades: ties, zeros, missing P&L, odd and even groups, two versions."""
    import random

    from journal.models import SentimentTaxonomyVersion, TradeSentimentLabel
    from journal.services import taxonomy_version_create

    v1 = SentimentTaxonomyVersion.objects.get(version=1)
    taxonomy_version_create(pre_labels=v1.pre_labels[:2], post_labels=v1.post_labels[:2])
    rng = random.Random(20)
    pres = [None, "planned_setup", "rule_based_entry", "discretionary_entry"]
    posts = [None, "exited_per_plan", "closed_early", "held_past_plan"]
    for i in range(300):
        version = rng.choice([1, 1, 2])
        opened = at(1) + dt.timedelta(minutes=rng.randrange(40_000))
        closed = opened + dt.timedelta(seconds=rng.randrange(0, 200_000), microseconds=rng.randrange(2))
        status = rng.choice(["closed"] * 5 + ["open"])
        order = PaperOrderFactory(
            user=rng.choice([alice, alice, bob]) if i else alice,
            status=status,
            opened_at=opened,
            closed_at=closed if status == "closed" else None,
            realized_pnl=rng.choice([None, D("0"), D(rng.randrange(-500, 500)) / 4])
            if status == "closed"
            else None,
        )
        LabelFactory(
            user=order.user,
            trade=order,
            taxonomy_version=SentimentTaxonomyVersion.objects.get(version=version),
            pre_label=rng.choice(pres[:3] if version == 2 else pres),
            post_label=rng.choice(posts[:3] if version == 2 else posts),
        )
    pickers = stats.pickers_from_rows(
        SentimentTaxonomyVersion.objects.values("version", "pre_labels", "post_labels")
    )
    matching = TradeSentimentLabel.objects.backtest_for_user(alice).filter(**filters)
    in_sql = stats.journal_stats(matching.stats_group_rows(), pickers=pickers)
    in_python = stats.journal_stats(stats.group_rows(list(matching.closed_trades())), pickers=pickers)
    assert in_sql["basis"]["n"] > 20
    assert in_sql == in_python

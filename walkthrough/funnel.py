"""The back-office funnel (SPEC A2): the read side of the walkthrough, a fixed number of queries.

Counting rule (docs/backoffice.md): "reached a step" comes from the stored state of each tester
(current_screen, completed_at, paper trades), so testers from before the screen-events table
count too, and every count matches the changelist filter it links to. Times to each step come
from the screen events (first event of that screen per tester); testers without events are
counted but not timed, and each time cell says how many testers it is made of.

Every aggregate runs in the database; Python only adds up the per (bucket, track) rows the
database returns (at most buckets x tracks rows, whatever the number of testers).

Without a date range the admin page reads the beat-refreshed FunnelSnapshot instead (exact as
of its time, and says so): exact percentiles over every tester take seconds at 1M testers
(docs/performance.md). The snapshot stores these same queries' rows (funnel_parts), tagged with
PAYLOAD_VERSION: a snapshot of another version is never read, the page computes live instead.

The page that shows all this (form, bars, links, CSV) is walkthrough/funnel_page.py.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection, connections, router
from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncWeek
from django.utils import timezone

from flags.store import flag_value
from trading.legs import StrategyType
from walkthrough import scenarios, stats, timing
from walkthrough.models import (
    NOT_SET,
    FunnelSnapshot,
    PaperTrade,
    Progress,
    RoutingArm,
    Screen,
    ScreenEvent,
    SurveyAnswer,
    Track,
    bucket_label,
)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    q: Q  # which testers reached it, from stored state (the changelist filter uses the same Q)
    screen: Screen | None  # the screen event that marks it (time to step); None for the issue


# In order; each step's testers are a subset of the previous step's (services only move
# current_screen forward; completing the survey sets current_screen to 5).
STEPS = (
    Step("issued", "Token issued", Q(), None),
    Step("door", "Door answered", Q(current_screen__gte=Screen.SCENARIO), Screen.DOOR),
    Step("scenario", "Scenario continued", Q(current_screen__gte=Screen.BUILDER), Screen.SCENARIO),
    Step("trade", "Trade filled", Q(current_screen__gte=Screen.REVIEW), Screen.BUILDER),
    Step("review", "Reviewed", Q(current_screen__gte=Screen.SURVEY), Screen.REVIEW),
    Step("survey", "Survey completed", Q(completed_at__isnull=False), Screen.SURVEY),
)
STEP_BY_KEY = {s.key: s for s in STEPS}
GROUP_BY = {
    "intent_bucket": "Intent bucket",
    "track": "Track",
    "bucket_track": "Intent bucket × track",
}
TOTAL = ("*", "*")
# The layout of FunnelSnapshot.payload (funnel_parts_by). Bump it whenever a query's rows change
# shape or meaning: stored snapshots of another version are then recomputed, never misread.
PAYLOAD_VERSION = 3
# The one FunnelSnapshot row: its rows are at the finest grain and serve every group-by.
SNAPSHOT_KEY = "all"
# A weekly cohort's conversion window by default (SPEC A9), and the form's bounds.
DEFAULT_WINDOW_DAYS = 14
MAX_WINDOW_DAYS = 180
# The survey question answered on a 1-5 scale: its distribution also gets a mean.
SCALE_QUESTION = "clarity"


def stopped_q(key: str) -> Q:
    """Reached step `key` but not the next one: the drop-off after `key`."""
    index = [s.key for s in STEPS].index(key)
    q = STEPS[index].q
    if index + 1 < len(STEPS):
        q &= ~STEPS[index + 1].q
    return q


def filled_q(strategy_type: str) -> Q:
    """Filled at least one paper trade of this strategy (the funnel's per-strategy split)."""
    return Q(pk__in=PaperTrade.objects.filter(strategy_type=strategy_type).values("progress_id"))


@dataclass(frozen=True)
class IssuedRange:
    """Token-issue dates, both ends inclusive, UTC days; either end may be open.

    The range is built once (`conditions`) and rendered twice: as a Q for the ORM queries and
    the changelist filter, and as a WHERE clause for the funnel's raw SQL.
    """

    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def is_open(self) -> bool:
        """No date at all: the whole programme (the page then reads the snapshot)."""
        return self.start is None and self.end is None

    def conditions(self) -> list[tuple[str, dt.datetime]]:
        """(lookup, bound) on the issue time: half-open datetimes rather than created_at::date,
        so the index on created_at serves them."""
        out = []
        if self.start:
            out.append(("gte", dt.datetime.combine(self.start, dt.time(), dt.UTC)))
        if self.end:
            out.append(("lt", dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC)))
        return out

    def q(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}created_at__{lookup}": bound for lookup, bound in self.conditions()})

    def sql(self, alias: str) -> tuple[str, list]:
        """The same range as `WHERE <alias>.created_at ...` with parameters ("" when open)."""
        conditions = self.conditions()
        if not conditions:
            return "", []
        where = " AND ".join(f"{alias}.created_at {_SQL_OPERATORS[lookup]} %s" for lookup, _ in conditions)
        return f"WHERE {where}", [connection.ops.adapt_datetimefield_value(b) for _, b in conditions]

    @property
    def label(self) -> str:
        if self.is_open:
            return "all"
        return f"{self.start or 'start'}_to_{self.end or 'today'}"


_SQL_OPERATORS = {"gte": ">=", "lt": "<"}


def scenario_served(bucket: str, arm: str) -> str:
    """The scenario a tester's stored bucket and arm mean (SPEC W5, F8): the bucket's own for a
    routed tester, the iron condor for the holdout and for a tester with no arm (the door was
    answered while routing was off, or not yet)."""
    if arm == RoutingArm.ROUTED and bucket in scenarios.buckets():
        return scenarios.buckets()[bucket].scenario
    return scenarios.DEFAULT_SCENARIO


def scenario_choices() -> list[tuple[str, str]]:
    names = dict.fromkeys([scenarios.DEFAULT_SCENARIO, *(b.scenario for b in scenarios.buckets().values())])
    return [(name, StrategyType(name).label) for name in names]


@dataclass(frozen=True)
class Filters:
    """The page's narrowing (SPEC A9): one bucket, track, scenario served and routing arm.

    Bucket and arm take NOT_SET for NULL. Applied to the finest-grain rows in Python (`keeps`),
    to the changelist as query parameters, and to SQL where percentiles need it (`sql`).
    """

    bucket: str | None = None
    track: str | None = None
    scenario: str | None = None
    arm: str | None = None

    @property
    def is_empty(self) -> bool:
        return not (self.bucket or self.track or self.scenario or self.arm)

    def keeps(self, bucket: str, track: str, arm: str) -> bool:
        """Does a finest-grain (bucket, track, arm) group pass? NULLs come as NOT_SET."""
        return (
            (self.bucket is None or bucket == self.bucket)
            and (self.track is None or track == self.track)
            and (self.arm is None or arm == self.arm)
            and (self.scenario is None or scenario_served(bucket, arm) == self.scenario)
        )

    def q(self) -> Q:
        q = Q()
        if self.bucket:
            q &= Q(intent_bucket__isnull=True) if self.bucket == NOT_SET else Q(intent_bucket=self.bucket)
        if self.track:
            q &= Q(track=self.track)
        if self.arm:
            q &= Q(routing_arm__isnull=True) if self.arm == NOT_SET else Q(routing_arm=self.arm)
        if self.scenario:
            q &= self._scenario_q()
        return q

    def _scenario_q(self) -> Q:
        routed = [b.value for b in scenarios.buckets().values() if b.scenario == self.scenario]
        q = Q(routing_arm=RoutingArm.ROUTED, intent_bucket__in=routed)
        if self.scenario == scenarios.DEFAULT_SCENARIO:
            q |= (
                Q(routing_arm__isnull=True)
                | ~Q(routing_arm=RoutingArm.ROUTED)
                | Q(intent_bucket__isnull=True)
            )
        return q

    def sql(self, alias: str) -> tuple[list[str], list]:
        """The same conditions for raw SQL: fragments to AND together, and their parameters."""
        where, params = [], []
        for column, value in ((f"{alias}.intent_bucket", self.bucket), (f"{alias}.routing_arm", self.arm)):
            if value == NOT_SET:
                where.append(f"{column} IS NULL")
            elif value:
                where.append(f"{column} = %s")
                params.append(value)
        if self.track:
            where.append(f"{alias}.track = %s")
            params.append(self.track)
        if self.scenario:
            routed = [b.value for b in scenarios.buckets().values() if b.scenario == self.scenario] or [""]
            clause = (
                f"({alias}.routing_arm = %s AND {alias}.intent_bucket IN ({', '.join(['%s'] * len(routed))}))"
            )
            params += [RoutingArm.ROUTED, *routed]
            if self.scenario == scenarios.DEFAULT_SCENARIO:
                clause += (
                    f" OR {alias}.routing_arm IS NULL OR {alias}.routing_arm <> %s"
                    f" OR {alias}.intent_bucket IS NULL"
                )
                params.append(RoutingArm.ROUTED)
            where.append(f"({clause})")
        return where, params

    def query(self) -> dict[str, str]:
        """The page's query parameters for these filters (links keep them)."""
        names = {"bucket": self.bucket, "track": self.track, "scenario": self.scenario, "arm": self.arm}
        return {name: value for name, value in names.items() if value}


def _where(issued: IssuedRange, filters: Filters, alias: str = "p") -> tuple[str, list]:
    """The date range and the filters as one WHERE clause for the funnel's raw SQL."""
    range_sql, params = issued.sql(alias)
    where = [range_sql.removeprefix("WHERE ")] if range_sql else []
    more, more_params = filters.sql(alias)
    where += more
    return (f"WHERE {' AND '.join(where)}" if where else ""), [*params, *more_params]


@dataclass
class Timing:
    timed: int = 0
    median: float | None = None  # seconds from token issue
    p90: float | None = None


@dataclass(frozen=True)
class Rate:
    """`reached` of `n` (SPEC A9): the rate, its 95 % Wilson interval, and whether the sample
    is large enough to compare (more than five testers on each side)."""

    reached: int
    n: int

    @property
    def rate(self) -> float | None:
        return self.reached / self.n if self.n else None

    @property
    def interval(self) -> stats.Interval | None:
        return stats.wilson(successes=self.reached, n=self.n)

    @property
    def enough(self) -> bool:
        return stats.enough_to_compare(successes=self.reached, n=self.n)


@dataclass
class StepCell:
    step: Step
    reached: int
    conversion: float | None  # % of the previous step's testers; None for the first step
    dropped: int | None
    timing: Timing
    strategies: list[tuple[str, int]] = field(default_factory=list)  # trade step only
    # reached of the previous step's testers (the first step: of the row's testers)
    rate: Rate = Rate(0, 0)


@dataclass
class SurveyQuestion:
    id: str
    answered: int
    answers: list[tuple[str, str, int, float]]  # value, label, count, %
    mean: float | None = None
    prompt: str = ""


@dataclass
class FunnelRow:
    key: tuple[str, str]  # (bucket or NOT_SET or "*", track or "*")
    label: str
    testers: int
    steps: list[StepCell]
    overall: float | None  # survey completed / testers, %
    survey: list[SurveyQuestion]

    @property
    def is_total(self) -> bool:
        return self.key == TOTAL


@dataclass
class WeekRow:
    year: int
    week: int
    monday: dt.date
    testers: int
    completed: int  # completed the survey within the conversion window
    maturing: bool = False  # the window has not passed yet for every tester of the week

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def completion(self) -> float | None:
        return pct(self.completed, self.testers)

    @property
    def rate(self) -> Rate:
        return Rate(self.completed, self.testers)


@dataclass
class ArmStep:
    """One step of the routed-vs-holdout comparison of one bucket (SPEC A9, F8)."""

    step: Step
    routed: Rate
    holdout: Rate

    @property
    def difference(self) -> stats.Difference | None:
        return stats.newcombe_difference(
            successes1=self.routed.reached,
            n1=self.routed.n,
            successes2=self.holdout.reached,
            n2=self.holdout.n,
        )

    @property
    def enough(self) -> bool:
        return self.routed.enough and self.holdout.enough


@dataclass
class RoutingEffect:
    """The effect of routing for one bucket: its routed testers against its holdout."""

    bucket: str
    label: str
    routed: int
    holdout: int
    steps: list[ArmStep]


@dataclass
class SampleRatioCheck:
    """The observed routed/holdout split against R's configured percentage (SPEC A9)."""

    percent: int  # R's effective rollout now: 0 when off, 100 when on for everyone
    routed: int
    holdout: int
    result: stats.SampleRatio | None  # None when it cannot be tested (see stats.sample_ratio)

    @property
    def mismatch(self) -> bool:
        return self.result is not None and self.result.mismatch


@dataclass
class Funnel:
    by: str
    issued: IssuedRange
    rows: list[FunnelRow]
    weeks: list[WeekRow]
    # None: computed live for this request; else the time of the beat-refreshed snapshot the
    # numbers come from (exact as of then; see FunnelSnapshot and docs/backoffice.md).
    as_of: dt.datetime | None = None
    filters: Filters = Filters()
    window_days: int = DEFAULT_WINDOW_DAYS
    effects: list[RoutingEffect] = field(default_factory=list)
    sample_ratio: SampleRatioCheck | None = None
    # Per step with a screen: the histogram's counts over the whole selection (timing.EDGES).
    histograms: dict[str, list[int]] = field(default_factory=dict)

    @property
    def total(self) -> FunnelRow:
        return self.rows[-1]

    @property
    def is_empty(self) -> bool:
        return self.total.testers == 0


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _group_keys(by: str) -> list[tuple[str, str]]:
    buckets = [*scenarios.buckets(), NOT_SET]
    if by == "intent_bucket":
        return [(b, "*") for b in buckets]
    if by == "track":
        return [("*", t) for t in Track.values]
    return [(b, t) for b in buckets for t in Track.values]


def _label(key: tuple[str, str]) -> str:
    if key == TOTAL:
        return "Total"
    parts = []
    if key[0] != "*":
        parts.append(bucket_label(key[0]))
    if key[1] != "*":
        parts.append(Track(key[1]).label)
    return " × ".join(parts)


def _project(by: str, bucket: str, track: str) -> tuple[str, str]:
    """The row a finest-grain (bucket, track) pair adds to under this group-by."""
    if by == "intent_bucket":
        return bucket, "*"
    if by == "track":
        return "*", track
    return bucket, track


def _grain(item: dict, prefix: str = "") -> tuple[str, str, str]:
    """A finest-grain row's (bucket, track, arm), NULLs as NOT_SET."""
    return (
        item[f"{prefix}intent_bucket"] or NOT_SET,
        item[f"{prefix}track"],
        item[f"{prefix}routing_arm"] or NOT_SET,
    )


def _kept(rows: list[dict], filters: Filters, prefix: str = "") -> list[tuple[tuple[str, str, str], dict]]:
    return [(grain, item) for item in rows if filters.keeps(*(grain := _grain(item, prefix)))]


# --- the queries ------------------------------------------------------------------------------
# Every query returns rows at the finest grain (bucket, track, routing arm): they add up to any
# group-by, and any filter is a choice of rows (Filters.keeps). Only percentiles do not add up:
# those are computed for every combination of the three (GROUPING SETS) and looked up.

GRAIN = ("intent_bucket", "track", "routing_arm")


def _count_rows(testers) -> list[dict]:
    """Query 1: testers and testers per step, per (bucket, track, arm), in one GROUP BY."""
    aggregates = {s.key: Count("id", filter=s.q) if s.q else Count("id") for s in STEPS}
    return list(testers.values(*GRAIN).annotate(**aggregates).order_by())


def _counts(by: str, rows: list[dict], filters: Filters) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    for (bucket, track, _), item in _kept(rows, filters):
        for key in (_project(by, bucket, track), TOTAL):
            row = out.setdefault(key, dict.fromkeys([s.key for s in STEPS], 0))
            for s in STEPS:
                row[s.key] += item[s.key]
    return out


def _per_tester(issued: IssuedRange) -> bool:
    """A date range on PostgreSQL: drive the query from the range's testers (index range on
    wt_progress_created) and probe each one's rows by index (LATERAL), instead of the hash join
    over the whole child table the planner picks from its estimates (measured in
    docs/performance.md). Unbounded, the hash join over every row is the cheaper plan, and
    SQLite has no LATERAL."""
    return connection.vendor == "postgresql" and not issued.is_open


def _fetch(sql: str, params: list, *, work_mem: str | None = None) -> list[tuple]:
    # Where the ORM's reads of the same tables go: the replica for an analyst's page (SPEC O2).
    with connections[router.db_for_read(Progress)].cursor() as cursor:
        if work_mem is None:
            cursor.execute(sql, params)
            return cursor.fetchall()
        # One round trip, one implicit transaction: SET LOCAL ends with it, so nothing outlives
        # the statement behind a transaction-mode pooler (SPEC O1).
        cursor.execute(f"SET LOCAL work_mem = '{work_mem}'; {sql}", params)
        cursor.nextset()  # past the SET's empty result
        return cursor.fetchall()


def _strategy_rows(issued: IssuedRange) -> list[dict]:
    """Query 2: testers with at least one trade of each strategy (re-fills don't inflate)."""
    if _per_tester(issued):
        where, params = issued.sql("p")
        # DISTINCT per tester: testers with at least one trade of the strategy, as COUNT(DISTINCT).
        # The index-only probe is wt_trade_progress_strategy.
        sql = f"""
            SELECT p.intent_bucket, p.track, p.routing_arm, t.strategy_type, COUNT(*)
            FROM {Progress._meta.db_table} p
            CROSS JOIN LATERAL (
                SELECT DISTINCT t.strategy_type FROM {PaperTrade._meta.db_table} t
                WHERE t.progress_id = p.id
            ) t
            {where}
            GROUP BY p.intent_bucket, p.track, p.routing_arm, t.strategy_type"""  # noqa: S608 -- fixed fragments; dates are parameters
        return [
            {**dict(zip(GRAIN, (b, tr, arm), strict=True)), "strategy_type": st, "n": n}
            for b, tr, arm, st, n in _fetch(sql, params)
        ]
    rows = (
        PaperTrade.objects.filter(issued.q("progress__"))
        .values(*[f"progress__{g}" for g in GRAIN], "strategy_type")
        .annotate(n=Count("progress", distinct=True))
        .order_by()
    )
    return [
        {**{g: item[f"progress__{g}"] for g in GRAIN}, "strategy_type": item["strategy_type"], "n": item["n"]}
        for item in rows
    ]


def _answer_rows(issued: IssuedRange) -> list[dict]:
    """Query 3: answers per (bucket, track, arm, question, answer)."""
    if _per_tester(issued):
        where, params = issued.sql("p")
        # OFFSET 0 keeps the subquery a per-tester index probe (the unique (progress, question)
        # index) rather than letting the planner flatten it back into a hash join.
        sql = f"""
            SELECT p.intent_bucket, p.track, p.routing_arm, a.question_id, a.answer, COUNT(*)
            FROM {Progress._meta.db_table} p
            CROSS JOIN LATERAL (
                SELECT a.question_id, a.answer FROM {SurveyAnswer._meta.db_table} a
                WHERE a.progress_id = p.id OFFSET 0
            ) a
            {where}
            GROUP BY p.intent_bucket, p.track, p.routing_arm, a.question_id, a.answer"""  # noqa: S608 -- as above
        return [
            {**dict(zip(GRAIN, (b, tr, arm), strict=True)), "question_id": q, "answer": a, "n": n}
            for b, tr, arm, q, a, n in _fetch(sql, params)
        ]
    rows = (
        SurveyAnswer.objects.filter(issued.q("progress__"))
        .values(*[f"progress__{g}" for g in GRAIN], "question_id", "answer")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [
        {**{g: item[f"progress__{g}"] for g in GRAIN}, **{k: item[k] for k in ("question_id", "answer", "n")}}
        for item in rows
    ]


def _strategies(by: str, rows: list[dict], filters: Filters) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    for (bucket, track, _), item in _kept(rows, filters):
        for key in (_project(by, bucket, track), TOTAL):
            row = out.setdefault(key, {})
            row[item["strategy_type"]] = row.get(item["strategy_type"], 0) + item["n"]
    return out


def _survey(by: str, rows: list[dict], filters: Filters) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    out: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for (bucket, track, _), item in _kept(rows, filters):
        for key in (_project(by, bucket, track), TOTAL):
            answers = out.setdefault(key, {}).setdefault(item["question_id"], {})
            answers[item["answer"]] = answers.get(item["answer"], 0) + item["n"]
    return out


DIMS = ("bucket", "track", "arm")
# Every subset of the three dimensions, as (bucket, track, arm) flags: GROUPING SETS (PostgreSQL)
# or a cross join with this table (SQLite). A group-by and the bucket/track/arm filters then
# name one of these sets, so the snapshot serves them all; only a scenario filter (a union of
# (bucket, arm) cells) needs its own query.
_SETS = [(b, t, a) for b in (1, 0) for t in (1, 0) for a in (1, 0)]


def sets_for(by: str, filters: Filters) -> list[tuple[int, int, int]]:
    """The two sets one page reads (_timing_key): its rows' (the group-by's dimensions and the
    filtered ones) and its total's (the filtered ones). A live page computes only these: every
    set sorts every (tester, screen) of the range once more."""
    total = (int(bool(filters.bucket)), int(bool(filters.track)), int(bool(filters.arm)))
    rows = (
        total[0] | int(by in ("intent_bucket", "bucket_track")),
        total[1] | int(by in ("track", "bucket_track")),
        total[2],
    )
    return [rows] if rows == total else [rows, total]


def _timings_sql(issued: IssuedRange, filters: Filters, sets: list | None = None) -> tuple[str, list]:
    """Query 4: median and p90 of (first event of each screen - token issue), per group.

    `firsts` is one row per (tester, screen): the first event's delay, read in order from the
    index wt_event_progress_screen_at (for a range on PostgreSQL, one probe per tester of the
    range). PostgreSQL then takes percentile_cont(ARRAY[0.5, 0.9]) (one sort for both) for every
    combination of bucket, track and arm in one pass (GROUPING SETS). SQLite has no percentile
    aggregate: it ranks with window functions and interpolates as percentile_cont does.
    """
    firsts, params = _firsts_cte(issued, filters)
    if connection.vendor == "postgresql":
        return f"{firsts}\n{_percentiles_select_postgres(sets=sets)}", params
    return _percentiles_sqlite(firsts), params


def _firsts_cte(issued: IssuedRange, filters: Filters) -> tuple[str, list]:
    """`WITH firsts AS (...)`: bucket, track, arm, screen and delay `d` of each tester's first
    event per screen (NULL bucket and arm as NOT_SET)."""
    events, progress = ScreenEvent._meta.db_table, Progress._meta.db_table
    where_sql, params = _where(issued, filters)
    keys = (
        f"COALESCE(p.intent_bucket, '{NOT_SET}') AS bucket, p.track AS track, "
        f"COALESCE(p.routing_arm, '{NOT_SET}') AS arm"
    )
    if _per_tester(issued):
        # A range: each tester's first event per screen from an index-only probe of
        # wt_event_progress_screen_at, instead of a hash join over every event (_per_tester).
        sql = f"""
        WITH firsts AS (
            SELECT {keys}, f.screen AS screen,
                   EXTRACT(EPOCH FROM (f.first_at - p.created_at))::double precision AS d
            FROM {progress} p
            CROSS JOIN LATERAL (
                SELECT e.screen, MIN(e.created_at) AS first_at FROM {events} e
                WHERE e.progress_id = p.id GROUP BY e.screen
            ) f
            {where_sql}
        )"""  # noqa: S608 -- only table names and fixed fragments; values are parameters
        return sql, params
    if connection.vendor == "postgresql":
        # EXTRACT gives numeric: as double precision, the sorts and bin comparisons of every
        # (tester, screen) cost a fraction (percentile_cont reads doubles anyway).
        delay = "EXTRACT(EPOCH FROM (MIN(e.created_at) - p.created_at))::double precision"
    else:
        delay = "((julianday(MIN(e.created_at)) - julianday(p.created_at)) * 86400.0)"
    # Grouped by p.id (the primary key), so the tester's bucket, track and issue time may be read.
    sql = f"""
        WITH firsts AS (
            SELECT {keys}, e.screen AS screen, {delay} AS d
            FROM {events} e JOIN {progress} p ON p.id = e.progress_id
            {where_sql}
            GROUP BY p.id, e.screen
        )"""  # noqa: S608 -- as above
    return sql, params


def _percentiles_select_postgres(*, tag: str = "", sets: list | None = None) -> str:
    """Every combination of the dimensions in one pass (GROUPING SETS), one sort for both
    percentiles per set. `tag`: a leading literal column, for a UNION with another select."""
    sets = sets or _SETS
    grouping = ", ".join(
        "(" + ", ".join([*(d for d, used in zip(DIMS, flags, strict=True) if used), "screen"]) + ")"
        for flags in sets
    )
    # GROUPING() takes only a dimension some set groups by; one no set uses is always summed over.
    used = [any(flags[i] for flags in sets) for i in range(len(DIMS))]
    keys = ", ".join(
        f"CASE WHEN GROUPING({d}) = 1 THEN '*' ELSE {d} END" if grouped else "'*'"
        for d, grouped in zip(DIMS, used, strict=True)
    )
    lead = f"'{tag}', " if tag else ""
    tail = ", NULL::integer" if tag else ""
    middle = "percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY d)"
    return f"""
        SELECT {lead}{keys}, screen, COUNT(*), {middle}{tail}
        FROM firsts
        GROUP BY GROUPING SETS ({grouping})"""  # noqa: S608


def _interpolated(p: float) -> str:
    """percentile_cont by hand over `ranked`: position p * (n - 1), linear between neighbours."""
    pos = f"((n - 1) * {p})"
    lo = f"CAST({pos} AS INTEGER)"
    at_lo = f"MAX(CASE WHEN rn = {lo} THEN d END)"
    at_hi = f"COALESCE(MAX(CASE WHEN rn = {lo} + 1 THEN d END), {at_lo})"
    return f"{at_lo} + MAX({pos} - {lo}) * ({at_hi} - {at_lo})"


def _percentiles_sqlite(firsts: str) -> str:
    """Window-function ranks over every row once per combination (a cross join with _SETS)."""
    sets = " UNION ALL ".join(f"SELECT {b} AS b, {t} AS t, {a} AS a" for b, t, a in _SETS)
    return f"""{firsts},
        durs AS (
            SELECT CASE WHEN g.b = 1 THEN f.bucket ELSE '*' END AS k1,
                   CASE WHEN g.t = 1 THEN f.track ELSE '*' END AS k2,
                   CASE WHEN g.a = 1 THEN f.arm ELSE '*' END AS k3, f.screen AS screen, f.d AS d
            FROM firsts f CROSS JOIN ({sets}) g
        ),
        ranked AS (
            SELECT k1, k2, k3, screen, d,
                   ROW_NUMBER() OVER (PARTITION BY k1, k2, k3, screen ORDER BY d) - 1 AS rn,
                   COUNT(*) OVER (PARTITION BY k1, k2, k3, screen) AS n
            FROM durs
        )
        SELECT k1, k2, k3, screen, MAX(n), {_interpolated(0.5)}, {_interpolated(0.9)}
        FROM ranked GROUP BY k1, k2, k3, screen"""  # noqa: S608


def _timing_rows(issued: IssuedRange, filters: Filters, sets: list | None = None) -> list[list]:
    """(bucket, track, arm, screen, timed, median, p90), "*" for a dimension summed over."""
    sql, params = _timings_sql(issued, filters, sets)
    rows = _fetch(sql, params)
    if connection.vendor == "postgresql":
        return [[*keys, screen, n, *(pair or (None, None))] for *keys, screen, n, pair in rows]
    return [list(row) for row in rows]


def _timings(rows: list[list]) -> dict[tuple[str, str, str, int], Timing]:
    return {
        (k1, k2, k3, screen): Timing(timed=n, median=_seconds(median), p90=_seconds(p90))
        for k1, k2, k3, screen, n, median, p90 in rows
    }


def _timing_key(key: tuple[str, str], filters: Filters, screen: int) -> tuple[str, str, str, int]:
    """The grouping set holding a row's times: the row's own dimensions, plus the filtered ones."""
    bucket = key[0] if key[0] != "*" else (filters.bucket or "*")
    track = key[1] if key[1] != "*" else (filters.track or "*")
    return bucket, track, filters.arm or "*", screen


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _histogram_rows(issued: IssuedRange) -> list[list]:
    """Query 5: testers per (bucket, track, arm, screen, time bin) of their first event: bins add
    up, so any filter's picture is a sum of these rows (walkthrough.timing)."""
    firsts, params = _firsts_cte(issued, Filters())
    sql = f"""{firsts}
        SELECT bucket, track, arm, screen, {timing.bin_case_sql("d")} AS bin, COUNT(*)
        FROM firsts GROUP BY bucket, track, arm, screen, bin"""  # noqa: S608 -- fixed fragments
    return [list(row) for row in _fetch(sql, params)]


# A sort of every (tester, screen) of a range (50k rows for a week at a million testers) fits in
# this much memory; at the default 4 MB it spilled to disk (docs/performance.md).
TIMES_WORK_MEM = "32MB"


def _times_rows(
    issued: IssuedRange, filters: Filters, sets: list | None = None
) -> tuple[list[list], list[list]]:
    """Queries 4 and 5, (timing rows, histogram rows). On PostgreSQL without a scenario filter
    they read the same `firsts`, so one statement computes it once (one index probe per tester
    of a range, not two) and answers both, its sorts in memory."""
    if connection.vendor != "postgresql" or filters.scenario:
        return _timing_rows(issued, filters, sets), _histogram_rows(issued)
    firsts, params = _firsts_cte(issued, Filters())
    firsts = firsts.replace("WITH firsts AS (", "WITH firsts AS MATERIALIZED (", 1)
    sql = f"""{firsts}
        {_percentiles_select_postgres(tag="t", sets=sets)}
        UNION ALL
        SELECT 'h', bucket, track, arm, screen, COUNT(*), NULL::double precision[],
               {timing.bin_case_sql("d")} AS bin
        FROM firsts GROUP BY bucket, track, arm, screen, bin"""  # noqa: S608 -- fixed fragments
    timings, histogram = [], []
    for tag, *keys, screen, n, pair, bin_index in _fetch(sql, params, work_mem=TIMES_WORK_MEM):
        if tag == "t":
            timings.append([*keys, screen, n, *(pair or (None, None))])
        else:
            histogram.append([*keys, screen, bin_index, n])
    return timings, histogram


def _histograms(rows: list[list], filters: Filters) -> dict[str, list[int]]:
    screens = {s.screen: s.key for s in STEPS if s.screen}
    out = {key: [0] * (len(timing.EDGES) + 1) for key in screens.values()}
    for bucket, track, arm, screen, index, n in rows:
        if screen in screens and filters.keeps(bucket, track, arm):
            out[screens[screen]][index] += n
    return out


def _week_rows(testers, window_days: int) -> list[list]:
    """Query 6: per ISO week of token issue (Monday, UTC) and finest-grain group: testers, how
    many completed within the conversion window, and the week's last issue (for "maturing")."""
    in_window = Q(
        completed_at__isnull=False, completed_at__lte=F("created_at") + dt.timedelta(days=window_days)
    )
    rows = (
        testers.annotate(monday=TruncWeek("created_at"))
        .values("monday", *GRAIN)
        .annotate(testers=Count("id"), completed=Count("id", filter=in_window), last=Max("created_at"))
        .order_by("monday")
    )
    out = []
    for item in rows:
        monday = item["monday"].date() if isinstance(item["monday"], dt.datetime) else item["monday"]
        grain = _grain(item)
        out.append([monday.isoformat(), *grain, item["testers"], item["completed"], item["last"].isoformat()])
    return out


def _weeks(rows: list[list], filters: Filters, *, window_days: int, now: dt.datetime) -> list[WeekRow]:
    weeks: dict[str, list] = {}
    for monday_iso, bucket, track, arm, testers, completed, last in rows:
        if not filters.keeps(bucket, track, arm):
            continue
        week = weeks.setdefault(monday_iso, [0, 0, last])
        week[0] += testers
        week[1] += completed
        week[2] = max(week[2], last)
    out = []
    for monday_iso in sorted(weeks):
        testers, completed, last = weeks[monday_iso]
        monday = dt.date.fromisoformat(monday_iso)
        year, number, _ = monday.isocalendar()
        maturing = dt.datetime.fromisoformat(last) + dt.timedelta(days=window_days) > now
        out.append(WeekRow(year, number, monday, testers, completed, maturing))
    return out


# --- assembly --------------------------------------------------------------------------------


def _survey_questions(answers: dict[str, dict[str, int]]) -> list[SurveyQuestion]:
    out = []
    for question in scenarios.survey()["questions"]:
        counts = answers.get(question["id"], {})
        answered = sum(counts.values())
        choices = [
            (
                c["value"],
                c["label"],
                counts.get(c["value"], 0),
                pct(counts.get(c["value"], 0), answered) or 0.0,
            )
            for c in question["choices"]
        ]
        mean = None
        if question["id"] == SCALE_QUESTION and answered:
            mean = round(sum(int(v) * n for v, _, n, _ in choices) / answered, 2)
        out.append(SurveyQuestion(question["id"], answered, choices, mean, question.get("prompt", "")))
    return out


def funnel_parts(
    *,
    issued: IssuedRange,
    filters: Filters | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    sets: list | None = None,
) -> dict:
    """The queries' rows as JSON-able lists, and PAYLOAD_VERSION: a FunnelSnapshot's payload.

    Every query is at the finest grain and unfiltered, except the percentiles, which take the
    filters when they cannot be looked up (a scenario filter; see _SETS), and only `sets` of
    them for a live page (sets_for; a snapshot keeps every set)."""
    filters = filters or Filters()
    testers = Progress.objects.filter(issued.q())
    timings, histogram = _times_rows(issued, Filters(scenario=filters.scenario), sets)
    return {
        "version": PAYLOAD_VERSION,
        "counts": _count_rows(testers),
        "strategies": _strategy_rows(issued),
        "answers": _answer_rows(issued),
        "timings": timings,
        "histogram": histogram,
        "weeks": _week_rows(testers, window_days),
        "window_days": window_days,
    }


def funnel_report(
    *,
    by: str = "intent_bucket",
    issued: IssuedRange | None = None,
    filters: Filters | None = None,
    window_days: int = DEFAULT_WINDOW_DAYS,
    snapshot: bool = False,
) -> Funnel:
    """The whole funnel page (SPEC A2, A9): a fixed number of queries whatever the number of testers.

    snapshot=True (the page without a date range): the beat-refreshed FunnelSnapshot, one
    query, its numbers exact as of its `computed_at` (Funnel.as_of), whatever the group-by and
    the bucket, track and arm filters; a scenario filter recomputes only the percentiles, another
    conversion window only the weekly rows. Live queries when no snapshot of this
    PAYLOAD_VERSION exists yet. Any date range is always live.
    """
    if by not in GROUP_BY:
        raise ValueError(f"Group by one of {', '.join(GROUP_BY)}.")
    issued, filters = issued or IssuedRange(), filters or Filters()
    stored = None
    if snapshot and issued.is_open:
        stored = FunnelSnapshot.objects.filter(by=SNAPSHOT_KEY).first()
    if stored is None or not _readable(stored.payload):
        sets = sets_for(by, filters)
        parts = funnel_parts(issued=issued, filters=filters, window_days=window_days, sets=sets)
        return _assemble(by, issued, filters, parts, as_of=None)
    parts = dict(stored.payload)
    if filters.scenario:
        parts["timings"] = _timing_rows(issued, Filters(scenario=filters.scenario), sets_for(by, filters))
    if window_days != parts["window_days"]:
        parts["weeks"], parts["window_days"] = _week_rows(Progress.objects.all(), window_days), window_days
    return _assemble(by, issued, filters, parts, as_of=stored.computed_at)


def _readable(payload) -> bool:
    """A payload this release wrote; anything else (no version, another one) is recomputed."""
    return isinstance(payload, dict) and payload.get("version") == PAYLOAD_VERSION


def _assemble(
    by: str, issued: IssuedRange, filters: Filters, parts: dict, as_of: dt.datetime | None
) -> Funnel:
    counts = _counts(by, parts["counts"], filters)
    strategies = _strategies(by, parts["strategies"], filters)
    survey = _survey(by, parts["answers"], filters)
    timings = _timings(parts["timings"])
    rows = []
    for key in [*_group_keys(by), TOTAL]:
        reached = counts.get(key)
        if reached is None and key != TOTAL:
            continue  # an empty group is folded away (SPEC A9)
        reached = reached or dict.fromkeys([s.key for s in STEPS], 0)
        cells = _cells(key, reached, timings, strategies.get(key, {}), filters)
        rows.append(
            FunnelRow(
                key=key,
                label=_label(key),
                testers=reached["issued"],
                steps=cells,
                overall=pct(reached["survey"], reached["issued"]),
                survey=_survey_questions(survey.get(key, {})),
            )
        )
    now = as_of or timezone.now()
    return Funnel(
        by=by,
        issued=issued,
        rows=rows,
        weeks=_weeks(parts["weeks"], filters, window_days=parts["window_days"], now=now),
        as_of=as_of,
        filters=filters,
        window_days=parts["window_days"],
        effects=routing_effects(parts["counts"], filters),
        sample_ratio=sample_ratio_check(parts["counts"], filters),
        histograms=_histograms(parts["histogram"], filters),
    )


def _cells(
    key, reached: dict[str, int], timings, strategies: dict[str, int], filters: Filters
) -> list[StepCell]:
    cells = []
    for i, step in enumerate(STEPS):
        previous = reached[STEPS[i - 1].key] if i else reached[step.key]
        timing_key = _timing_key(key, filters, step.screen) if step.screen else None
        cells.append(
            StepCell(
                step=step,
                reached=reached[step.key],
                conversion=pct(reached[step.key], previous) if i else None,
                dropped=previous - reached[step.key] if i else None,
                timing=timings.get(timing_key, Timing()) if timing_key else Timing(),
                strategies=[(s, strategies.get(s, 0)) for s in StrategyType.values]
                if step.key == "trade"
                else [],
                rate=Rate(reached[step.key], previous),
            )
        )
    return cells


# --- routed vs holdout (SPEC A9, F8) ------------------------------------------------------------


def routing_effects(rows: list[dict], filters: Filters) -> list[RoutingEffect]:
    """Per bucket: its routed testers against its holdout, to each step after the door.

    Both arms are assigned at the door, so both counts start there and the rates are "reached
    this step, of the arm's testers of this bucket". Not shown under an arm or scenario filter
    (one side would be empty by construction)."""
    if filters.arm or filters.scenario:
        return []
    per: dict[str, dict[str, dict[str, int]]] = {}
    for (bucket, _, arm), item in _kept(rows, filters):
        if bucket == NOT_SET or arm not in RoutingArm.values:
            continue
        side = per.setdefault(bucket, {}).setdefault(arm, dict.fromkeys([s.key for s in STEPS], 0))
        for s in STEPS:
            side[s.key] += item[s.key]
    effects = []
    for bucket in scenarios.buckets():
        arms = per.get(bucket, {})
        routed, holdout = (arms.get(a, dict.fromkeys([s.key for s in STEPS], 0)) for a in RoutingArm.values)
        if not (routed["issued"] and holdout["issued"]):
            continue
        steps = [
            ArmStep(s, Rate(routed[s.key], routed["issued"]), Rate(holdout[s.key], holdout["issued"]))
            for s in STEPS[2:]
        ]
        effects.append(
            RoutingEffect(bucket, bucket_label(bucket), routed["issued"], holdout["issued"], steps)
        )
    return effects


def sample_ratio_check(rows: list[dict], filters: Filters) -> SampleRatioCheck:
    """The observed split of the testers with an arm against R's configured rollout now."""
    split = dict.fromkeys(RoutingArm.values, 0)
    for (_, _, arm), item in _kept(rows, filters):
        if arm in split:
            split[arm] += item["issued"]
    percent = flag_value(scenarios.ROUTING_FLAG).percent
    routed, holdout = split[RoutingArm.ROUTED], split[RoutingArm.HOLDOUT]
    result = None
    if not (filters.arm or filters.scenario):
        result = stats.sample_ratio(first=routed, second=holdout, expected_share=percent / 100)
    return SampleRatioCheck(percent, routed, holdout, result)


def headline() -> dict[str, int | float | None]:
    """The admin index's numbers: one aggregate over every tester."""
    agg = Progress.objects.aggregate(
        testers=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False))
    )
    return {**agg, "completion": pct(agg["completed"], agg["testers"])}


def duration(seconds: float | None) -> str:
    """How the page writes a time (walkthrough.timing.duration)."""
    return timing.duration(seconds)

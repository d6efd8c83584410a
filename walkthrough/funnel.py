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
(issue 11, docs/performance.md). The snapshot stores these same queries' rows (funnel_parts).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Count, Q
from django.db.models.functions import TruncWeek

from walkthrough import scenarios
from walkthrough.models import (
    FunnelSnapshot,
    IntentBucket,
    PaperTrade,
    Progress,
    ScreenEvent,
    StrategyType,
    SurveyAnswer,
    Track,
)


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    q: Q  # which testers reached it, from stored state (the changelist filter uses the same Q)
    screen: int | None  # the screen event that marks it (time to step); None for the issue


# In order; each step's testers are a subset of the previous step's (services only move
# current_screen forward; completing the survey sets current_screen to 5).
STEPS = (
    Step("issued", "Token issued", Q(), None),
    Step("door", "Door answered", Q(current_screen__gte=2), 1),
    Step("scenario", "Scenario continued", Q(current_screen__gte=3), 2),
    Step("trade", "Trade filled", Q(current_screen__gte=4), 3),
    Step("review", "Reviewed", Q(current_screen__gte=5), 4),
    Step("survey", "Survey completed", Q(completed_at__isnull=False), 5),
)
STEP_BY_KEY = {s.key: s for s in STEPS}
GROUP_BY = {
    "intent_bucket": "Intent bucket",
    "track": "Track",
    "bucket_track": "Intent bucket × track",
}
TOTAL = ("*", "*")
NOT_SET = "-"  # the key of a NULL intent bucket (no bucket value is "-" or "*")
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
    """Token-issue dates, both ends inclusive, UTC days; either end may be open."""

    start: dt.date | None = None
    end: dt.date | None = None

    @property
    def bounds(self) -> tuple[dt.datetime | None, dt.datetime | None]:
        # Half-open datetimes rather than created_at::date, so the index on created_at serves it.
        start = dt.datetime.combine(self.start, dt.time(), dt.UTC) if self.start else None
        end = dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC) if self.end else None
        return start, end

    def q(self, prefix: str = "") -> Q:
        start, end = self.bounds
        q = Q()
        if start:
            q &= Q(**{f"{prefix}created_at__gte": start})
        if end:
            q &= Q(**{f"{prefix}created_at__lt": end})
        return q

    @property
    def label(self) -> str:
        if not self.start and not self.end:
            return "all"
        return f"{self.start or 'start'}_to_{self.end or 'today'}"


@dataclass
class Timing:
    timed: int = 0
    median: float | None = None  # seconds from token issue
    p90: float | None = None


@dataclass
class StepCell:
    step: Step
    reached: int
    conversion: float | None  # % of the previous step's testers; None for the first step
    dropped: int | None
    timing: Timing
    strategies: list[tuple[str, int]] = field(default_factory=list)  # trade step only


@dataclass
class SurveyQuestion:
    id: str
    answered: int
    answers: list[tuple[str, str, int, float]]  # value, label, count, %
    mean: float | None = None


@dataclass
class FunnelRow:
    key: tuple[str, str]  # (bucket or "-" or "*", track or "*")
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
    completed: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def completion(self) -> float | None:
        return pct(self.completed, self.testers)


@dataclass
class Funnel:
    by: str
    issued: IssuedRange
    rows: list[FunnelRow]
    weeks: list[WeekRow]
    # None: computed live for this request; else the time of the beat-refreshed snapshot the
    # numbers come from (exact as of then; see FunnelSnapshot and docs/backoffice.md).
    as_of: dt.datetime | None = None

    @property
    def total(self) -> FunnelRow:
        return self.rows[-1]


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _bucket_label(value: str) -> str:
    if value == NOT_SET:
        return "Not set"
    return IntentBucket(value).label if value in IntentBucket.values else value


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
        parts.append(_bucket_label(key[0]))
    if key[1] != "*":
        parts.append(Track(key[1]).label)
    return " × ".join(parts)


def _project(by: str, bucket: str | None, track: str) -> tuple[str, str]:
    """The row a finest-grain (bucket, track) pair adds to under this group-by."""
    bucket = bucket if bucket is not None else NOT_SET
    if by == "intent_bucket":
        return bucket, "*"
    if by == "track":
        return "*", track
    return bucket, track


# --- the queries ------------------------------------------------------------------------------


def _count_rows(testers) -> list[dict]:
    """Query 1: testers and testers per step, per (bucket, track), in one GROUP BY."""
    aggregates = {s.key: Count("id", filter=s.q) if s.q else Count("id") for s in STEPS}
    return list(testers.values("intent_bucket", "track").annotate(**aggregates).order_by())


def _counts(by: str, rows: list[dict]) -> dict[tuple[str, str], dict[str, int]]:
    out: dict[tuple[str, str], dict[str, int]] = {}
    for item in rows:
        for key in (_project(by, item["intent_bucket"], item["track"]), TOTAL):
            row = out.setdefault(key, dict.fromkeys([s.key for s in STEPS], 0))
            for s in STEPS:
                row[s.key] += item[s.key]
    return out


def _per_tester(issued: IssuedRange) -> bool:
    """A date range on PostgreSQL: drive the query from the range's testers (index range on
    wt_progress_created) and probe each one's rows by index (LATERAL), instead of the hash join
    over the whole child table the planner picks from its estimates (issue 11: 7-day range at
    1M testers, trades 179 -> 30 ms, answers 282 -> 18 ms, first events 814 -> 104 ms).
    Unbounded, the hash join over every row is the cheaper plan, and SQLite has no LATERAL."""
    return connection.vendor == "postgresql" and (issued.start is not None or issued.end is not None)


def _range_where(issued: IssuedRange) -> tuple[str, list]:
    start, end = issued.bounds
    where, params = [], []
    if start:
        where.append("p.created_at >= %s")
        params.append(connection.ops.adapt_datetimefield_value(start))
    if end:
        where.append("p.created_at < %s")
        params.append(connection.ops.adapt_datetimefield_value(end))
    return (f"WHERE {' AND '.join(where)}" if where else ""), params


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _strategy_rows(issued: IssuedRange) -> list[dict]:
    if _per_tester(issued):
        where, params = _range_where(issued)
        # DISTINCT per tester: testers with at least one trade of the strategy, as COUNT(DISTINCT).
        # The index-only probe is wt_trade_progress_strategy.
        sql = f"""
            SELECT p.intent_bucket, p.track, t.strategy_type, COUNT(*)
            FROM {Progress._meta.db_table} p
            CROSS JOIN LATERAL (
                SELECT DISTINCT t.strategy_type FROM {PaperTrade._meta.db_table} t
                WHERE t.progress_id = p.id
            ) t
            {where}
            GROUP BY p.intent_bucket, p.track, t.strategy_type"""  # noqa: S608 -- fixed fragments; dates are parameters
        return [
            {"progress__intent_bucket": b, "progress__track": tr, "strategy_type": st, "n": n}
            for b, tr, st, n in _fetch(sql, params)
        ]
    return list(
        PaperTrade.objects.filter(issued.q("progress__"))
        .values("progress__intent_bucket", "progress__track", "strategy_type")
        .annotate(n=Count("progress", distinct=True))
        .order_by()
    )


def _answer_rows(issued: IssuedRange) -> list[dict]:
    if _per_tester(issued):
        where, params = _range_where(issued)
        # OFFSET 0 keeps the subquery a per-tester index probe (the unique (progress, question)
        # index) rather than letting the planner flatten it back into a hash join.
        sql = f"""
            SELECT p.intent_bucket, p.track, a.question_id, a.answer, COUNT(*)
            FROM {Progress._meta.db_table} p
            CROSS JOIN LATERAL (
                SELECT a.question_id, a.answer FROM {SurveyAnswer._meta.db_table} a
                WHERE a.progress_id = p.id OFFSET 0
            ) a
            {where}
            GROUP BY p.intent_bucket, p.track, a.question_id, a.answer"""  # noqa: S608 -- as above
        return [
            {"progress__intent_bucket": b, "progress__track": tr, "question_id": q, "answer": a, "n": n}
            for b, tr, q, a, n in _fetch(sql, params)
        ]
    return list(
        SurveyAnswer.objects.filter(issued.q("progress__"))
        .values("progress__intent_bucket", "progress__track", "question_id", "answer")
        .annotate(n=Count("id"))
        .order_by()
    )


def _strategies(by: str, rows: list[dict]) -> dict[tuple[str, str], dict[str, int]]:
    """Query 2: testers with at least one trade of each strategy (re-fills don't inflate)."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for item in rows:
        for key in (_project(by, item["progress__intent_bucket"], item["progress__track"]), TOTAL):
            row = out.setdefault(key, {})
            row[item["strategy_type"]] = row.get(item["strategy_type"], 0) + item["n"]
    return out


def _survey(by: str, rows: list[dict]) -> dict[tuple[str, str], dict[str, dict[str, int]]]:
    """Query 3: answers per (bucket, track, question, answer)."""
    out: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for item in rows:
        for key in (_project(by, item["progress__intent_bucket"], item["progress__track"]), TOTAL):
            answers = out.setdefault(key, {}).setdefault(item["question_id"], {})
            answers[item["answer"]] = answers.get(item["answer"], 0) + item["n"]
    return out


def _timings_sql(by: str, issued: IssuedRange) -> tuple[str, list]:
    """Query 4: median and p90 of (first event of each screen - token issue), per group.

    `firsts` is one row per (tester, screen): the first event's delay, read in order from the
    index wt_event_progress_screen_at (for a range on PostgreSQL, one probe per tester of the
    range). PostgreSQL then takes percentile_cont(ARRAY[0.5, 0.9]) (one sort for both) per
    group and for the total in one pass (GROUPING SETS). SQLite has no percentile aggregate: it ranks with
    window functions and interpolates as percentile_cont does (position p * (n - 1), linear
    between its neighbours), the total being every row again (a two-row cross join).
    """
    events, progress = ScreenEvent._meta.db_table, Progress._meta.db_table
    where_sql, params = _range_where(issued)
    postgres = connection.vendor == "postgresql"
    if postgres:
        delay = "EXTRACT(EPOCH FROM (MIN(e.created_at) - p.created_at))"
    else:
        delay = "((julianday(MIN(e.created_at)) - julianday(p.created_at)) * 86400.0)"
    # Grouped by p.id (the primary key), so the tester's bucket, track and issue time may be read.
    firsts = f"""
        WITH firsts AS (
            SELECT p.intent_bucket AS bucket, p.track AS track, e.screen AS screen, {delay} AS d
            FROM {events} e JOIN {progress} p ON p.id = e.progress_id
            {where_sql}
            GROUP BY p.id, e.screen
        )"""  # noqa: S608 -- only table names and fixed fragments; dates are parameters
    if _per_tester(issued):
        # A range: each tester's first event per screen from an index-only probe of
        # wt_event_progress_screen_at, instead of a hash join over every event (_per_tester).
        firsts = f"""
        WITH firsts AS (
            SELECT p.intent_bucket AS bucket, p.track AS track, f.screen AS screen,
                   EXTRACT(EPOCH FROM (f.first_at - p.created_at)) AS d
            FROM {progress} p
            CROSS JOIN LATERAL (
                SELECT e.screen, MIN(e.created_at) AS first_at FROM {events} e
                WHERE e.progress_id = p.id GROUP BY e.screen
            ) f
            {where_sql}
        )"""  # noqa: S608 -- as above
    by_bucket = by in {"intent_bucket", "bucket_track"}
    by_track = by in {"track", "bucket_track"}
    if postgres:
        columns = [c for c, used in (("bucket", by_bucket), ("track", by_track)) if used]
        k1 = (
            f"CASE WHEN GROUPING(bucket) = 1 THEN '*' ELSE COALESCE(bucket, '{NOT_SET}') END"
            if by_bucket
            else "'*'"
        )
        k2 = "CASE WHEN GROUPING(track) = 1 THEN '*' ELSE track END" if by_track else "'*'"
        sql = f"""{firsts}
            SELECT {k1}, {k2}, screen, COUNT(*),
                   percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY d)
            FROM firsts
            GROUP BY GROUPING SETS (({", ".join([*columns, "screen"])}), (screen))"""  # noqa: S608
        return sql, params

    k1 = f"COALESCE(f.bucket, '{NOT_SET}')" if by_bucket else "'*'"
    k2 = "f.track" if by_track else "'*'"

    def interpolated(p: float) -> str:
        pos = f"((n - 1) * {p})"
        lo = f"CAST({pos} AS INTEGER)"
        at_lo = f"MAX(CASE WHEN rn = {lo} THEN d END)"
        at_hi = f"COALESCE(MAX(CASE WHEN rn = {lo} + 1 THEN d END), {at_lo})"
        return f"{at_lo} + MAX({pos} - {lo}) * ({at_hi} - {at_lo})"

    sql = f"""{firsts},
        durs AS (
            SELECT CASE WHEN g.total = 1 THEN '*' ELSE {k1} END AS k1,
                   CASE WHEN g.total = 1 THEN '*' ELSE {k2} END AS k2, f.screen AS screen, f.d AS d
            FROM firsts f CROSS JOIN (SELECT 0 AS total UNION ALL SELECT 1 AS total) g
        ),
        ranked AS (
            SELECT k1, k2, screen, d,
                   ROW_NUMBER() OVER (PARTITION BY k1, k2, screen ORDER BY d) - 1 AS rn,
                   COUNT(*) OVER (PARTITION BY k1, k2, screen) AS n
            FROM durs
        )
        SELECT k1, k2, screen, MAX(n), {interpolated(0.5)}, {interpolated(0.9)}
        FROM ranked GROUP BY k1, k2, screen"""  # noqa: S608
    return sql, params


def _timing_rows(by: str, issued: IssuedRange) -> list[list]:
    """(k1, k2, screen, timed, median, p90) per group: one sort serves both percentiles."""
    sql, params = _timings_sql(by, issued)
    rows = _fetch(sql, params)
    if connection.vendor == "postgresql":
        return [[k1, k2, screen, n, *(pair or (None, None))] for k1, k2, screen, n, pair in rows]
    return [list(row) for row in rows]


def _timings(rows: list[list]) -> dict[tuple[tuple[str, str], int], Timing]:
    return {
        ((k1, k2), screen): Timing(timed=n, median=_seconds(median), p90=_seconds(p90))
        for k1, k2, screen, n, median, p90 in rows
    }


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 1)


def _week_rows(testers) -> list[list]:
    """Query 5: testers issued per ISO week (Monday, UTC) and how many of them completed."""
    rows = (
        testers.annotate(monday=TruncWeek("created_at"))
        .values("monday")
        .annotate(testers=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False)))
        .order_by("monday")
    )
    out = []
    for item in rows:
        monday = item["monday"].date() if isinstance(item["monday"], dt.datetime) else item["monday"]
        out.append([monday.isoformat(), item["testers"], item["completed"]])
    return out


def _weeks(rows: list[list]) -> list[WeekRow]:
    out = []
    for monday_iso, testers, completed in rows:
        monday = dt.date.fromisoformat(monday_iso)
        year, week, _ = monday.isocalendar()
        out.append(WeekRow(year, week, monday, testers, completed))
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
        out.append(SurveyQuestion(question["id"], answered, choices, mean))
    return out


def funnel_parts(*, by: str, issued: IssuedRange) -> dict[str, list]:
    """The five queries' rows, as JSON-able lists (what a FunnelSnapshot stores)."""
    return funnel_parts_by(bys=[by], issued=issued)[by]


def funnel_parts_by(*, bys: list[str], issued: IssuedRange) -> dict[str, dict[str, list]]:
    """funnel_parts for several group-bys: the four queries at the finest grain (bucket, track)
    run once and serve every group-by; only the times are a query per group-by (percentiles
    do not add up)."""
    for by in bys:
        if by not in GROUP_BY:
            raise ValueError(f"Group by one of {', '.join(GROUP_BY)}.")
    testers = Progress.objects.filter(issued.q())
    shared = {
        "counts": _count_rows(testers),
        "strategies": _strategy_rows(issued),
        "answers": _answer_rows(issued),
    }
    timings = {by: _timing_rows(by, issued) for by in bys}
    weeks = _week_rows(testers)
    return {by: {**shared, "timings": timings[by], "weeks": weeks} for by in bys}


def funnel_report(
    *, by: str = "intent_bucket", issued: IssuedRange | None = None, snapshot: bool = False
) -> Funnel:
    """The whole funnel page: five queries whatever the number of testers (SPEC A2).

    snapshot=True (the page without a date range): the beat-refreshed FunnelSnapshot of this
    group-by, one query, its numbers exact as of its `computed_at` (Funnel.as_of); five live
    queries only when no snapshot exists yet. Any date range is always live.
    """
    if by not in GROUP_BY:
        raise ValueError(f"Group by one of {', '.join(GROUP_BY)}.")
    issued = issued or IssuedRange()
    stored = None
    if snapshot and issued.start is None and issued.end is None:
        stored = FunnelSnapshot.objects.filter(by=by).first()
    if stored is not None:
        return _assemble(by, issued, stored.payload, as_of=stored.computed_at)
    return _assemble(by, issued, funnel_parts(by=by, issued=issued))


def _assemble(by: str, issued: IssuedRange, parts: dict, as_of: dt.datetime | None = None) -> Funnel:
    counts = _counts(by, parts["counts"])
    strategies = _strategies(by, parts["strategies"])
    survey = _survey(by, parts["answers"])
    timings = _timings(parts["timings"])
    weeks = _weeks(parts["weeks"])

    rows = []
    for key in [*_group_keys(by), TOTAL]:
        reached = counts.get(key, dict.fromkeys([s.key for s in STEPS], 0))
        cells = []
        for i, step in enumerate(STEPS):
            previous = reached[STEPS[i - 1].key] if i else None
            cells.append(
                StepCell(
                    step=step,
                    reached=reached[step.key],
                    conversion=pct(reached[step.key], previous) if i else None,
                    dropped=previous - reached[step.key] if i else None,
                    timing=timings.get((key, step.screen), Timing()) if step.screen else Timing(),
                    strategies=[(s, strategies.get(key, {}).get(s, 0)) for s in StrategyType.values]
                    if step.key == "trade"
                    else [],
                )
            )
        testers_n = reached["issued"]
        rows.append(
            FunnelRow(
                key=key,
                label=_label(key),
                testers=testers_n,
                steps=cells,
                overall=pct(reached["survey"], testers_n),
                survey=_survey_questions(survey.get(key, {})),
            )
        )
    return Funnel(by=by, issued=issued, rows=rows, weeks=weeks, as_of=as_of)


def headline() -> dict[str, int | float | None]:
    """The admin index's numbers: one aggregate over every tester."""
    agg = Progress.objects.aggregate(
        testers=Count("id"), completed=Count("id", filter=Q(completed_at__isnull=False))
    )
    return {**agg, "completion": pct(agg["completed"], agg["testers"])}


def duration(seconds: float | None) -> str:
    """4 d 3 h, 2 h 5 min, 12 min 30 s, 45 s: two units at most."""
    if seconds is None:
        return "–"
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"

"""Walkthrough tables (SPEC W2, W8, W9; ADR 0115). The database holds every invariant it can."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone

# One definition shared with the journal; importers may keep taking it from here.
from trading.economics import Economics, economics_json, position_economics
from trading.legs import StrategyType, strategy_type_check
from walkthrough import scenarios


class Track(models.TextChoices):
    FULL = "full", "Full (persona questions)"
    SELF_SELECT = "self_select", "Self-select (bucket choice)"


# Derived from the registry (scenarios/buckets.json), the one list of buckets: a fourth bucket
# is an entry there plus the CHECK-constraint migration `makemigrations` then writes (SPEC W12,
# docs/walkthrough.md). Members are the upper-cased values: IntentBucket.DIRECTIONAL.
IntentBucket = models.TextChoices(
    "IntentBucket", [(value.upper(), (value, label)) for value, label in scenarios.bucket_choices()]
)


# The filter value and funnel key of a NULL intent bucket ("not set yet", ADR 0115): no bucket
# value can be it, and the admin's links, filters and the funnel's rows all use this one key.
NOT_SET = "__not_set__"


class Screen(models.IntegerChoices):
    """The walkthrough's five steps, in order (SPEC W3-W9, W13): current_screen and events."""

    DOOR = 1, "Door"
    SCENARIO = 2, "Scenario"
    BUILDER = 3, "Builder"
    REVIEW = 4, "Review"
    SURVEY = 5, "Survey"

    @property
    def title(self) -> str:
        """ "3 · Builder": how lists and filters show a screen."""
        return f"{self.value} · {self.label}"

    @classmethod
    def title_of(cls, value: int) -> str:
        return cls(value).title if value in cls.values else str(value)

    @classmethod
    def range_check(cls, field: str, *, name: str) -> models.CheckConstraint:
        """A screen column holds one of the five steps."""
        return models.CheckConstraint(
            condition=Q(**{f"{field}__gte": min(cls.values), f"{field}__lte": max(cls.values)}), name=name
        )


class RoutingArm(models.TextChoices):
    """SPEC F8: inside FLAG_WALKTHROUGH_PERSONA_ROUTING's rollout, or the holdout outside it."""

    ROUTED = scenarios.ROUTED, "Routed"
    HOLDOUT = scenarios.HOLDOUT, "Holdout"


LAST_SCREEN = Screen.SURVEY


def bucket_label(value: str | None) -> str:
    """How lists, filters and funnel rows name a bucket value, NOT_SET (or NULL) included."""
    if value is None or value == NOT_SET:
        return "Not set"
    return IntentBucket(value).label if value in IntentBucket.values else value


def intent_bucket_check(values: list[str]) -> models.CheckConstraint:
    """NULL ("not set yet") or a registry bucket; a new bucket replaces this constraint."""
    return models.CheckConstraint(
        condition=Q(intent_bucket__isnull=True) | Q(intent_bucket__in=values),
        name="walkthrough_progress_intent_bucket_valid",
    )


class ProgressQuerySet(models.QuerySet):
    def for_email(self, email: str) -> ProgressQuerySet:
        return self.filter(tester_email=email.strip().lower())

    def with_latest_trade(self, token_hash: str) -> Progress | None:
        """The tester holding this token, with their latest trade read in the same statement
        (screen 4: the token lookup and the review's trade in one round trip; `latest_trade()`
        then answers without a query). The trade is the one `PaperTrade.objects.latest_for`
        reads; tests/walkthrough/test_review.py holds the two equal on SQLite and PostgreSQL."""
        statement = _token_with_latest_trade_statement(self.db)
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, [token_hash])
            row = cursor.fetchone()
        if row is None:
            return None
        progress_part, trade_part = statement.progress.split(row)
        progress = statement.progress.instance(self.db, progress_part, connection)
        trade = None
        if trade_part[0] is not None:  # the LEFT JOIN found a trade: its id is never NULL
            trade = statement.trade.instance(self.db, trade_part, connection)
        progress._latest_trade = trade
        return progress


class Progress(models.Model):
    """One row per tester; the row is the tester's identity for the walkthrough API."""

    tester_email = models.EmailField(max_length=254)
    # HMAC-SHA256(BETA_TOKEN_SECRET, raw token) as hex; the raw token is never stored (SPEC W1).
    token_hash = models.CharField(max_length=64)
    track = models.TextField(choices=Track.choices, default=Track.FULL)
    persona_answers = models.JSONField(null=True, blank=True)
    # Nullable TEXT per ADR 0115: NULL means "not set yet", distinct from the "unknown" bucket.
    intent_bucket = models.TextField(choices=IntentBucket.choices, null=True, blank=True)  # noqa: DJ001
    # SPEC F8: set when the door is answered while routing is on (again on a re-answer), frozen
    # with the door answers at the first trade; NULL before the door or while routing was off.
    routing_arm = models.TextField(choices=RoutingArm.choices, null=True, blank=True)  # noqa: DJ001
    # The furthest screen the tester has reached (1 until the door screen is answered).
    current_screen = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    # Advances on every screen POST (ADR 0115 audit trail); services set it explicitly.
    updated_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = ProgressQuerySet.as_manager()

    class Meta:
        db_table = "beta_walkthrough_progress"
        verbose_name = "walkthrough progress"
        verbose_name_plural = "walkthrough progress"
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(fields=["tester_email"], name="walkthrough_progress_unique_email"),
            # The one indexed lookup every authenticated request makes.
            models.UniqueConstraint(fields=["token_hash"], name="walkthrough_progress_unique_token_hash"),
            models.CheckConstraint(
                condition=Q(track__in=Track.values), name="walkthrough_progress_track_valid"
            ),
            # Self-select testers pick a bucket; they never answer persona questions (SPEC W2).
            models.CheckConstraint(
                condition=~Q(track=Track.SELF_SELECT) | Q(persona_answers__isnull=True),
                name="walkthrough_progress_self_select_no_persona",
            ),
            intent_bucket_check(IntentBucket.values),
            models.CheckConstraint(
                condition=Q(routing_arm__isnull=True) | Q(routing_arm__in=RoutingArm.values),
                name="walkthrough_progress_routing_arm_valid",
            ),
            Screen.range_check("current_screen", name="walkthrough_progress_current_screen_range"),
        ]
        indexes = [
            # The funnel's date range and weekly cohorts (walkthrough.funnel: every query filters
            # testers by created_at, the token-issue time) and the changelist's issued filter.
            models.Index(fields=["created_at"], name="wt_progress_created"),
            # The back office progress changelist: ORDER BY updated_at DESC, id DESC LIMIT 100
            # (the admin appends -pk to the model ordering), filtered or not.
            models.Index(fields=["-updated_at", "-id"], name="wt_progress_updated_id"),
            # wt_progress_email_prefix (PostgreSQL only, migration 0004_i11_perf_indexes) serves
            # the changelist's email search by exact address or prefix.
        ]

    def __str__(self) -> str:
        return self.tester_email

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    def latest_trade(self) -> PaperTrade | None:
        """The newest filled trade: as read with the token (Progress.objects.with_latest_trade),
        else one query."""
        if hasattr(self, "_latest_trade"):
            return self._latest_trade
        return PaperTrade.objects.latest_for(self)


class Tester:
    """What DRF sees as `request.user` for a walkthrough request; `request.auth` is the row."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, progress: Progress):
        self.progress = progress
        self.pk = self.id = progress.pk

    def __str__(self) -> str:
        return self.progress.tester_email


IC_COLUMNS = (
    "short_call_strike",
    "long_call_strike",
    "short_put_strike",
    "long_put_strike",
    "expiry",
    "net_credit",
)


def _ic_columns_null() -> Q:
    return Q(**{f"{name}__isnull": True for name in IC_COLUMNS})


class TesterRowsQuerySet(models.QuerySet):
    """The read side of a table whose rows belong to one tester (trades, screen events)."""

    def for_progress(self, progress: Progress) -> TesterRowsQuerySet:
        return self.filter(progress=progress)


class PaperTradeQuerySet(TesterRowsQuerySet):
    def latest_for(self, progress: Progress) -> PaperTrade | None:
        """The tester's latest trade (screen 4's read), as `for_progress(progress).first()`.

        One statement over the model's own columns, by the wt_trade_progress_filled index, read
        through each field's converters as the ORM would: compiling the ORM query took twice as
        long as running it, on a screen whose budget is 1.5x a bare view (docs/performance.md).
        tests/walkthrough/test_review.py pins it to `.first()` on SQLite and PostgreSQL."""
        columns = _ModelColumns.of(PaperTrade, self.db)
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(f"{columns.select('t')} {_latest_trade_sql('%s', self.db)}", [progress.pk])
            row = cursor.fetchone()
        return None if row is None else columns.instance(self.db, row, connection)


def _latest_trade_sql(progress_id: str, alias: str) -> str:
    """`FROM ... WHERE ... LIMIT 1` of a tester's latest trade (table alias `t`): the newest
    fill, the higher id on a tie (PaperTrade.Meta.ordering). `progress_id` is SQL: a
    placeholder or the outer row's column. Only the model's own quoted names are interpolated."""
    quote = connections[alias].ops.quote_name
    return (
        f"FROM {quote(PaperTrade._meta.db_table)} t WHERE t.{quote('progress_id')} = {progress_id} "
        f"ORDER BY t.{quote('filled_at')} DESC, t.{quote('id')} DESC LIMIT 1"
    )


class _ModelColumns:
    """A model's concrete columns for a hand-written SELECT, read back through each field's
    converters exactly as the ORM reads them (decimals, dates, JSON, times)."""

    def __init__(self, model: type[models.Model], alias: str):
        connection = connections[alias]
        self.model, self.fields, self.alias = model, model._meta.concrete_fields, alias
        self.names = [field.attname for field in self.fields]
        self.converters = []
        for field in self.fields:
            column = field.get_col(model._meta.db_table)
            functions = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
            self.converters.append((functions, column))

    @staticmethod
    @functools.cache
    def of(model: type[models.Model], alias: str) -> _ModelColumns:
        return _ModelColumns(model, alias)

    def select(self, table_alias: str, *more: _ModelColumns, aliases: tuple[str, ...] = ()) -> str:
        """`SELECT a.col, ...` over this model's columns (and other models' under `aliases`)."""
        quote = connections[self.alias].ops.quote_name
        parts = [(self, table_alias), *zip(more, aliases, strict=True)]
        columns = ", ".join(f"{alias}.{quote(f.column)}" for cols, alias in parts for f in cols.fields)
        return f"SELECT {columns}"

    def split(self, row: tuple) -> tuple[tuple, tuple]:
        """A joined row: this model's values, and what follows them."""
        return row[: len(self.fields)], row[len(self.fields) :]

    def instance(self, db: str, values, connection) -> models.Model:
        converted = [
            functools.reduce(lambda value, convert: convert(value, column, connection), functions, value)
            for value, (functions, column) in zip(values, self.converters, strict=True)
        ]
        return self.model.from_db(db, self.names, converted)


class _TokenWithLatestTrade(NamedTuple):
    sql: str
    progress: _ModelColumns
    trade: _ModelColumns


@functools.cache
def _token_with_latest_trade_statement(alias: str) -> _TokenWithLatestTrade:
    """Progress by token_hash, LEFT JOIN its latest trade (a correlated subquery picks its id:
    the same index read as latest_for, and SQLite has no LATERAL)."""
    progress, trade = _ModelColumns.of(Progress, alias), _ModelColumns.of(PaperTrade, alias)
    quote = connections[alias].ops.quote_name
    latest = f"SELECT t.{quote('id')} {_latest_trade_sql('p.' + quote('id'), alias)}"
    sql = (
        f"{progress.select('p', trade, aliases=('lt',))} FROM {quote(Progress._meta.db_table)} p "
        f"LEFT JOIN {quote(PaperTrade._meta.db_table)} lt ON lt.{quote('id')} = ({latest}) "
        f"WHERE p.{quote('token_hash')} = %s"
    )
    return _TokenWithLatestTrade(sql, progress, trade)


class PaperTrade(models.Model):
    """A filled walkthrough trade: legs_json holds every leg; IC columns only for iron condors."""

    progress = models.ForeignKey(Progress, on_delete=models.CASCADE, related_name="paper_trades")
    strategy_type = models.TextField(choices=StrategyType.choices, db_default=StrategyType.IRON_CONDOR)
    legs_json = models.JSONField()
    short_call_strike = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    long_call_strike = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    short_put_strike = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    long_put_strike = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    expiry = models.DateField(null=True, blank=True)
    # Per share, at the fixture chain's bid for sold legs and ask for bought legs.
    net_credit = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    # SPEC W15: each leg's fill price at fill time, as the chain's decimal strings in leg order
    # (a sale at the bid, a buy at the ask, shares at the underlying price). Kept with the trade
    # so a later fixture change never rewrites a review; NULL for trades filled before fills
    # were recorded (their review is null).
    fills_json = models.JSONField(null=True, blank=True)
    # SPEC W15: screen 4's `review` (trading.economics.economics_json of the legs and fills),
    # worked out once at fill time: screen 4 reads it instead of recomputing the payoff on
    # every GET (docs/performance.md). NULL exactly when fills_json is (the named CHECK).
    review_json = models.JSONField(null=True, blank=True)
    filled_at = models.DateTimeField(default=timezone.now)

    objects = PaperTradeQuerySet.as_manager()

    class Meta:
        db_table = "beta_walkthrough_paper_trades"
        ordering = ["-filled_at", "-id"]
        constraints = [
            strategy_type_check(name="walkthrough_papertrade_strategy_type_valid"),
            # ADR 0115 risk: IC columns are NULL for CC/VS fills. One-way on purpose: rows
            # from before migration 0002 become iron condors whatever columns they have, so
            # the migration never fails on old data; new iron condors always fill all six
            # (walkthrough.services.paper_trade_create, tested in test_trades).
            models.CheckConstraint(
                condition=Q(strategy_type=StrategyType.IRON_CONDOR) | _ic_columns_null(),
                name="walkthrough_papertrade_ic_columns_null_unless_iron_condor",
            ),
            models.CheckConstraint(
                condition=Q(fills_json__isnull=True, review_json__isnull=True)
                | Q(fills_json__isnull=False, review_json__isnull=False),
                name="walkthrough_papertrade_review_with_fills",
            ),
        ]
        indexes = [
            models.Index(fields=["progress", "-filled_at"], name="wt_trade_progress_filled"),
            # The funnel's per-strategy split for a date range (walkthrough.funnel._strategy_rows):
            # SELECT DISTINCT strategy_type ... WHERE progress_id = p.id per tester of the range,
            # an index-only probe instead of a heap fetch per trade.
            models.Index(fields=["progress", "strategy_type"], name="wt_trade_progress_strategy"),
            # The back office trade changelist: ORDER BY filled_at DESC, id DESC LIMIT 100.
            models.Index(fields=["-filled_at", "-id"], name="wt_trade_filled_id"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_type} #{self.pk}"

    def economics(self) -> Economics | None:
        """SPEC W15: the review's numbers from the stored legs and fills (None without fills)."""
        if self.fills_json is None:
            return None
        return position_economics(legs=self.legs_json, fills=[Decimal(f) for f in self.fills_json])

    def review(self) -> dict | None:
        """Screen 4's `review`: as stored at fill time (None for a trade filled before fills)."""
        if self.review_json is None and self.fills_json is not None:
            return review_of(legs=self.legs_json, fills=self.fills_json)  # an unsaved example
        return self.review_json


def review_of(*, legs: list[dict], fills: list[str]) -> dict:
    """The review JSON of legs filled at `fills` (decimal strings in leg order)."""
    return economics_json(position_economics(legs=legs, fills=[Decimal(f) for f in fills]))


class SurveyAnswer(models.Model):
    """One answer of the uniform screen-5 survey (SPEC W9); intent_bucket is a join away."""

    progress = models.ForeignKey(Progress, on_delete=models.CASCADE, related_name="survey_answers")
    question_id = models.TextField()
    answer = models.TextField()
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "beta_walkthrough_survey_answers"
        ordering = ["progress_id", "question_id"]
        constraints = [
            # Makes the survey idempotent per tester even under concurrent POSTs.
            models.UniqueConstraint(
                fields=["progress", "question_id"], name="walkthrough_surveyanswer_unique_question"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}={self.answer}"


class ScreenEvent(models.Model):
    """One row per successful screen POST (SPEC W14): append-only, written in the POST's
    transaction. The back office computes time-to-step from these, so screen GETs never write.

    `screen` is the state-machine step (1 door, 2 scenario, 3 builder, 4 review, 5 survey); a
    trade built on /screen/simple/1 is step 3 too, with its strategy_type.
    """

    progress = models.ForeignKey(Progress, on_delete=models.CASCADE, related_name="screen_events")
    screen = models.PositiveSmallIntegerField()
    # Set for the builder step only: what was filled (the funnel splits trades by it).
    strategy_type = models.TextField(choices=StrategyType.choices, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)

    objects = TesterRowsQuerySet.as_manager()

    class Meta:
        db_table = "beta_walkthrough_screen_events"
        ordering = ["created_at", "id"]
        constraints = [
            Screen.range_check("screen", name="walkthrough_screenevent_screen_range"),
            strategy_type_check(name="walkthrough_screenevent_strategy_type_valid", nullable=True),
            # Only the builder step fills a trade, so only it names a strategy.
            models.CheckConstraint(
                condition=Q(screen=Screen.BUILDER, strategy_type__isnull=False)
                | (~Q(screen=Screen.BUILDER) & Q(strategy_type__isnull=True)),
                name="walkthrough_screenevent_strategy_type_iff_builder",
            ),
        ]
        indexes = [
            # The funnel's time-to-step: first event per (tester, step), MIN(created_at) grouped
            # by progress_id and screen, read from the index alone; for a date range one
            # index-only probe per tester of the range (walkthrough.funnel).
            models.Index(fields=["progress", "screen", "created_at"], name="wt_event_progress_screen_at"),
        ]

    def __str__(self) -> str:
        return f"screen {self.screen} @ {self.created_at:%Y-%m-%d %H:%M}"


class FunnelSnapshot(models.Model):
    """The whole-programme funnel (no date range) of one group-by, as of `computed_at`.

    A rollup refreshed by beat (walkthrough.services.funnel_snapshot_refresh): exact
    percentiles over every tester cannot be computed in under a second at 1M testers
    (docs/performance.md), so the page without a range shows this and says "as of". `payload`
    holds the rows of the funnel's five queries (walkthrough.funnel.funnel_parts), aggregates
    only: no email, no token, no note.
    """

    by = models.TextField()
    payload = models.JSONField()
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "beta_walkthrough_funnel_snapshots"
        constraints = [
            models.UniqueConstraint(fields=["by"], name="walkthrough_funnelsnapshot_unique_by"),
        ]

    def __str__(self) -> str:
        return f"funnel by {self.by} as of {self.computed_at:%Y-%m-%d %H:%M}"


class CopySignoff(models.Model):
    """An operator's sign-off of one release of the walkthrough copy (SPEC W16, ADR 0115 #3857).

    A release is its `copy_version` (copy.json) together with the digest of every file of
    walkthrough/scenarios/*.json, so any change to a copy file, bumped or not, needs a new
    sign-off before testers are invited again. Append-only: the admin shows it, nobody edits it.
    """

    copy_version = models.TextField()
    copy_digest = models.CharField(max_length=64, help_text="SHA-256 of the scenario files signed off.")
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who signed, kept as text so the record survives the operator's deletion.
    operator_label = models.CharField(max_length=150)
    note = models.TextField()
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "walkthrough_copy_signoff"
        verbose_name = "copy sign-off"
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["copy_version", "copy_digest"], name="walkthrough_copysignoff_unique_release"
            ),
            models.CheckConstraint(condition=~Q(note=""), name="walkthrough_copysignoff_note_required"),
            models.CheckConstraint(
                condition=~Q(operator_label=""), name="walkthrough_copysignoff_operator_required"
            ),
        ]

    def __str__(self) -> str:
        return f"copy {self.copy_version} signed off by {self.operator_label}"

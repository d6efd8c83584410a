"""Walkthrough tables (SPEC W2, W8, W9; ADR 0115). The database holds every invariant it can."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

# One definition shared with the journal; importers may keep taking it from here.
from trading.legs import StrategyType
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


LAST_SCREEN = 5


def intent_bucket_check(values: list[str]) -> models.CheckConstraint:
    """NULL ("not set yet") or a registry bucket; a new bucket replaces this constraint."""
    return models.CheckConstraint(
        condition=Q(intent_bucket__isnull=True) | Q(intent_bucket__in=values),
        name="walkthrough_progress_intent_bucket_valid",
    )


class ProgressQuerySet(models.QuerySet):
    def for_email(self, email: str) -> ProgressQuerySet:
        return self.filter(tester_email=email.strip().lower())


class Progress(models.Model):
    """One row per tester; the row is the tester's identity for the walkthrough API."""

    tester_email = models.EmailField(max_length=254)
    # HMAC-SHA256(BETA_TOKEN_SECRET, raw token) as hex; the raw token is never stored (SPEC W1).
    token_hash = models.CharField(max_length=64)
    track = models.TextField(choices=Track.choices, default=Track.FULL)
    persona_answers = models.JSONField(null=True, blank=True)
    # Nullable TEXT per ADR 0115: NULL means "not set yet", distinct from the "unknown" bucket.
    intent_bucket = models.TextField(choices=IntentBucket.choices, null=True, blank=True)  # noqa: DJ001
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
                condition=Q(current_screen__gte=1, current_screen__lte=LAST_SCREEN),
                name="walkthrough_progress_current_screen_range",
            ),
        ]
        indexes = [
            # The funnel's date range and weekly cohorts (walkthrough.funnel: every query filters
            # testers by created_at, the token-issue time) and the changelist's issued filter.
            models.Index(fields=["created_at"], name="wt_progress_created"),
            # The back office progress changelist: ORDER BY updated_at DESC, id DESC LIMIT 100
            # (the admin appends -pk to the model ordering), filtered or not (issue 11).
            models.Index(fields=["-updated_at", "-id"], name="wt_progress_updated_id"),
            # wt_progress_email_prefix (PostgreSQL only, migration 0004_i11_perf_indexes) serves
            # the changelist's email search by exact address or prefix.
        ]

    def __str__(self) -> str:
        return self.tester_email

    @property
    def completed(self) -> bool:
        return self.completed_at is not None


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


class PaperTradeQuerySet(models.QuerySet):
    def for_progress(self, progress: Progress) -> PaperTradeQuerySet:
        return self.filter(progress=progress)


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
    filled_at = models.DateTimeField(default=timezone.now)

    objects = PaperTradeQuerySet.as_manager()

    class Meta:
        db_table = "beta_walkthrough_paper_trades"
        ordering = ["-filled_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(strategy_type__in=StrategyType.values),
                name="walkthrough_papertrade_strategy_type_valid",
            ),
            # ADR 0115 risk: IC columns are NULL for CC/VS fills. One-way on purpose: rows
            # from before migration 0002 become iron condors whatever columns they have, so
            # the migration never fails on old data; new iron condors always fill all six
            # (walkthrough.services.paper_trade_create, tested in test_trades).
            models.CheckConstraint(
                condition=Q(strategy_type=StrategyType.IRON_CONDOR) | _ic_columns_null(),
                name="walkthrough_papertrade_ic_columns_null_unless_iron_condor",
            ),
        ]
        indexes = [
            models.Index(fields=["progress", "-filled_at"], name="wt_trade_progress_filled"),
            # The funnel's per-strategy split for a date range (walkthrough.funnel._strategy_rows):
            # SELECT DISTINCT strategy_type ... WHERE progress_id = p.id per tester of the range,
            # an index-only probe instead of a heap fetch per trade (issue 11).
            models.Index(fields=["progress", "strategy_type"], name="wt_trade_progress_strategy"),
            # The back office trade changelist: ORDER BY filled_at DESC, id DESC LIMIT 100.
            models.Index(fields=["-filled_at", "-id"], name="wt_trade_filled_id"),
        ]

    def __str__(self) -> str:
        return f"{self.strategy_type} #{self.pk}"


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


class ScreenEventQuerySet(models.QuerySet):
    def for_progress(self, progress: Progress) -> ScreenEventQuerySet:
        return self.filter(progress=progress)


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

    objects = ScreenEventQuerySet.as_manager()

    class Meta:
        db_table = "beta_walkthrough_screen_events"
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(screen__gte=1, screen__lte=LAST_SCREEN),
                name="walkthrough_screenevent_screen_range",
            ),
            models.CheckConstraint(
                condition=Q(strategy_type__isnull=True) | Q(strategy_type__in=StrategyType.values),
                name="walkthrough_screenevent_strategy_type_valid",
            ),
            # Only the builder step fills a trade, so only it names a strategy.
            models.CheckConstraint(
                condition=Q(screen=3, strategy_type__isnull=False)
                | (~Q(screen=3) & Q(strategy_type__isnull=True)),
                name="walkthrough_screenevent_strategy_type_iff_builder",
            ),
        ]
        indexes = [
            # The funnel's time-to-step: first event per (tester, step), MIN(created_at) grouped
            # by progress_id and screen, read from the index alone; for a date range one
            # index-only probe per tester of the range (walkthrough.funnel, issue 11).
            models.Index(fields=["progress", "screen", "created_at"], name="wt_event_progress_screen_at"),
        ]

    def __str__(self) -> str:
        return f"screen {self.screen} @ {self.created_at:%Y-%m-%d %H:%M}"


class FunnelSnapshot(models.Model):
    """The whole-programme funnel (no date range) of one group-by, as of `computed_at`.

    A rollup refreshed by beat (walkthrough.services.funnel_snapshot_refresh): exact
    percentiles over every tester cannot be computed in under a second at 1M testers (issue 11,
    docs/performance.md), so the page without a range shows this and says "as of". `payload`
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

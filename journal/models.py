"""Trade-context journal (SPEC J, ADR 0133): paper orders, taxonomy versions, labels.

Paper orders are the execution record (a system fact); labels are user-authored annotations
in their own table so the journal can be deleted without touching the orders (ADR 0133 D1).
Every read that serves a user goes through `for_user` (SPEC J5).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, connections, models
from django.db.models import ExpressionWrapper, F, Q
from django.db.models.functions import Length, TruncDate
from django.db.models.lookups import LessThanOrEqual

from journal import stats

# One definition shared with the walkthrough; importers may keep taking it from here.
from trading.legs import StrategyType, strategy_type_check

JOURNAL_NOTE_MAX_LENGTH = 2000  # SPEC J3, also a database CHECK
# A ticker: 1-16 letters, digits, dots or dashes, starting with a letter (stored upper-case).
SYMBOL_PATTERN = r"^[A-Za-z][A-Za-z0-9.\-]{0,15}$"
# A taxonomy code (SPEC J2): snake_case, at most 64 characters.
CODE_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class OrderStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"
    CANCELLED = "cancelled", "Cancelled"


class SourceTable(models.TextChoices):
    # `live_orders` is anticipated by ADR 0133 but not built; adding it is a migration of
    # this CHECK plus a second foreign key.
    PAPER_ORDERS = "paper_orders", "Paper orders"


class PaperOrderQuerySet(models.QuerySet):
    def for_user(self, user) -> PaperOrderQuerySet:
        return self.filter(user_id=user.id)


class PaperOrder(models.Model):
    """A paper order (SPEC J1). Written only by journal.services."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="paper_orders")
    symbol = models.CharField(max_length=16)
    strategy_type = models.CharField(max_length=32, choices=StrategyType.choices)
    legs_json = models.JSONField(help_text="The ticket's legs in the W7 leg schema.")
    quantity = models.PositiveIntegerField()
    status = models.CharField(
        max_length=16, choices=OrderStatus.choices, default=OrderStatus.OPEN, db_default=OrderStatus.OPEN
    )
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    realized_pnl = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    objects = PaperOrderQuerySet.as_manager()

    class Meta:
        db_table = "paper_orders"
        ordering = ("-opened_at", "-id")
        constraints = [
            strategy_type_check(name="journal_paperorder_strategy_type_valid"),
            models.CheckConstraint(
                condition=Q(status__in=OrderStatus.values), name="journal_paperorder_status_valid"
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="journal_paperorder_quantity_positive"),
            # closed_at is the lock clock (SPEC J7): it exists exactly when the order is closed.
            models.CheckConstraint(
                condition=(Q(status=OrderStatus.CLOSED) & Q(closed_at__isnull=False))
                | (~Q(status=OrderStatus.CLOSED) & Q(closed_at__isnull=True)),
                name="journal_paperorder_closed_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(realized_pnl__isnull=True) | Q(status=OrderStatus.CLOSED),
                name="journal_paperorder_pnl_only_when_closed",
            ),
        ]
        indexes = [
            # The user's order list (GET /api/paper-orders/, newest first) and the order side of
            # the backtest filter: the page walks it in opened_at order, the summary reads the
            # user's range, and the INCLUDE columns (what the row shows, what the filters and the
            # summary read) make both index-only. Replaces journal_paperorder_user_opened.
            models.Index(
                fields=["user", "-opened_at", "-id"],
                include=["closed_at", "realized_pnl", "symbol", "strategy_type"],
                name="journal_paperorder_user_opened",
            ),
            # The lock sweep (journal.services.labels_lock_due): orders whose closed_at fell
            # into the window since the last run, a short range scan.
            models.Index(
                fields=["closed_at"],
                condition=Q(status=OrderStatus.CLOSED),
                name="journal_paperorder_closed_at",
            ),
            # The back office order changelist: ORDER BY opened_at DESC, id DESC LIMIT 100.
            models.Index(fields=["-opened_at", "-id"], name="journal_paperorder_opened_id"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.symbol} {self.strategy_type} ({self.status})"


class TaxonomyVersionQuerySet(models.QuerySet):
    def current(self) -> SentimentTaxonomyVersion | None:
        return self.order_by("-version").first()


class SentimentTaxonomyVersion(models.Model):
    """One version of the pre-/post-trade label pickers (SPEC J2). Immutable once in use.

    Written only by journal.services (taxonomy_version_create / taxonomy_version_update),
    which hold the rules: picker validation and the in-use lock.
    """

    # Unique by a named constraint (journal_taxonomyversion_version_unique); labels point here.
    version = models.PositiveIntegerField()
    pre_labels = models.JSONField(help_text='A list of {"code": ..., "display": ...} objects.')
    post_labels = models.JSONField(help_text='A list of {"code": ..., "display": ...} objects.')
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TaxonomyVersionQuerySet.as_manager()

    class Meta:
        db_table = "sentiment_taxonomy_versions"
        ordering = ("version",)
        verbose_name = "sentiment taxonomy version"
        constraints = [
            models.CheckConstraint(
                condition=Q(version__gte=1), name="journal_taxonomyversion_version_positive"
            ),
            models.UniqueConstraint(fields=["version"], name="journal_taxonomyversion_version_unique"),
        ]

    def __str__(self) -> str:
        return f"Taxonomy v{self.version}"

    def pre_codes(self) -> set[str]:
        return {item["code"] for item in self.pre_labels}

    def post_codes(self) -> set[str]:
        return {item["code"] for item in self.post_labels}

    def is_in_use(self) -> bool:
        return self.pk is not None and self.labels.exists()


class LabelQuerySet(models.QuerySet):
    def for_user(self, user) -> LabelQuerySet:
        """Ownership is part of the query (SPEC J5, ADR 0133 D2)."""
        return self.filter(user_id=user.id)

    def without_note(self) -> LabelQuerySet:
        """Never load the note; expose only whether one exists (SPEC J6, ADR 0133 D5)."""
        return self.defer("journal_note").annotate(
            journal_note_present=models.ExpressionWrapper(
                ~Q(journal_note=""), output_field=models.BooleanField()
            )
        )

    def backtest_for_user(self, user) -> LabelQuerySet:
        """The user's labelled paper orders (SPEC J8), as two per-user index ranges.

        A label only ever points at its user's own order (journal.services.label_create checks
        it), so `trade__user_id` changes no result; saying it lets PostgreSQL join the user's
        range of journal_label_user_created to the user's range of journal_paperorder_user_opened
        instead of probing one order per label among a million (ADR 0133's "reconsider the
        join").
        """
        return self.for_user(user).filter(source_table=SourceTable.PAPER_ORDERS, trade__user_id=user.id)

    def backtest_rows(self) -> LabelQuerySet:
        """The backtest filter's join of labels and paper orders (SPEC J8), note-free.

        Only the order columns the row shows, so the order side is read from
        journal_paperorder_user_opened alone."""
        return (
            self.filter(source_table=SourceTable.PAPER_ORDERS)
            .without_note()
            .select_related("trade")
            .only(
                "id",
                "trade_id",
                "pre_label",
                "post_label",
                "trade__symbol",
                "trade__strategy_type",
                "trade__opened_at",
                "trade__closed_at",
                "trade__realized_pnl",
            )
            .order_by("-trade__opened_at", "-id")
        )

    def backtest_summary(self) -> dict:
        """Counts and summed realized P&L, overall and per label (SPEC J8), in ONE statement.

        One pass over the matching rows: GROUPING SETS on PostgreSQL; elsewhere
        (SQLite, development) the same three groupings as a UNION ALL over one CTE. The
        matching rows come from the filtered queryset itself, so filters cannot drift.
        """
        matching = self.order_by().values(
            "pre_label", "post_label", closed=F("trade__closed_at"), pnl=F("trade__realized_pnl")
        )
        sql, params = matching.query.sql_with_params()
        metrics = "COUNT(*), COUNT(m.closed), SUM(m.pnl)"
        postgresql = connection.vendor == "postgresql"
        if postgresql:
            # The summary reads every matching row, so a hash join of the user's two index-only
            # ranges is always the plan. PostgreSQL multiplies the selectivities of the two
            # (always equal) user filters and expects 1 % of the rows; with a filter it then
            # probed one label per matching order (docs/performance.md).
            # SET LOCAL travels in the same round trip and ends with the statement's own
            # (implicit) transaction; inside a caller's transaction it ends with that one.
            statement = (
                "SET LOCAL enable_nestloop = off; "  # noqa: S608 (compiled ORM SQL, params bound)
                f"SELECT GROUPING(m.pre_label, m.post_label), m.pre_label, m.post_label, {metrics} "
                f"FROM ({sql}) m GROUP BY GROUPING SETS ((), (m.pre_label), (m.post_label))"
            )
        else:
            statement = (
                f"WITH m AS ({sql}) "  # noqa: S608 (compiled ORM SQL, params bound)
                f"SELECT 3, NULL, NULL, {metrics} FROM m "
                f"UNION ALL SELECT 1, m.pre_label, NULL, {metrics} FROM m GROUP BY m.pre_label "
                f"UNION ALL SELECT 2, NULL, m.post_label, {metrics} FROM m GROUP BY m.post_label"
            )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            if postgresql:
                cursor.nextset()  # past the SET's empty result
            fetched = cursor.fetchall()

        def row(trades: int, closed: int, pnl) -> dict:
            pnl = None if pnl is None else f"{Decimal(str(pnl)):.2f}"
            return {"trades": trades, "closed_trades": closed, "realized_pnl": pnl}

        summary = row(0, 0, None)
        groups: dict[int, list[dict]] = {1: [], 2: []}
        for grouping, pre, post, *metrics_row in fetched:
            if grouping == 3:
                summary = row(*metrics_row)
            else:
                groups[grouping].append({"label": pre if grouping == 1 else post, **row(*metrics_row)})
        for items in groups.values():
            # NULL ("not labelled") first, then codes, as before.
            items.sort(key=lambda item: (item["label"] is not None, item["label"] or ""))
        return {**summary, "by_pre_label": groups[1], "by_post_label": groups[2]}

    def closed_trades(self) -> models.QuerySet:
        """The matching labels' closed trades as the statistics read them (SPEC J11):
        journal.stats.ClosedTrade's columns, `closed_on` the UTC day of closed_at and `holding`
        closed_at - opened_at.

        `closed_at IS NOT NULL` rather than the status: the same rows (a CHECK ties the two),
        and read from journal_paperorder_user_opened alone (closed_at is an INCLUDE column).
        """
        return (
            self.filter(source_table=SourceTable.PAPER_ORDERS, trade__closed_at__isnull=False)
            .order_by()
            .annotate(
                closed_on=TruncDate("trade__closed_at", tzinfo=dt.UTC),
                holding=ExpressionWrapper(
                    F("trade__closed_at") - F("trade__opened_at"), output_field=models.DurationField()
                ),
            )
            .values_list(
                "taxonomy_version_id",
                "pre_label",
                "post_label",
                "closed_on",
                "holding",
                "trade__realized_pnl",
            )
        )

    def stats_group_rows(self) -> list[stats.GroupRow]:
        """journal.stats.GroupRow for every group of the statistics (SPEC J11), ONE statement.

        On PostgreSQL the database reduces the matching trades to a few hundred rows (one per
        label, pair and day), so 10,000 trades never travel to Python; journal.stats.group_rows
        is the same reduction in Python, used elsewhere (SQLite), and tests hold the two equal.
        The middle values are percentile_disc at 0.5 and just past it: the lower and the upper
        middle value, exact (percentile_cont would interpolate in floating point), for groups
        of up to ten million trades.
        """
        trades = self.closed_trades()
        if connection.vendor != "postgresql":
            return stats.group_rows(list(trades))
        try:
            sql, params = trades.query.sql_with_params()
        except EmptyResultSet:
            return []
        middle = (
            "percentile_disc(0.5) WITHIN GROUP (ORDER BY {0}), "
            "percentile_disc(0.5000001) WITHIN GROUP (ORDER BY {0})"
        )
        counts = "count(*), count(pnl), sum(pnl)"
        full = (
            f"{counts}, count(*) FILTER (WHERE pnl > 0), count(*) FILTER (WHERE pnl < 0), "
            "count(*) FILTER (WHERE pnl = 0), max(pnl) FILTER (WHERE pnl > 0), "
            f"min(pnl) FILTER (WHERE pnl < 0), {middle.format('pnl')}, {middle.format('holding')}, "
            "min(day), max(day)"
        )
        partial = f"{counts}, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL"
        # Every matching row is read, so a hash join of the user's two index-only ranges is the
        # plan, for the reason backtest_summary gives. (Compiled ORM SQL, parameters bound.)
        statement = (
            "SET LOCAL enable_nestloop = off; "  # noqa: S608
            f"WITH t (v, pre, post, day, holding, pnl) AS MATERIALIZED ({sql}) "
            f"SELECT 'all', NULL::integer, NULL::varchar, NULL::varchar, NULL::date, {full} "
            "FROM t HAVING count(*) > 0 "
            f"UNION ALL SELECT 'pre', v, pre, NULL, NULL, {full} FROM t GROUP BY v, pre "
            f"UNION ALL SELECT 'post', v, NULL, post, NULL, {full} "
            "FROM t WHERE post IS NOT NULL GROUP BY v, post "
            f"UNION ALL SELECT 'pair', v, pre, post, NULL, {partial} FROM t GROUP BY v, pre, post "
            f"UNION ALL SELECT 'day', NULL, NULL, NULL, day, {partial} FROM t GROUP BY day"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            cursor.nextset()  # past the SET's empty result
            return [stats.GroupRow(*row) for row in cursor.fetchall()]


class BacktestPageRows:
    """The backtest page as the paginator's object list (SPEC J8): `.values()` rows of
    `backtest_rows()`, counted by the summary, one statement per page.

    On PostgreSQL the page statement carries `SET LOCAL enable_sort = off` in its own round
    trip (and implicit transaction): walk the user's orders newest first through
    journal_paperorder_user_opened, probe each one's label, stop at the page's end. The planner
    would otherwise sort every matching row first, because it multiplies the selectivities of
    the two (always equal) user filters and expects 1 % of the rows: with a symbol and strategy
    filter at 1M labels that was 3,334 label probes for a page of 50.
    """

    def __init__(self, rows: models.QuerySet, *, count: int):
        self._rows = rows
        self._count = count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, window: slice) -> list[dict]:
        page = self._rows[window]
        if connection.vendor != "postgresql":
            return list(page)
        try:
            sql, params = page.query.sql_with_params()
        except EmptyResultSet:  # an empty window ([0:0] when nothing matches): no statement
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL enable_sort = off; {sql}", params)
            cursor.nextset()  # past the SET's empty result
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class TradeSentimentLabel(models.Model):
    """A user's pre-/post-trade labels and private note on one trade (SPEC J3).

    Written only by journal.services on behalf of the user's own requests (SPEC J9).
    """

    # No index of its own: journal_label_user_created leads with user_id.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trade_labels", db_index=False
    )
    source_table = models.CharField(
        max_length=32,
        choices=SourceTable.choices,
        default=SourceTable.PAPER_ORDERS,
        db_default=SourceTable.PAPER_ORDERS,
    )
    trade = models.ForeignKey(
        PaperOrder, on_delete=models.CASCADE, related_name="labels", db_column="trade_id"
    )
    # NULL means "not labelled"; the backtest summary groups it separately from any code.
    pre_label = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    post_label = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    taxonomy_version = models.ForeignKey(
        SentimentTaxonomyVersion,
        on_delete=models.PROTECT,
        to_field="version",
        db_column="taxonomy_version",
        related_name="labels",
    )
    journal_note = models.TextField(blank=True, default="", db_default="")
    post_label_locked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LabelQuerySet.as_manager()

    class Meta:
        db_table = "trade_sentiment_labels"
        ordering = ("-created_at", "-id")
        verbose_name = "trade sentiment label"
        constraints = [
            # One label per trade per user, and the DB-layer IDOR boundary (ADR 0133 D2).
            models.UniqueConstraint(
                fields=["user", "source_table", "trade"], name="journal_tradesentimentlabel_one_per_trade"
            ),
            models.CheckConstraint(
                condition=Q(source_table__in=SourceTable.values),
                name="journal_tradesentimentlabel_source_table_valid",
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("journal_note"), JOURNAL_NOTE_MAX_LENGTH),
                name="journal_tradesentimentlabel_note_max_2000",
            ),
        ]
        indexes = [
            # The user's label list (GET /api/sentiment-labels/, newest first) and, through its
            # INCLUDE columns, the backtest filter's label side as an index-only scan. It leads
            # with user_id, so it also serves the user foreign key (which has no index of its
            # own: one index fewer for every label write).
            models.Index(
                fields=["user", "-created_at", "-id"],
                include=["source_table", "trade", "pre_label", "post_label", "taxonomy_version"],
                name="journal_label_user_created",
            ),
            # The lock sweep's second arm (labels created since the last run, whatever their
            # order's age) and the back office label changelist's ORDER BY created_at DESC, id
            # DESC. No index names post_label_locked_at, so the sweep's UPDATE can be HOT.
            models.Index(fields=["created_at", "id"], name="journal_label_created_id"),
        ]

    def __str__(self) -> str:
        return f"Label #{self.pk} on {self.source_table} #{self.trade_id}"


class LockSweepMark(models.Model):
    """Where the lock sweep got to (SPEC J7): one row, `name="post_label"`.

    The next run looks only at orders closed since `cutoff` and labels created since `ran_at`
    (each less a safety margin for transactions still open at the time), so a run with
    nothing due reads a few index pages instead of every closed order.
    """

    name = models.CharField(max_length=32)
    cutoff = models.DateTimeField(help_text="Orders closed at or before this were swept.")
    ran_at = models.DateTimeField(help_text="Labels created before this were swept.")

    class Meta:
        db_table = "journal_lock_sweep_marks"
        constraints = [
            # One mark per sweep: concurrent first runs queue on it instead of making two.
            models.UniqueConstraint(fields=["name"], name="journal_locksweepmark_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name} swept through {self.cutoff:%Y-%m-%d %H:%M:%S}"


class LabelTallyQuerySet(models.QuerySet):
    def count_for_user(self, user) -> int:
        """The user's label count without counting their rows (0 for a user with no labels).

        One primary-key read on every label list page: plain SQL, because compiling the
        ORM query cost more than running it (docs/performance.md).
        """
        with connections[self.db].cursor() as cursor:
            cursor.execute(f"SELECT labels FROM {self.model._meta.db_table} WHERE user_id = %s", [user.id])  # noqa: S608
            row = cursor.fetchone()
        return row[0] if row else 0


class LabelTally(models.Model):
    """How many labels each user has, kept by database triggers (docs/performance.md).

    The unfiltered label list reports an exact `count` (docs/api.md); counting 10,000 rows of
    one user scattered through a table that the lock sweep keeps updating read thousands of heap
    pages per request. Triggers on the label table (migration 0006) keep this row in step with
    every INSERT and DELETE whatever issues it: the services, the purge, a cascade from a deleted
    account, the admin. Nothing in Python writes it. A label's user never changes (no service
    writes `user_id` after the insert), so UPDATE needs no trigger.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    labels = models.BigIntegerField(default=0)

    objects = LabelTallyQuerySet.as_manager()

    class Meta:
        db_table = "journal_label_tallies"
        constraints = [
            # A trigger bug that drifts below zero fails the write instead of serving a bad count.
            models.CheckConstraint(condition=Q(labels__gte=0), name="journal_labeltally_labels_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.labels} label(s) of user #{self.user_id}"

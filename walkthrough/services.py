"""Every walkthrough write that enforces a rule (SPEC W1–W11). Keyword-only, typed, atomic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from audit.models import COMMAND, Action
from audit.services import change_record
from core.errors import ConflictError, RuleViolation
from walkthrough import scenarios
from walkthrough.auth import token_hash, token_new
from walkthrough.models import (
    LAST_SCREEN,
    CopySignoff,
    PaperTrade,
    Progress,
    Screen,
    ScreenEvent,
    StrategyType,
    SurveyAnswer,
    Track,
    review_of,
)
from walkthrough.scenarios.rules import check_trade, fill_quotes, iron_condor_columns

PURGE_AFTER = dt.timedelta(days=30)  # SPEC W11 / ADR 0115 retention


def normalize_email(email: str) -> str:
    """Trimmed, lower-case and short enough for the column; errors never echo the address."""
    email = email.strip().lower()
    max_length = Progress._meta.get_field("tester_email").max_length
    if len(email) > max_length:
        raise RuleViolation({"email": [f"An email address has at most {max_length} characters."]})
    try:
        validate_email(email)
    except ValidationError:
        raise RuleViolation({"email": ["Not an email address."]}) from None
    return email


# --- W1 tokens ------------------------------------------------------------------------------


def _progress_for_update(email: str) -> Progress | None:
    return Progress.objects.select_for_update().filter(tester_email=email).first()


@dataclass(frozen=True)
class IssuedToken:
    """One address's new token: `raw` exists only here, to be shown once (SPEC W1)."""

    progress: Progress
    raw: str
    reissued: bool  # the address was a tester already: their old token no longer works


class IssuedVia(models.TextChoices):
    """Where an operator issued tokens from; the change-log entry names it."""

    INVITE_PAGE = "invite_page", "on the invite page"
    TOKEN_ACTION = "token_action", 'with the admin action "Issue a new token"'
    COMMAND = "command", "with manage.py issue_walkthrough_token"


def walkthrough_tokens_issue(
    *, emails: list[str], track: str | None = None, actor: AbstractBaseUser | None, via: IssuedVia
) -> list[IssuedToken]:
    """Issue (or re-issue) a token to each address, all in one transaction, and log it.

    The one way operators hand out tokens (the invite page, the admin action and the command
    all call it). Every address is one change-log entry (SPEC P2) by `actor` (None: `command`):
    the address, issued or re-issued, and where from; never a token. Any error issues nothing:
    a bad address (RuleViolation), a track switch (ConflictError), or a copy release that no
    operator has signed off yet (CopyNotSignedOff, SPEC W16).
    """
    copy_signoff_require()
    with transaction.atomic():
        issued = [IssuedToken(*_token_issue(email=email, track=track)) for email in emails]
        for token in issued:
            change_record(
                actor=actor if actor is not None else COMMAND,
                action=Action.TOKEN_REISSUE if token.reissued else Action.TOKEN_ISSUE,
                obj=token.progress.tester_email,
                subject=token.progress.tester_email,
                before={"token": "earlier token"} if token.reissued else None,
                after={
                    "token": "new token, the earlier one revoked" if token.reissued else "new token",
                    "track": token.progress.track,
                    "via": via.label,
                },
            )
    return issued


def walkthrough_token_issue(*, email: str, track: str | None = None) -> tuple[Progress, str]:
    """One tester's token, unlogged (demo data, tests): operators go through walkthrough_tokens_issue."""
    progress, raw, _ = _token_issue(email=email, track=track)
    return progress, raw


def _token_issue(*, email: str, track: str | None) -> tuple[Progress, str, bool]:
    """Create the tester (or re-issue): the new raw token is returned once, the old one dies."""
    email = normalize_email(email)
    if track is not None and track not in Track.values:
        raise RuleViolation({"track": [f"{track!r} is not one of {', '.join(Track.values)}."]})
    raw = token_new()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                progress = _progress_for_update(email)
                if progress is None:
                    progress = Progress.objects.create(
                        tester_email=email, token_hash=token_hash(raw), track=track or Track.FULL
                    )
                    return progress, raw, False
                if track is not None and track != progress.track:
                    # Switching track would orphan persona answers or a chosen bucket; an
                    # operator who means it deletes the tester (dsr_delete) and issues afresh.
                    raise ConflictError(
                        f"This tester is on the {progress.track} track; a re-issue keeps the track."
                    )
                progress.token_hash = token_hash(raw)
                progress.save(update_fields=["token_hash"])
                return progress, raw, True
        except IntegrityError:
            # Two first issues for one new email raced and the other committed first: the
            # unique email constraint caught it, so this attempt becomes a re-issue.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _touch(progress: Progress, *, reached: int, now: dt.datetime, fields: list[str]) -> None:
    progress.current_screen = max(progress.current_screen, min(reached, LAST_SCREEN))
    progress.updated_at = now
    progress.save(update_fields=[*fields, "current_screen", "updated_at"])


def _locked(progress: Progress) -> Progress:
    return Progress.objects.select_for_update().get(pk=progress.pk)


# --- W13 screen order ------------------------------------------------------------------------

# What each step asks of the tester, for the 409 that sends them there.
_STEP_TODO = {
    Screen.DOOR: "Answer the door screen first.",
    Screen.SCENARIO: "Continue from the scenario screen (POST {}) first.",
    Screen.BUILDER: "Build a paper trade first.",
    Screen.REVIEW: "Continue from the review screen (POST {}) first.",
    Screen.SURVEY: "The survey is the last screen.",
}


@dataclass(frozen=True)
class Position:
    """Where stored progress puts a tester (SPEC W13): the step to do now and its route."""

    next_step: int
    next_screen: str
    served: scenarios.Resolution


def walkthrough_position(*, progress: Progress, flags: scenarios.Flags) -> Position:
    """The tester's next step, derived from stored facts only (docs/walkthrough.md):

    door (1) -> scenario (2) -> builder (3, at the current builder_route) -> review (4) ->
    survey (5). current_screen is the furthest screen reached; a bucket or persona answers
    mean the door is done; a filled trade means the builder is done, and without one nothing
    is past the builder; a completed survey is the end (5, repeatable). Rows from before the
    state machine (NULL bucket, any current_screen) thus continue where they were.
    """
    served = served_for(progress=progress, flags=flags)
    reached = _reached_before_trades(progress)
    has_trade = PaperTrade.objects.for_progress(progress).exists()
    reached = max(reached, Screen.REVIEW) if has_trade else min(reached, Screen.BUILDER)
    step = min(reached, LAST_SCREEN)
    return Position(step, _route(step, served), served)


def served_for(*, progress: Progress, flags: scenarios.Flags) -> scenarios.Resolution:
    """SPEC W5, F8: the scenario this tester is served now, by bucket and routing arm."""
    return flags.serve(bucket=progress.intent_bucket, subject=progress.pk, stored_arm=progress.routing_arm)


def _reached_before_trades(progress: Progress) -> int:
    """The furthest step the stored screen and door answers alone show (no trade lookup)."""
    reached = progress.current_screen
    if progress.intent_bucket is not None or progress.persona_answers is not None:
        reached = max(reached, Screen.SCENARIO)
    return reached


def _route(step: int, served: scenarios.Resolution) -> str:
    return served.builder_route if step == Screen.BUILDER else f"{scenarios.API_ROOT}screen/{step}"


def _conflict(position: Position, detail: str) -> ConflictError:
    return ConflictError({"detail": detail, "next_screen": position.next_screen})


def _require_step(position: Position, step: int) -> None:
    """A POST ahead of the next step is a 409 naming it; the same step or an earlier one
    (going back) is allowed."""
    if step > position.next_step:
        todo = _STEP_TODO[position.next_step]
        raise _conflict(position, f"Screen {step} is not open yet. {todo} See next_screen.")


def _event(progress: Progress, *, step: int, now: dt.datetime, strategy_type: str | None = None) -> None:
    """SPEC W14: one append-only row per successful screen POST, in the POST's transaction."""
    ScreenEvent.objects.create(progress=progress, screen=step, strategy_type=strategy_type, created_at=now)


# --- W3 door screen --------------------------------------------------------------------------


def door_answer(
    *,
    progress: Progress,
    answers: dict[str, Any] | None = None,
    intent_bucket: str | None = None,
    flags: scenarios.Flags = scenarios.Flags.OFF,
) -> Progress:
    """Screen 1: store persona answers and their bucket (full) or the chosen bucket (self_select).

    The answers may change until the tester's first paper trade; from then on they are frozen
    (409), so every trade and survey answer stays under the bucket it was made in (SPEC W13).
    Each answer also (re)assigns the routing arm under the rollout of the moment (SPEC F8),
    frozen with the answers.
    """
    if progress.track == Track.FULL:
        if answers is None or intent_bucket is not None:
            raise RuleViolation({"answers": ["This tester is on the full track: send answers only."]})
        bucket = scenarios.bucket_for_answers(_validated_answers(answers, scenarios.door()["questions"]))
        persona = answers
    else:
        if intent_bucket is None or answers is not None:
            raise RuleViolation(
                {"intent_bucket": ["This tester is on the self_select track: send intent_bucket only."]}
            )
        if intent_bucket not in scenarios.buckets():
            raise RuleViolation({"intent_bucket": [f"{intent_bucket!r} is not a known bucket."]})
        bucket, persona = intent_bucket, None
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)
        if PaperTrade.objects.for_progress(row).exists():
            position = walkthrough_position(progress=row, flags=flags)
            raise _conflict(
                position,
                "The door answers are fixed once a paper trade is filled. Carry on at next_screen.",
            )
        row.persona_answers, row.intent_bucket = persona, bucket
        row.routing_arm = flags.assign_arm(row.pk)
        _event(row, step=Screen.DOOR, now=now)
        _touch(
            row, reached=Screen.SCENARIO, now=now, fields=["persona_answers", "intent_bucket", "routing_arm"]
        )
    return row


def _validated_answers(answers: dict[str, Any], questions: list[dict]) -> dict[str, str]:
    """Every question answered with one of its choices; anything else is a 400, never a guess."""
    errors: dict[str, list[str]] = {}
    known = {q["id"]: {c["value"] for c in q["choices"]} for q in questions}
    for qid, value in answers.items():
        if qid not in known:
            errors[qid] = ["Unknown question."]
        elif not isinstance(value, str) or value not in known[qid]:
            errors[qid] = [f"{value!r} is not one of {', '.join(sorted(known[qid]))}."]
    for qid in known:
        if qid not in answers:
            errors[qid] = ["This question is required."]
    if errors:
        raise RuleViolation({"answers": errors})
    return answers


# --- W4 read screens -------------------------------------------------------------------------


def screen_continue(*, progress: Progress, screen: int, flags: scenarios.Flags) -> Progress:
    """POST `{}` on a read screen (2 or 4): the tester moves on; 409 if it is not open yet."""
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)
        _require_step(walkthrough_position(progress=row, flags=flags), screen)
        _event(row, step=screen, now=now)
        _touch(row, reached=screen + 1, now=now, fields=[])
    return row


def latest_trade(*, progress: Progress) -> PaperTrade | None:
    return progress.latest_trade()


# --- W7 paper trades -------------------------------------------------------------------------


def _require_served(served: scenarios.Resolution, *, route: str, strategy_type: str) -> None:
    """A trade goes to the builder served now, for the strategy served now; else a 409 naming them."""
    if route != served.builder_route:
        detail = (
            f"Paper trades for this tester are built at {served.builder_route}; "
            "POST the trade there (see builder_route)."
        )
    elif strategy_type != served.strategy_type:
        detail = (
            f"strategy_type {strategy_type!r} is not the scenario served now "
            f"({served.strategy_type!r}); fetch the screen again."
        )
    else:
        return
    raise ConflictError(
        {"detail": detail, "strategy_type": served.strategy_type, "builder_route": served.builder_route}
    )


def paper_trade_create(
    *,
    progress: Progress,
    route: str,
    strategy_type: str,
    legs: list[dict[str, Any]],
    flags: scenarios.Flags,
) -> PaperTrade:
    """Validate the legs against the scenario served now and store them exactly as posted.

    The scenario is resolved under the progress row lock (SPEC W13): a door POST takes the
    same lock, so it can never change the bucket between the check and the insert. `route`
    is the builder the trade was posted to; only the tester's current builder_route takes it.
    """
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)
        served = served_for(progress=row, flags=flags)
        # A stored trade only ever moves a tester forward (to the review), so it can decide
        # whether the builder is open only when the screens alone say it is not: the usual
        # trade POST skips that lookup and stays within its query budget.
        if _reached_before_trades(row) < Screen.BUILDER:
            _require_step(walkthrough_position(progress=row, flags=flags), Screen.BUILDER)
        _require_served(served, route=route, strategy_type=strategy_type)
        data = scenarios.scenario(served.scenario)
        errors = check_trade(strategy_type=strategy_type, legs=legs, scenario=data)
        if errors:
            raise RuleViolation(errors)
        # SPEC W15: the fills are recorded now, with the trade, so a later fixture change
        # never rewrites its review.
        fills = fill_quotes(legs, data["chain"])
        columns = iron_condor_columns(legs, fills) if strategy_type == StrategyType.IRON_CONDOR else {}
        trade = PaperTrade.objects.create(
            progress=row,
            strategy_type=strategy_type,
            legs_json=legs,
            fills_json=fills,
            review_json=review_of(legs=legs, fills=fills),
            filled_at=now,
            **columns,
        )
        _event(row, step=Screen.BUILDER, now=now, strategy_type=strategy_type)
        # SPEC F8: the arm freezes with the door answers; a tester who answered the door while
        # routing was off keeps the arm their trade was served under.
        frozen = []
        if row.routing_arm is None and (arm := flags.assign_arm(row.pk)) is not None:
            row.routing_arm, frozen = arm, ["routing_arm"]
        _touch(row, reached=Screen.REVIEW, now=now, fields=frozen)
    return trade


# --- W9 survey -------------------------------------------------------------------------------


def survey_submit(
    *, progress: Progress, answers: dict[str, Any], flags: scenarios.Flags
) -> tuple[dict[str, str], bool]:
    """Store the survey once per tester, after the review; the same answers again are a
    no-op, different ones 409."""
    answers = _validated_answers(answers, scenarios.survey()["questions"])
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)  # serialises two concurrent submissions of one tester
        position = walkthrough_position(progress=row, flags=flags)
        # After the review, which follows the trade: otherwise a tester who skipped the
        # builder would count as having reached screens 3-4 in the cohort funnel (SPEC A2).
        _require_step(position, Screen.SURVEY)
        stored = dict(SurveyAnswer.objects.filter(progress=row).values_list("question_id", "answer"))
        if stored:
            if stored != answers:
                raise _conflict(position, "The survey was already submitted with different answers.")
            _event(row, step=Screen.SURVEY, now=now)
            _touch(row, reached=LAST_SCREEN, now=now, fields=[])  # still a screen POST (ADR 0115)
            return stored, False
        try:
            with transaction.atomic():
                SurveyAnswer.objects.bulk_create(
                    SurveyAnswer(progress=row, question_id=qid, answer=value, submitted_at=now)
                    for qid, value in answers.items()
                )
        except IntegrityError:  # belt and braces: the unique constraint has the last word
            raise _conflict(position, "The survey was already submitted.") from None
        row.completed_at = row.completed_at or now
        _event(row, step=Screen.SURVEY, now=now)
        _touch(row, reached=LAST_SCREEN, now=now, fields=["completed_at"])
    return answers, True


def survey_answers(*, progress: Progress) -> dict[str, str]:
    return dict(SurveyAnswer.objects.filter(progress=progress).values_list("question_id", "answer"))


# --- W16 copy sign-off -----------------------------------------------------------------------

PREVIEW_URL = "/admin/walkthrough/copysignoff/preview/"  # admin:walkthrough_preview
SIGNOFF_PERMISSION = "walkthrough.add_copysignoff"


class CopyNotSignedOff(ConflictError):
    """Inviting testers before the current copy release is signed off (SPEC W16, #3857)."""


def copy_signoff_current() -> CopySignoff | None:
    """The sign-off of the copy release testers would meet now, if an operator gave one."""
    return CopySignoff.objects.filter(
        copy_version=scenarios.copy_version(), copy_digest=scenarios.copy_digest()
    ).first()


def copy_signoff_require() -> None:
    """Refuse to invite while the current copy release has no sign-off (ADR 0115: #3857 closes
    before the first cohort). The message names the version and where to review it."""
    if copy_signoff_current() is None:
        raise CopyNotSignedOff(
            f"The walkthrough copy {scenarios.copy_version()} is not signed off yet, so no tester can "
            f"be invited. Review it in the operator preview ({PREVIEW_URL}) and sign it off there or "
            "with `manage.py copy_signoff --operator USERNAME --note TEXT`."
        )


def copy_signoff_record(*, operator: AbstractBaseUser, note: str) -> CopySignoff:
    """An operator signs off the current copy release, with a note (who and when are recorded)."""
    note = note.strip()
    if not note:
        raise RuleViolation({"note": ["Say what was reviewed: a sign-off needs a note."]})
    # Operators, not analysts: analysts hold view permissions only (SPEC A4).
    if not (operator.is_active and operator.is_staff and operator.has_perm(SIGNOFF_PERMISSION)):
        raise RuleViolation(
            {"operator": [f"{operator.get_username()} is not an active operator who may sign off copy."]}
        )
    try:
        with transaction.atomic():
            signoff = CopySignoff.objects.create(
                copy_version=scenarios.copy_version(),
                copy_digest=scenarios.copy_digest(),
                operator=operator,
                operator_label=operator.get_username(),
                note=note,
            )
            # SPEC P2: the sign-off is a change like any other, in the one change log.
            change_record(
                actor=operator,
                action=Action.COPY_SIGNOFF,
                obj=f"copy version {signoff.copy_version}",
                after={"copy_version": signoff.copy_version, "copy_digest": signoff.copy_digest},
                reason=note,
            )
            return signoff
    except IntegrityError:
        done = copy_signoff_current()
        who = f" by {done.operator_label} at {done.signed_at:%Y-%m-%d %H:%M} UTC" if done else ""
        raise ConflictError(f"The copy {scenarios.copy_version()} is already signed off{who}.") from None


# --- A2 funnel snapshot ---------------------------------------------------------------------


# Any constant key shared by every process: the advisory lock that lets one refresh run at a time.
FUNNEL_REFRESH_LOCK = 0x66756E6E  # "funn"


def funnel_snapshot_refresh(*, now: dt.datetime | None = None) -> int | None:
    """Recompute the whole-programme funnel and store it (beat, and an operator's "refresh now").

    Every query reads one snapshot of the database (REPEATABLE READ on PostgreSQL), so all
    stored numbers agree with each other as of `computed_at`. The rows are at the finest grain
    (bucket, track, routing arm) and serve every group-by and filter (walkthrough.funnel), so
    one row (funnel.SNAPSHOT_KEY) is replaced in place, in the same transaction: the page reads
    either the old snapshot or the new one. One refresh runs at a time (a transaction-scoped
    advisory lock on PostgreSQL, so PgBouncer's transaction mode keeps it): a second one while
    the first runs returns None at once instead of doing the same work again. Returns how many
    snapshots were stored.
    """
    from walkthrough import funnel
    from walkthrough.models import FunnelSnapshot

    postgres = connection.vendor == "postgresql"
    # Only an outermost transaction can set its isolation (a caller's, e.g. a test's, rules).
    own = postgres and not connection.in_atomic_block
    with transaction.atomic():
        if own:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FUNNEL_REFRESH_LOCK])
                if not cursor.fetchone()[0]:
                    return None
        computed_at = now or timezone.now()
        payload = funnel.funnel_parts(issued=funnel.IssuedRange())
        FunnelSnapshot.objects.update_or_create(
            by=funnel.SNAPSHOT_KEY, defaults={"payload": payload, "computed_at": computed_at}
        )
        # Rows of the per-group-by layout of earlier releases: never read again.
        FunnelSnapshot.objects.exclude(by=funnel.SNAPSHOT_KEY).delete()
    return 1


# --- W11 data duties -------------------------------------------------------------------------

_TABLES = {
    "walkthrough.Progress": Progress._meta.db_table,
    "walkthrough.PaperTrade": PaperTrade._meta.db_table,
    "walkthrough.SurveyAnswer": SurveyAnswer._meta.db_table,
    "walkthrough.ScreenEvent": ScreenEvent._meta.db_table,
}


def _delete(queryset) -> dict[str, int]:
    _, per_model = queryset.delete()
    counts = dict.fromkeys(_TABLES.values(), 0)
    for label, count in per_model.items():
        counts[_TABLES[label]] = count
    return counts


def walkthrough_dsr_delete(*, email: str) -> dict[str, int]:
    """A data-subject request: every walkthrough row of this email, at once (SPEC W11)."""
    with transaction.atomic():
        return _delete(Progress.objects.filter(tester_email__iexact=email.strip()))


def walkthrough_purge_after_program(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Delete every beta_walkthrough_* row once BETA_PROGRAM_ENDS_AT + 30 days has passed."""
    ends_at = settings.BETA_PROGRAM_ENDS_AT
    now = now or timezone.now()
    if ends_at is None or now < ends_at + PURGE_AFTER:
        return dict.fromkeys(_TABLES.values(), 0)
    with transaction.atomic():
        return _delete(Progress.objects.all())

"""Every walkthrough write that enforces a rule (SPEC W1–W11). Keyword-only, typed, atomic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from config.api import ConflictError, RuleViolation
from walkthrough import scenarios
from walkthrough.auth import token_hash, token_new
from walkthrough.models import (
    LAST_SCREEN,
    PaperTrade,
    Progress,
    ScreenEvent,
    StrategyType,
    SurveyAnswer,
    Track,
)
from walkthrough.scenarios.rules import CHECKS, iron_condor_columns

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


def walkthrough_token_issue(*, email: str, track: str | None = None) -> tuple[Progress, str]:
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
                    return progress, raw
                if track is not None and track != progress.track:
                    # Switching track would orphan persona answers or a chosen bucket; an
                    # operator who means it deletes the tester (dsr_delete) and issues afresh.
                    raise ConflictError(
                        f"This tester is on the {progress.track} track; a re-issue keeps the track."
                    )
                progress.token_hash = token_hash(raw)
                progress.save(update_fields=["token_hash"])
                return progress, raw
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

DOOR, SCENARIO, BUILDER, REVIEW, SURVEY = 1, 2, 3, 4, 5
# What each step asks of the tester, for the 409 that sends them there.
_STEP_TODO = {
    DOOR: "Answer the door screen first.",
    SCENARIO: "Continue from the scenario screen (POST {}) first.",
    BUILDER: "Build a paper trade first.",
    REVIEW: "Continue from the review screen (POST {}) first.",
    SURVEY: "The survey is the last screen.",
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
    served = flags.resolve(progress.intent_bucket)
    reached = _reached_before_trades(progress)
    has_trade = PaperTrade.objects.for_progress(progress).exists()
    reached = max(reached, REVIEW) if has_trade else min(reached, BUILDER)
    step = min(reached, LAST_SCREEN)
    return Position(step, _route(step, served), served)


def _reached_before_trades(progress: Progress) -> int:
    """The furthest step the stored screen and door answers alone show (no trade lookup)."""
    reached = progress.current_screen
    if progress.intent_bucket is not None or progress.persona_answers is not None:
        reached = max(reached, SCENARIO)
    return reached


def _route(step: int, served: scenarios.Resolution) -> str:
    return served.builder_route if step == BUILDER else f"{scenarios.API_ROOT}screen/{step}"


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
        _event(row, step=DOOR, now=now)
        _touch(row, reached=SCENARIO, now=now, fields=["persona_answers", "intent_bucket"])
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
    return PaperTrade.objects.for_progress(progress).first()


# --- W7 paper trades -------------------------------------------------------------------------


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
        served = flags.resolve(row.intent_bucket)
        # A stored trade only ever moves a tester forward (to the review), so it can decide
        # whether the builder is open only when the screens alone say it is not: the usual
        # trade POST skips that lookup and stays within its query budget (issue 11).
        if _reached_before_trades(row) < BUILDER:
            _require_step(walkthrough_position(progress=row, flags=flags), BUILDER)
        if route != served.builder_route:
            raise ConflictError(
                {
                    "detail": (
                        f"Paper trades for this tester are built at {served.builder_route}; "
                        "POST the trade there (see builder_route)."
                    ),
                    "strategy_type": served.strategy_type,
                    "builder_route": served.builder_route,
                }
            )
        if strategy_type != served.strategy_type:
            raise ConflictError(
                {
                    "detail": (
                        f"strategy_type {strategy_type!r} is not the scenario served now "
                        f"({served.strategy_type!r}); fetch the screen again."
                    ),
                    "strategy_type": served.strategy_type,
                    "builder_route": served.builder_route,
                }
            )
        data = scenarios.scenario(served.scenario)
        errors = CHECKS[strategy_type](legs, data)
        if errors:
            raise RuleViolation(errors)
        columns = (
            iron_condor_columns(legs, data["chain"]) if strategy_type == StrategyType.IRON_CONDOR else {}
        )
        trade = PaperTrade.objects.create(
            progress=row, strategy_type=strategy_type, legs_json=legs, filled_at=now, **columns
        )
        _event(row, step=BUILDER, now=now, strategy_type=strategy_type)
        _touch(row, reached=REVIEW, now=now, fields=[])
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
        _require_step(position, SURVEY)
        stored = dict(SurveyAnswer.objects.filter(progress=row).values_list("question_id", "answer"))
        if stored:
            if stored != answers:
                raise _conflict(position, "The survey was already submitted with different answers.")
            _event(row, step=SURVEY, now=now)
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
        _event(row, step=SURVEY, now=now)
        _touch(row, reached=LAST_SCREEN, now=now, fields=["completed_at"])
    return answers, True


def survey_answers(*, progress: Progress) -> dict[str, str]:
    return dict(SurveyAnswer.objects.filter(progress=progress).values_list("question_id", "answer"))


# --- A2 funnel snapshot ---------------------------------------------------------------------


def funnel_snapshot_refresh(*, now: dt.datetime | None = None) -> int:
    """Recompute the whole-programme funnel of every group-by and store it (beat, issue 11).

    Every query reads one snapshot of the database (REPEATABLE READ on PostgreSQL), so all
    stored numbers agree with each other as of `computed_at`: the four finest-grain queries once,
    the times once per group-by (walkthrough.funnel.funnel_parts_by). Rows are replaced in
    place, in the same transaction: the page reads either the old snapshot or the new one.
    Returns how many group-bys were stored.
    """
    from walkthrough import funnel
    from walkthrough.models import FunnelSnapshot

    # Only an outermost transaction can set its isolation (a caller's, e.g. a test's, rules).
    own = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic():
        if own:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        computed_at = now or timezone.now()
        parts = funnel.funnel_parts_by(bys=list(funnel.GROUP_BY), issued=funnel.IssuedRange())
        for by, payload in parts.items():
            FunnelSnapshot.objects.update_or_create(
                by=by, defaults={"payload": payload, "computed_at": computed_at}
            )
    return len(parts)


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

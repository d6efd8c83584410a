"""Every walkthrough write that enforces a rule (SPEC W1–W11). Keyword-only, typed, atomic."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.api import ConflictError, RuleViolation
from walkthrough import scenarios
from walkthrough.auth import token_hash, token_new
from walkthrough.models import (
    LAST_SCREEN,
    IntentBucket,
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


# --- W3 door screen --------------------------------------------------------------------------


def door_answer(
    *, progress: Progress, answers: dict[str, Any] | None = None, intent_bucket: str | None = None
) -> Progress:
    """Screen 1: store persona answers and their bucket (full) or the chosen bucket (self_select)."""
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
        if intent_bucket not in scenarios.buckets() or intent_bucket not in IntentBucket.values:
            raise RuleViolation({"intent_bucket": [f"{intent_bucket!r} is not a known bucket."]})
        bucket, persona = intent_bucket, None
    with transaction.atomic():
        row = _locked(progress)
        row.persona_answers, row.intent_bucket = persona, bucket
        _touch(row, reached=2, now=timezone.now(), fields=["persona_answers", "intent_bucket"])
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


def screen_continue(*, progress: Progress, screen: int) -> Progress:
    """POST on a read screen (2 or 4): the tester moves on; screen 4 needs a filled trade."""
    with transaction.atomic():
        row = _locked(progress)
        if screen == 4 and not PaperTrade.objects.for_progress(row).exists():
            raise ConflictError("No paper trade yet: build one first (see builder_route).")
        _touch(row, reached=screen + 1, now=timezone.now(), fields=[])
    return row


def latest_trade(*, progress: Progress) -> PaperTrade | None:
    return PaperTrade.objects.for_progress(progress).first()


# --- W7 paper trades -------------------------------------------------------------------------


def paper_trade_create(
    *, progress: Progress, served: scenarios.Resolution, strategy_type: str, legs: list[dict[str, Any]]
) -> PaperTrade:
    """Validate the legs against the scenario served now and store them exactly as posted."""
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
    columns = iron_condor_columns(legs, data["chain"]) if strategy_type == StrategyType.IRON_CONDOR else {}
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)
        trade = PaperTrade.objects.create(
            progress=row, strategy_type=strategy_type, legs_json=legs, filled_at=now, **columns
        )
        _touch(row, reached=4, now=now, fields=[])
    return trade


# --- W9 survey -------------------------------------------------------------------------------


def survey_submit(*, progress: Progress, answers: dict[str, Any]) -> tuple[dict[str, str], bool]:
    """Store the survey once per tester, after a filled trade; the same answers again are a
    no-op, different ones 409."""
    answers = _validated_answers(answers, scenarios.survey()["questions"])
    now = timezone.now()
    with transaction.atomic():
        row = _locked(progress)  # serialises two concurrent submissions of one tester
        stored = dict(SurveyAnswer.objects.filter(progress=row).values_list("question_id", "answer"))
        if stored:
            if stored != answers:
                raise ConflictError("The survey was already submitted with different answers.")
            _touch(row, reached=LAST_SCREEN, now=now, fields=[])  # still a screen POST (ADR 0115)
            return stored, False
        # The survey follows the paper trade, as screen 4 does: otherwise a tester who skipped
        # the builder would count as having reached screens 3-4 in the cohort funnel (SPEC A2).
        if not PaperTrade.objects.for_progress(row).exists():
            raise ConflictError("No paper trade yet: build one first (see builder_route).")
        try:
            with transaction.atomic():
                SurveyAnswer.objects.bulk_create(
                    SurveyAnswer(progress=row, question_id=qid, answer=value, submitted_at=now)
                    for qid, value in answers.items()
                )
        except IntegrityError:  # belt and braces: the unique constraint has the last word
            raise ConflictError("The survey was already submitted.") from None
        row.completed_at = row.completed_at or now
        _touch(row, reached=LAST_SCREEN, now=now, fields=["completed_at"])
    return answers, True


def survey_answers(*, progress: Progress) -> dict[str, str]:
    return dict(SurveyAnswer.objects.filter(progress=progress).values_list("question_id", "answer"))


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

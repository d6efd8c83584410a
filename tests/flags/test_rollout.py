"""SPEC F8: a flag ON for a percentage of subjects, sticky per subject, audited, OFF still wins."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction

from core.errors import RuleViolation
from flags.models import FlagAudit, FlagOverride
from flags.rollout import SLOTS, in_rollout, rollout_slot
from flags.services import flag_override_set
from flags.store import current_snapshot, flag_value, is_enabled, override_rollout

FLAG = "FLAG_WALKTHROUGH_PERSONA_ROUTING"
SUBJECTS = [str(n) for n in range(1, 2001)]
# SHA-256 of "FLAG_WALKTHROUGH_PERSONA_ROUTING:1" etc., first 8 bytes big-endian, mod 10,000.
PINNED_SLOTS = [4829, 1293, 6142]


def test_the_slot_is_a_fixed_function_of_flag_and_subject():
    # Pinned: a change of hash would silently move every tester to another arm mid-programme.
    assert rollout_slot(flag=FLAG, subject="1") == rollout_slot(flag=FLAG, subject="1")
    assert [rollout_slot(flag=FLAG, subject=s) for s in ("1", "2", "3")] == PINNED_SLOTS
    assert all(0 <= rollout_slot(flag=FLAG, subject=s) < SLOTS for s in SUBJECTS)
    # Another flag draws its own subjects: the two rollouts are independent.
    other = "FLAG_SENTIMENT_JOURNAL"
    assert [rollout_slot(flag=other, subject=s) for s in ("1", "2", "3")] != PINNED_SLOTS


@pytest.mark.parametrize(("lower", "higher"), [(1, 10), (10, 50), (50, 51), (50, 100)])
def test_raising_the_percentage_only_adds_subjects(lower, higher):
    before = {s for s in SUBJECTS if in_rollout(flag=FLAG, subject=s, percent=lower)}
    after = {s for s in SUBJECTS if in_rollout(flag=FLAG, subject=s, percent=higher)}
    assert before < after or (before == after and lower == higher)
    assert len(after) == pytest.approx(len(SUBJECTS) * higher / 100, abs=len(SUBJECTS) * 0.05)


def test_every_subject_is_in_a_100_percent_rollout():
    assert all(in_rollout(flag=FLAG, subject=s, percent=100) for s in SUBJECTS)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("env", "enabled", "percent", "source"),
    [
        (None, True, 30, "database"),
        ("1", True, 30, "database"),  # the operator's rollout narrows the environment's ON
        ("0", False, 0, "environment"),  # SPEC F2: OFF wins over any rollout
    ],
)
def test_a_rollout_is_an_on_for_a_share_and_off_still_wins(monkeypatch, env, enabled, percent, source):
    if env is not None:
        monkeypatch.setenv(FLAG, env)
    flag_override_set(name=FLAG, state="on", rollout=30, reason="holdout", actor_label="test")
    value = current_snapshot()[FLAG]
    assert (value.enabled, value.percent, value.source) == (enabled, percent, source)
    reached = [s for s in SUBJECTS if value.enabled_for(s)]
    assert len(reached) == (pytest.approx(600, abs=100) if enabled else 0)
    # A reader that names no subject (a route gate, a task) sees a partial rollout as OFF.
    assert is_enabled(FLAG) is False


@pytest.mark.django_db
def test_an_override_off_wins_over_a_rollout_and_clearing_keeps_nothing():
    flag_override_set(name=FLAG, state="on", rollout=50, reason="a", actor_label="test")
    flag_override_set(name=FLAG, state="off", reason="kill", actor_label="test")
    assert flag_value(FLAG).percent == 0
    assert not any(flag_value(FLAG).enabled_for(s) for s in SUBJECTS)
    assert FlagOverride.objects.get(name=FLAG).rollout_percent is None


@pytest.mark.django_db
def test_every_rollout_change_is_audited_with_the_percentages():
    flag_override_set(name=FLAG, state="on", rollout=20, reason="start", actor_label="test")
    flag_override_set(name=FLAG, state="on", rollout=50, reason="widen", actor_label="test")
    flag_override_set(name=FLAG, state="on", reason="everyone", actor_label="test")
    rows = [(a.old_state, a.new_state, a.reason) for a in FlagAudit.objects.order_by("id")]
    assert rows == [
        ("unset", "on 20 %", "start"),
        ("on 20 %", "on 50 %", "widen"),
        ("on 50 %", "on", "everyone"),
    ]
    assert flag_value(FLAG).everyone and is_enabled(FLAG)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "rollout", "message"),
    [
        ("off", 50, "Only an ON is rolled out"),
        ("unset", 50, "Only an ON is rolled out"),
        ("on", 0, "between 1 and 100"),
        ("on", 101, "between 1 and 100"),
    ],
)
def test_bad_rollouts_write_nothing(state, rollout, message):
    with pytest.raises(RuleViolation, match=message):
        flag_override_set(name=FLAG, state=state, rollout=rollout, reason="x", actor_label="test")
    assert not FlagOverride.objects.exists() and not FlagAudit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_a_rollout_on_an_off_or_out_of_range():
    for enabled, percent in ((False, 50), (True, 0), (True, 101)):
        with pytest.raises(IntegrityError), transaction.atomic():
            FlagOverride.objects.create(name=FLAG, enabled=enabled, rollout_percent=percent, reason="x")


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("flags", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_the_command_sets_a_rollout_and_list_shows_it():
    out, _ = run("set", FLAG, "on", "--rollout", "50", "--reason", "holdout study")
    assert f"{FLAG} is now on for 50 % of subjects (database)" in out
    assert FlagOverride.objects.get(name=FLAG).rollout_percent == 50
    audit = FlagAudit.objects.get()
    assert (audit.new_value, audit.new_rollout, audit.actor_label.startswith("cli:")) == ("on", 50, True)
    line = next(line for line in run("list")[0].splitlines() if line.startswith(FLAG))
    assert line.split()[1:3] == ["on", "database"] and "50 % of subjects" in line


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("on", "--rollout", "half"), "whole percentage from 1 to 100"),
        (("on", "--rollout", "0"), "between 1 and 100"),
        (("off", "--rollout", "50"), "Only an ON is rolled out"),
    ],
)
def test_the_command_refuses_bad_rollouts(args, message):
    with pytest.raises(CommandError, match=message):
        run("set", FLAG, *args, "--reason", "x")
    assert not FlagOverride.objects.exists()


@pytest.mark.django_db
def test_a_test_can_roll_a_flag_out_in_memory():
    with override_rollout(**{FLAG: 25}):
        value = current_snapshot()[FLAG]
        assert (value.enabled, value.percent, value.source) == (True, 25, "test")
    assert current_snapshot()[FLAG].enabled is False


@pytest.mark.django_db
def test_the_admin_sets_a_rollout_and_shows_the_effective_percentage(
    client, operator, staff_login, monkeypatch
):
    staff_login(client, operator)
    url = "/admin/flags/flagoverride/"
    response = client.post(
        url, {"name": FLAG, "state": "on", "rollout": "40", "reason": "holdout"}, follow=True
    )
    message = f"{FLAG} set to on for 40 % of subjects (now on for 40 % of subjects)."
    assert message in response.content.decode()
    row = client.get(url).content.decode().split(f'id="flag-{FLAG}"')[1].split("</tr>")[0]
    assert 'class="flag-percent">40 %' in row and "on for 40 %" in row
    assert FlagAudit.objects.get().new_rollout == 40
    monkeypatch.setenv(FLAG, "0")
    row = client.get(url).content.decode().split(f'id="flag-{FLAG}"')[1].split("</tr>")[0]
    assert 'class="flag-percent">0 %' in row  # OFF wins, and the page says so
    bad = client.post(url, {"name": FLAG, "state": "on", "rollout": "150", "reason": "x"}, follow=True)
    assert "Nothing changed" in bad.content.decode() and FlagAudit.objects.count() == 1

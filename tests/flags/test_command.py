"""SPEC F2/F7: `manage.py flags list|set`."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import ChangeLogEntry
from flags.models import FlagAudit, FlagOverride

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("flags", *args, stdout=out)
    return out.getvalue()


def test_list_shows_every_flag_with_value_and_source(monkeypatch):
    monkeypatch.setenv("FLAG_STRATEGY_TEMPLATES_V2", "on")
    run("set", "FLAG_SENTIMENT_JOURNAL", "on", "--reason", "cohort 2")
    rows = {line.split()[0]: line.split()[1:] for line in run("list").splitlines()}
    assert rows == {
        "FLAG_WALKTHROUGH_PERSONA_ROUTING": ["off", "default"],
        "FLAG_BETA_WALKTHROUGH_SELF_SELECT": ["off", "default"],
        "FLAG_SENTIMENT_JOURNAL": ["on", "database"],
        "FLAG_STRATEGY_TEMPLATES_V2": ["on", "environment"],
    }


def test_list_names_the_environment_when_it_holds_an_override_on_off(monkeypatch):
    monkeypatch.setenv("FLAG_SENTIMENT_JOURNAL", "0")
    out, err = io.StringIO(), io.StringIO()
    call_command("flags", "set", "FLAG_SENTIMENT_JOURNAL", "on", "--reason", "x", stdout=out, stderr=err)
    assert "FLAG_SENTIMENT_JOURNAL is now off (environment)" in out.getvalue()
    assert "holds the override ON off" in err.getvalue()
    line = next(line for line in run("list").splitlines() if line.startswith("FLAG_SENTIMENT_JOURNAL"))
    assert line.split()[1:3] == ["off", "environment"]
    assert "held off by FLAG_SENTIMENT_JOURNAL=0" in line


def test_set_and_clear_are_audited():
    assert "FLAG_SENTIMENT_JOURNAL is now on (database)" in run(
        "set", "FLAG_SENTIMENT_JOURNAL", "ON", "--reason", "go"
    )
    run("set", "FLAG_SENTIMENT_JOURNAL", "clear", "--reason", "back to default")
    assert not FlagOverride.objects.exists()
    audit = list(FlagAudit.objects.order_by("id").values("old_value", "new_value", "reason", "actor_label"))
    assert [(a["old_value"], a["new_value"]) for a in audit] == [("unset", "on"), ("on", "unset")]
    assert audit[0]["reason"] == "go"
    assert audit[1]["reason"] == "back to default"
    assert all(a["actor_label"].startswith("cli:") for a in audit)
    # SPEC P2: the same changes in the change log, by `command`.
    entries = ChangeLogEntry.objects.order_by("id").values_list(
        "actor", "object_repr", "before", "after", "reason"
    )
    assert [
        (actor, obj, before["override"], after["override"], why) for actor, obj, before, after, why in entries
    ] == [
        ("command", "FLAG_SENTIMENT_JOURNAL", "unset", "on", "go"),
        ("command", "FLAG_SENTIMENT_JOURNAL", "on", "unset", "back to default"),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("FLAG_NOPE", "on", "--reason", "x"), "Unknown feature flag 'FLAG_NOPE'"),
        (("FLAG_SENTIMENT_JOURNAL", "maybe", "--reason", "x"), "Unknown value 'maybe'"),
        # Like the admin form, the command refuses an override without a reason (SPEC A5).
        (("FLAG_SENTIMENT_JOURNAL", "on"), "A reason is required"),
        (("FLAG_SENTIMENT_JOURNAL", "off", "--reason", "   "), "A reason is required"),
        (("FLAG_SENTIMENT_JOURNAL", "clear"), "A reason is required"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message):
        run("set", *args)
    assert not FlagOverride.objects.exists()
    assert not FlagAudit.objects.exists()


def test_bad_input_exits_non_zero_from_the_shell():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "manage.py", "flags", "set", "FLAG_NOPE", "on", "--reason", "x"],
        capture_output=True,
        text=True,
        env={"DEBUG": "1", "PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite:////tmp/raxx-flags-cli.sqlite3"},
        check=False,
    )
    assert result.returncode != 0
    assert "FLAG_NOPE" in result.stderr

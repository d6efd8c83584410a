"""SPEC W12 (issue 8): a fourth bucket is a registry entry plus a CHECK-constraint migration.

The registry is loaded from a copy of walkthrough/scenarios/ whose buckets.json has one more
entry; nothing else changes. makemigrations then writes exactly the CHECK (and the field's
choices), and with that constraint in place a tester walks the new bucket through every screen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import IntegrityError, connection

from tests.walkthrough.factories import SURVEY_ANSWERS, legs
from walkthrough import funnel, scenarios
from walkthrough.models import IntentBucket, PaperTrade, Progress, ScreenEvent, intent_bucket_check

NEW = {"value": "hedging", "label": "I want to protect shares I own", "scenario": "covered_call"}
ROOT = Path(__file__).resolve().parents[2]
LOADERS = (scenarios.buckets, scenarios.scenario, scenarios.door, scenarios.survey, scenarios.copy_version)


def registry_with_a_fourth_bucket(tmp_path: Path) -> Path:
    data = tmp_path / "scenarios"
    shutil.copytree(scenarios.DATA_DIR, data, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    registry = json.loads((data / "buckets.json").read_text(encoding="utf-8"))
    registry["buckets"].append({**NEW, "simple_builder": False})
    (data / "buckets.json").write_text(json.dumps(registry), encoding="utf-8")
    return data


def clear_loaders() -> None:
    for loader in LOADERS:
        loader.cache_clear()


def test_the_model_enum_and_its_check_come_from_the_registry():
    assert (
        [value for value, _ in scenarios.bucket_choices()] == list(scenarios.buckets()) == IntentBucket.values
    )
    check = next(
        c for c in Progress._meta.constraints if c.name == "walkthrough_progress_intent_bucket_valid"
    )
    assert check == intent_bucket_check(list(scenarios.buckets()))


def test_makemigrations_writes_only_the_check_constraint_for_a_new_bucket(tmp_path):
    data = registry_with_a_fourth_bucket(tmp_path)
    # A fresh interpreter imports the models with the edited registry, as a deploy would.
    script = (
        "import pathlib, django\n"
        "import walkthrough.scenarios as registry\n"
        f"registry.DATA_DIR = pathlib.Path({str(data)!r})\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('makemigrations', 'walkthrough', dry_run=True, verbosity=3)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "1"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    out = result.stdout
    operations = {
        line.strip().split("(")[0] for line in out.splitlines() if line.strip().startswith("migrations.")
    }
    assert operations == {
        "migrations.AlterField",
        "migrations.RemoveConstraint",
        "migrations.AddConstraint",
    }, out
    assert out.count("name='walkthrough_progress_intent_bucket_valid'") == 2
    assert "'hedging'" in out or '"hedging"' in out
    assert "model_name='progress'" in out or 'model_name="progress"' in out
    assert "papertrade" not in out and "screenevent" not in out


def replace_check(old, new) -> None:
    """What the migration does: drop the bucket CHECK and add it with the new list. SQLite
    rebuilds the table from the model's constraints, so the model carries `new` meanwhile."""
    original = Progress._meta.constraints
    Progress._meta.constraints = [new if c.name == old.name else c for c in original]
    try:
        with connection.schema_editor() as editor:
            editor.remove_constraint(Progress, old)
            editor.add_constraint(Progress, new)
    finally:
        Progress._meta.constraints = original


@pytest.fixture
def fourth_bucket(tmp_path, monkeypatch):
    """The edited registry in this process, and the CHECK the migration above would apply."""
    monkeypatch.setattr(scenarios, "DATA_DIR", registry_with_a_fourth_bucket(tmp_path))
    clear_loaders()
    old = intent_bucket_check(IntentBucket.values)
    new = intent_bucket_check([*IntentBucket.values, NEW["value"]])
    replace_check(old, new)
    yield NEW["value"]
    Progress.objects.filter(intent_bucket=NEW["value"]).delete()
    replace_check(new, old)
    monkeypatch.undo()
    clear_loaders()


@pytest.mark.django_db(transaction=True)
def test_a_fourth_bucket_walks_through_every_screen(fourth_bucket, sam, set_flags):
    set_flags(FLAG_WALKTHROUGH_PERSONA_ROUTING=True, FLAG_BETA_WALKTHROUGH_SELF_SELECT=True)
    choices = [c["value"] for c in sam.get("screen/1").json()["choices"]]
    assert choices[-1] == fourth_bucket

    assert sam.post("screen/1", {"intent_bucket": fourth_bucket}).status_code == 200
    two = sam.get("screen/2").json()
    assert (two["scenario"], two["builder_route"]) == ("covered_call", "/api/walkthrough/screen/3")
    assert sam.post("screen/2").status_code == 200
    trade = sam.post("screen/3", {"strategy_type": "covered_call", "legs": legs("covered_call")})
    assert trade.status_code == 201, trade.json()
    assert sam.post("screen/4").status_code == 200
    assert sam.post("screen/5", {"answers": SURVEY_ANSWERS}).status_code == 201

    summary = sam.get().json()
    assert (summary["intent_bucket"], summary["current_screen"], summary["completed"]) == (
        fourth_bucket,
        5,
        True,
    )
    assert summary["next_screen"] is None  # complete: nothing is next
    assert PaperTrade.objects.get().strategy_type == "covered_call"
    assert list(ScreenEvent.objects.values_list("screen", flat=True)) == [1, 2, 3, 4, 5]
    # The funnel lists it from the registry too.
    report = funnel.funnel_report(by="intent_bucket")
    row = next(r for r in report.rows if r.key[0] == fourth_bucket)
    steps = {cell.step.key: cell for cell in row.steps}
    assert (row.testers, steps["survey"].reached) == (1, 1)
    assert dict(steps["trade"].strategies)["covered_call"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_bucket_outside_the_registry_is_400_and_the_database_refuses_it(sam):
    """Also proves the fixture above put the original CHECK back."""
    assert sam.post("screen/1", {"intent_bucket": "hedging"}).status_code == 400
    assert Progress.objects.get(pk=sam.progress.pk).intent_bucket is None
    with pytest.raises(IntegrityError):
        Progress.objects.filter(pk=sam.progress.pk).update(intent_bucket="hedging")

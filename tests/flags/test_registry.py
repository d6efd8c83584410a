"""SPEC F1: the registry and its system checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from flags.checks import check_flag_registry
from flags.registry import UnknownFlag, parse_flag_value, parse_registry, registry
from flags.store import is_enabled, override_flags
from tests.processes import ROOT, clean_env, manage

GOOD_ENTRY = """
  - name: FLAG_GOOD
    default: false
    description: fine
    owner: team
    adr: "0001"
"""


def test_shipped_registry_declares_the_four_flags_all_off():
    flags = registry()
    assert set(flags) == {
        "FLAG_WALKTHROUGH_PERSONA_ROUTING",
        "FLAG_BETA_WALKTHROUGH_SELF_SELECT",
        "FLAG_SENTIMENT_JOURNAL",
        "FLAG_STRATEGY_TEMPLATES_V2",
    }
    assert all(flag.default is False for flag in flags.values())
    assert all(flag.owner and flag.adr and flag.description for flag in flags.values())


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("flags: [", "not valid YAML"),
        ("flags: {}", "top-level 'flags:' list"),
        ("flags:\n  - just-a-string\n", "entry #1: must be a mapping"),
        (
            "flags:\n  - name: FLAG_X\n    default: false\n",
            "entry #1 (FLAG_X): missing key(s) description, owner, adr",
        ),
        (
            "flags:" + GOOD_ENTRY.replace("adr:", "colour: red\n    adr:"),
            "entry #1 (FLAG_GOOD): unknown key(s) colour",
        ),
        (
            "flags:" + GOOD_ENTRY.replace("default: false", "default: true"),
            "entry #1 (FLAG_GOOD): default must be OFF",
        ),
        ("flags:" + GOOD_ENTRY.replace("default: false", "default: 'no'"), "default must be false or true"),
        ("flags:" + GOOD_ENTRY.replace("FLAG_GOOD", "flag-good"), "name must match"),
        ("flags:" + GOOD_ENTRY + GOOD_ENTRY, "entry #2 (FLAG_GOOD): FLAG_GOOD is declared more than once"),
        ("flags:" + GOOD_ENTRY.replace("owner: team", "owner: ''"), "owner must not be empty"),
    ],
)
def test_malformed_registry_entries_are_named(yaml_text, expected):
    _, errors = parse_registry(yaml_text)
    assert any(expected in error for error in errors), errors


def test_valid_registry_parses():
    specs, errors = parse_registry("flags:" + GOOD_ENTRY)
    assert errors == []
    assert specs["FLAG_GOOD"].default is False


@pytest.fixture
def registry_file(tmp_path, settings):
    path = tmp_path / "feature_flags.yaml"
    settings.FEATURE_FLAGS_FILE = path
    return path


def test_manage_py_check_fails_on_a_malformed_entry(registry_file):
    registry_file.write_text("flags:" + GOOD_ENTRY.replace("default: false", "default: true"))
    with pytest.raises(SystemCheckError, match=r"flags.E001.*FLAG_GOOD.*default must be OFF"):
        call_command("check")


def test_manage_py_check_passes_on_the_shipped_registry():
    call_command("check")  # raises SystemCheckError on any error


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("FLAG_SENTIMENT_JOURNL", "1", "FLAG_SENTIMENT_JOURNL is not a flag declared"),
        ("FLAG_SENTIMENT_JOURNAL", "yes please", "FLAG_SENTIMENT_JOURNAL='yes please' is not one of"),
    ],
)
def test_check_rejects_bad_flag_environment(monkeypatch, key, value, message):
    monkeypatch.setenv(key, value)
    errors = check_flag_registry()
    assert [e.id for e in errors] == ["flags.E002"]
    assert message in errors[0].msg
    with pytest.raises(SystemCheckError, match=key):
        call_command("check")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("TRUE", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("OFF", False),
    ],
)
def test_environment_words(raw, expected):
    assert parse_flag_value(raw) is expected


@pytest.mark.parametrize("raw", ["yes", "2", "", "enabled"])
def test_unparseable_environment_value_is_a_startup_error_naming_the_flag(monkeypatch, db, raw):
    assert pytest.raises(ValueError, parse_flag_value, raw)
    monkeypatch.setenv("FLAG_SENTIMENT_JOURNAL", raw)
    with pytest.raises(ImproperlyConfigured, match="FLAG_SENTIMENT_JOURNAL"):
        is_enabled("FLAG_SENTIMENT_JOURNAL")


def test_unknown_flag_in_code_raises_naming_it(db):
    with pytest.raises(UnknownFlag, match="FLAG_DOES_NOT_EXIST"):
        is_enabled("FLAG_DOES_NOT_EXIST")
    with pytest.raises(UnknownFlag, match="FLAG_TYPO"), override_flags(FLAG_TYPO=True):
        pass


def test_web_process_refuses_to_start_on_a_flag_typo():
    env = clean_env({"DEBUG": "1", "FLAG_SENTIMENT_JOURNL": "1"})
    result = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "FLAG_SENTIMENT_JOURNL is not a flag declared" in result.stderr


@pytest.mark.parametrize("command", [["worker", "--pool", "solo"], ["beat"]])
def test_celery_worker_and_beat_refuse_to_start_on_a_flag_typo(tmp_path, command):
    """Celery swallows a signal handler's exception; the typo must still stop the process."""
    celery = str(Path(sys.executable).parent / "celery")
    env = clean_env({"DEBUG": "1", "FLAG_SENTIMENT_JOURNL": "1"})
    extra = ["--schedule", str(tmp_path / "beat-schedule")] if command == ["beat"] else []
    result = subprocess.run(
        [celery, "-A", "config", *command, *extra, "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr + result.stdout
    assert "FLAG_SENTIMENT_JOURNL is not a flag declared" in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flags:" + GOOD_ENTRY.replace("default: false", "default: true"), "FLAG_GOOD): default must be OFF"),
        ("flags: [", "not valid YAML"),
    ],
)
def test_manage_py_check_reports_a_broken_registry_file_as_a_check_error(tmp_path, text, expected):
    """The real process, registry not cached: a check error naming the entry, not a traceback."""
    path = tmp_path / "feature_flags.yaml"
    path.write_text(text)
    result = manage("check", env={"DEBUG": "1", "FEATURE_FLAGS_FILE": str(path)})
    assert result.returncode != 0
    assert "flags.E001" in result.stderr and expected in result.stderr
    assert "Traceback" not in result.stderr

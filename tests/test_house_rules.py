"""House rules that keep the code base in shape for the next engineer (docs/architecture.md)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
OWN_APPS = ("accounts", "flags", "walkthrough", "journal")
PRODUCTION_PACKAGES = (
    "accounts",
    "audit",
    "config",
    "core",
    "flags",
    "idempotency",
    "journal",
    "trading",
    "walkthrough",
)
MAX_FUNCTION_LINES = 60


def _production_modules() -> list[Path]:
    return sorted(
        path
        for package in PRODUCTION_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_journal_models_do_not_import_services():
    """Rules live in services and models hold data: no import circle between the two."""
    assert not [m for m in _imports(ROOT / "journal" / "models.py") if m.startswith("journal.services")]


@pytest.mark.parametrize(("app", "other"), [("walkthrough", "journal"), ("journal", "walkthrough")])
def test_apps_import_only_flags_and_the_shared_leg_module_from_each_other(app, other):
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in _imports(path) if m.split(".")[0] == other)
        for path in (ROOT / app).rglob("*.py")
    }
    assert not {path: mods for path, mods in offenders.items() if mods}


def test_every_unique_rule_is_a_named_constraint():
    unnamed = [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        if model._meta.app_label in OWN_APPS
        for field in model._meta.local_fields
        if field.unique
        and not field.primary_key
        and not field.one_to_one
        # Django's AbstractUser declares username unique; its auth checks and forms rely on it.
        and f"{model._meta.label}.{field.name}" != "accounts.User.username"
    ]
    together = [model._meta.label for model in apps.get_models() if model._meta.unique_together]
    assert not unnamed, unnamed
    assert not [label for label in together if label.split(".")[0] in OWN_APPS]


def test_no_production_function_runs_past_sixty_lines():
    """A function a reader holds in their head at once; past that, split it (migrations aside)."""
    long = [
        f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for path in _production_modules()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, long


def test_the_walkthrough_admin_stays_small():
    """The funnel page, the invite form and the preview live beside it, not in it."""
    lines = (ROOT / "walkthrough" / "admin.py").read_text(encoding="utf-8").count("\n")
    assert lines < 400, lines


def test_production_comments_tell_why_not_history():
    """ "issue 11: ..." belongs in docs/ and the git log, not in the code a reader changes."""
    history = re.compile(r"issue [0-9]", re.IGNORECASE)
    found = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in _production_modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if history.search(line)
    ]
    assert not found, found

"""House keeping found on the way (issue 10, item 6): rules that keep the code base in shape."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent
OWN_APPS = ("accounts", "flags", "walkthrough", "journal")


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

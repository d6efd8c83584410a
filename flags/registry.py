"""The flag registry (SPEC F1): `feature_flags.yaml` parsed and validated once per process."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FLAG_NAME_RE = re.compile(r"^FLAG_[A-Z0-9_]+$")
REQUIRED_KEYS = ("name", "default", "description", "owner", "adr")
TRUE_WORDS = frozenset({"1", "true", "on"})
FALSE_WORDS = frozenset({"0", "false", "off"})


class UnknownFlag(KeyError):
    """Code asked for a flag that `feature_flags.yaml` does not declare."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"Unknown feature flag {self.name!r}: declare it in feature_flags.yaml"


@dataclass(frozen=True)
class FlagSpec:
    name: str
    default: bool
    description: str
    owner: str
    adr: str


def parse_flag_value(raw: str) -> bool:
    """`1/0`, `true/false`, `on/off`, case-insensitive (SPEC F2); anything else is ValueError."""
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(raw)


def registry_path() -> Path:
    return Path(getattr(settings, "FEATURE_FLAGS_FILE", settings.BASE_DIR / "feature_flags.yaml"))


def parse_registry(text: str) -> tuple[dict[str, FlagSpec], list[str]]:
    """Parse registry YAML; return the valid flags and one message per problem found."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return {}, [f"feature_flags.yaml is not valid YAML: {exc}"]
    if not isinstance(data, dict) or not isinstance(data.get("flags"), list):
        return {}, ["feature_flags.yaml must have a top-level 'flags:' list"]
    specs: dict[str, FlagSpec] = {}
    errors: list[str] = []
    for index, entry in enumerate(data["flags"]):
        label = f"entry #{index + 1}"
        if not isinstance(entry, dict):
            errors.append(f"{label}: must be a mapping with keys {', '.join(REQUIRED_KEYS)}")
            continue
        name = entry.get("name")
        if isinstance(name, str):
            label = f"{label} ({name})"
        missing = [key for key in REQUIRED_KEYS if key not in entry]
        unknown = sorted(set(entry) - set(REQUIRED_KEYS))
        if missing:
            errors.append(f"{label}: missing key(s) {', '.join(missing)}")
        if unknown:
            errors.append(f"{label}: unknown key(s) {', '.join(unknown)}")
        if missing or unknown:
            continue
        if not isinstance(name, str) or not FLAG_NAME_RE.match(name):
            errors.append(f"{label}: name must match FLAG_[A-Z0-9_]+")
            continue
        if name in specs:
            errors.append(f"{label}: {name} is declared more than once")
            continue
        if not isinstance(entry["default"], bool):
            errors.append(f"{label}: default must be false or true")
            continue
        if entry["default"] is True:
            errors.append(f"{label}: default must be OFF (false); turn a flag on per environment")
            continue
        blank = [k for k in ("description", "owner", "adr") if not str(entry[k] or "").strip()]
        if blank:
            errors.append(f"{label}: {', '.join(blank)} must not be empty")
            continue
        specs[name] = FlagSpec(
            name=name,
            default=False,
            description=str(entry["description"]).strip(),
            owner=str(entry["owner"]).strip(),
            adr=str(entry["adr"]).strip(),
        )
    return specs, errors


def load_registry_file(path: Path) -> tuple[dict[str, FlagSpec], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, [f"cannot read {path}: {exc.strerror}"]
    return parse_registry(text)


@functools.cache
def registry() -> dict[str, FlagSpec]:
    """The declared flags; a broken registry is a start-up error, not a silent default."""
    specs, errors = load_registry_file(registry_path())
    if errors:
        raise ImproperlyConfigured("feature_flags.yaml: " + "; ".join(errors))
    return specs


def spec(name: str) -> FlagSpec:
    try:
        return registry()[name]
    except KeyError:
        raise UnknownFlag(name) from None


def environment_problems(
    declared: dict[str, FlagSpec], environ: dict[str, str] | os._Environ = os.environ
) -> list[str]:
    """FLAG_* variables that are undeclared (a typo in a config var) or unparseable."""
    problems = []
    for key in sorted(environ):
        if not key.startswith("FLAG_"):
            continue
        if key not in declared:
            problems.append(f"environment variable {key} is not a flag declared in feature_flags.yaml")
            continue
        try:
            parse_flag_value(environ[key])
        except ValueError:
            problems.append(
                f"environment variable {key}={environ[key]!r} is not one of 1/0, true/false, on/off"
            )
    return problems


def environment_value(name: str) -> bool | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        return parse_flag_value(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"environment variable {name}={raw!r} is not one of 1/0, true/false, on/off"
        ) from None


def assert_ready() -> None:
    """Fail fast at process start (wsgi, Celery) on any registry or FLAG_* problem."""
    problems = environment_problems(registry())
    if problems:
        raise ImproperlyConfigured("; ".join(problems))

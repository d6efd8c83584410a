"""Flag values (SPEC F2–F4): test override, else OFF wins, else ON, else the registry default.

Between the database override and the `FLAG_*` environment variable an explicit OFF from
either decides (so `heroku config:set FLAG_X=0`, the ADRs' kill switch, always works); an
explicit ON from either turns the flag on only when neither says OFF; the registry default
applies only when neither says anything.

Database overrides are cached per process for FLAGS_CACHE_SECONDS (≤ 5 s), so a warm cache
costs no query and a kill switch reaches every process within the SPEC F3 bound. A request
reads one immutable snapshot (see middleware), so a flip mid-request cannot split it.

Reading flags never fails a request (SPEC 0, F3): when the database cannot be read the store
serves the overrides it last read (or none: the environment and the registry defaults, which
are OFF), as feature-flag SDKs fall back to their last known state, and tries again after
one TTL. A gated route then either answers the unknown URL's 404 or reaches its view, whose own
database error is the API's 503.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal, NamedTuple

from django.conf import settings
from django.db import DatabaseError

from config import metrics
from flags.registry import environment_value, registry, spec
from flags.rollout import check_percent, in_rollout

logger = logging.getLogger(__name__)

Source = Literal["test", "database", "environment", "default"]


@dataclass(frozen=True)
class FlagValue:
    name: str
    enabled: bool
    # The source that decided the value (for OFF-wins, the one that said OFF).
    source: Source
    # Set when a database override ON is held off by FLAG_*=0 in the environment: the admin
    # warns about it, since the operator's ON is doing nothing.
    held_off_by_environment: bool = False
    # SPEC F8: ON for this percentage of subjects only (flags.rollout); None is everyone.
    rollout: int | None = None

    @property
    def percent(self) -> int:
        """The effective share of subjects the flag is ON for: 0 when OFF, 100 when ON for all."""
        if not self.enabled:
            return 0
        return 100 if self.rollout is None else self.rollout

    @property
    def everyone(self) -> bool:
        """ON for every subject: what a reader that names no subject sees as ON."""
        return self.percent == 100

    @property
    def state(self) -> str:
        """ "on", "off" or "on for P % of subjects": how commands and pages say it."""
        if not self.enabled:
            return "off"
        return "on" if self.everyone else f"on for {self.percent} % of subjects"

    def enabled_for(self, subject: str) -> bool:
        """ON for this subject (SPEC F8): sticky by a hash of the flag name and the subject."""
        if self.everyone or not self.enabled:
            return self.enabled
        return in_rollout(flag=self.name, subject=subject, percent=self.percent)


def resolve(
    name: str, *, database: bool | None, environment: bool | None, default: bool, rollout: int | None = None
) -> FlagValue:
    """SPEC F2: an explicit OFF anywhere wins, then an explicit ON, then the default.

    `rollout` is the database override's percentage (SPEC F8): an operator's rollout narrows
    an ON from the environment too, and OFF from either source still wins over it.
    """
    if environment is False:
        return FlagValue(name, False, "environment", held_off_by_environment=database is True)
    if database is False:
        return FlagValue(name, False, "database")
    if database is True:
        return FlagValue(name, True, "database", rollout=rollout)
    if environment is True:
        return FlagValue(name, True, "environment")
    return FlagValue(name, default, "default")


class FlagSnapshot(Mapping[str, FlagValue]):
    """All flags' values at one instant. Unknown names raise UnknownFlag."""

    def __init__(self, values: dict[str, FlagValue]):
        self._values = values

    def __getitem__(self, name: str) -> FlagValue:
        if name not in self._values:
            spec(name)  # raises UnknownFlag with a helpful message
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def is_enabled(self, name: str) -> bool:
        """ON for everyone. A reader that names no subject (a route gate, a Celery task) sees a
        partial rollout as OFF: a rollout reaches only the subjects it can tell apart."""
        value = self[name]
        metrics.count_flag_decision(flag=name, source=value.source)  # SPEC O4
        return value.everyone


class Override(NamedTuple):
    """One database override row as the store caches it."""

    enabled: bool
    rollout: int | None


# Test overrides live in process memory (no database writes, nothing leaks between tests) and
# are shared by threads, so a live_server thread in a browser test sees them too.
_test_overrides: dict[str, Override] = {}
_test_lock = threading.Lock()


class FlagStore:
    """Reads database overrides at most once per `ttl` seconds; cheap to snapshot."""

    def __init__(self, *, ttl: float | None = None, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._overrides: dict[str, Override] | None = None
        self._loaded_at = 0.0
        # The overrides of the last successful read, kept across invalidate(): the fallback
        # while the database is down. `_failing` makes the outage log once, not per request.
        self._last_known: dict[str, Override] | None = None
        self._failing = False

    @property
    def ttl(self) -> float:
        return settings.FLAGS_CACHE_SECONDS if self._ttl is None else self._ttl

    def invalidate(self) -> None:
        with self._lock:
            self._overrides = self._last_known = None

    def database_overrides(self) -> dict[str, Override]:
        with self._lock:
            fresh = self._overrides is not None and self._clock() - self._loaded_at < self.ttl
            if fresh:
                return self._overrides
        try:
            overrides = self._read_database()
        except DatabaseError as error:
            return self._fall_back(error)
        with self._lock:
            if self._failing:
                logger.warning("flags: the database answers again; overrides read afresh")
            self._overrides, self._loaded_at = overrides, self._clock()
            self._last_known, self._failing = overrides, False
        return overrides

    @staticmethod
    def _read_database() -> dict[str, Override]:
        from flags.models import FlagOverride  # the store is imported before apps are ready

        rows = FlagOverride.objects.values_list("name", "enabled", "rollout_percent")
        return {name: Override(enabled, rollout) for name, enabled, rollout in rows}

    def _fall_back(self, error: DatabaseError) -> dict[str, Override]:
        """Serve the last known overrides (or none) for one TTL, then try the database again."""
        with self._lock:
            fallback = dict(self._last_known or {})
            if not self._failing:
                logger.error(
                    "flags: cannot read overrides (%s); serving %s until the database answers",
                    type(error).__name__,
                    "environment and defaults" if self._last_known is None else "the last known overrides",
                )
            self._overrides, self._loaded_at, self._failing = fallback, self._clock(), True
        return fallback

    def snapshot(self) -> FlagSnapshot:
        overrides = self.database_overrides()
        with _test_lock:
            test_values = dict(_test_overrides)
        values: dict[str, FlagValue] = {}
        for name, flag in registry().items():
            if name in test_values:
                enabled, rollout = test_values[name]
                values[name] = FlagValue(name, enabled, "test", rollout=rollout if enabled else None)
            else:
                override = overrides.get(name)
                values[name] = resolve(
                    name,
                    database=override.enabled if override else None,
                    environment=environment_value(name),
                    default=flag.default,
                    rollout=override.rollout if override else None,
                )
        return FlagSnapshot(values)


store = FlagStore()


def current_snapshot() -> FlagSnapshot:
    return store.snapshot()


def flag_value(name: str, *, request=None) -> FlagValue:
    """A flag's full value, rollout included (SPEC F8): the request's snapshot, or a fresh one."""
    snapshot = getattr(request, "flags", None) if request is not None else None
    if snapshot is None:
        snapshot = current_snapshot()
    value = snapshot[name]
    metrics.count_flag_decision(flag=name, source=value.source)  # SPEC O4
    return value


def is_enabled(name: str, *, request=None) -> bool:
    """The one way code reads a flag: the request's snapshot, or a fresh one (Celery tasks).
    ON means ON for everyone; per-subject readers use flag_value(...).enabled_for(subject)."""
    return flag_value(name, request=request).everyone


@contextmanager
def override_flags(**values: bool) -> Iterator[None]:
    """Set flags in memory for a test: `with override_flags(FLAG_SENTIMENT_JOURNAL=True): ...`."""
    with _overridden({name: Override(bool(value), None) for name, value in values.items()}):
        yield


@contextmanager
def override_rollout(**percents: int) -> Iterator[None]:
    """A rollout in memory for a test (SPEC F8): `override_rollout(FLAG_X=50)` is ON for 50 %."""
    with _overridden({name: Override(True, check_percent(p)) for name, p in percents.items()}):
        yield


@contextmanager
def _overridden(values: dict[str, Override]) -> Iterator[None]:
    for name in values:
        spec(name)
    with _test_lock:
        saved = dict(_test_overrides)
        _test_overrides.update(values)
    try:
        yield
    finally:
        with _test_lock:
            _test_overrides.clear()
            _test_overrides.update(saved)

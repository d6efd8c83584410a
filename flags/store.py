"""Flag values (SPEC F2–F4): test override, else OFF wins, else ON, else the registry default.

Between the database override and the `FLAG_*` environment variable an explicit OFF from
either decides (so `heroku config:set FLAG_X=0`, the ADRs' kill switch, always works); an
explicit ON from either turns the flag on only when neither says OFF; the registry default
applies only when neither says anything.

Database overrides are cached per process for FLAGS_CACHE_SECONDS (≤ 5 s), so a warm cache
costs no query and a kill switch reaches every process within the SPEC F3 bound. A request
reads one immutable snapshot (see middleware), so a flip mid-request cannot split it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from django.conf import settings

from flags.registry import environment_value, registry, spec

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


def resolve(name: str, *, database: bool | None, environment: bool | None, default: bool) -> FlagValue:
    """SPEC F2: an explicit OFF anywhere wins, then an explicit ON, then the default."""
    if environment is False:
        return FlagValue(name, False, "environment", held_off_by_environment=database is True)
    if database is False:
        return FlagValue(name, False, "database")
    if database is True:
        return FlagValue(name, True, "database")
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
        return self[name].enabled


# Test overrides live in process memory (no database writes, nothing leaks between tests) and
# are shared by threads, so a live_server thread in a browser test sees them too.
_test_overrides: dict[str, bool] = {}
_test_lock = threading.Lock()


class FlagStore:
    """Reads database overrides at most once per `ttl` seconds; cheap to snapshot."""

    def __init__(self, *, ttl: float | None = None, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._overrides: dict[str, bool] | None = None
        self._loaded_at = 0.0

    @property
    def ttl(self) -> float:
        return settings.FLAGS_CACHE_SECONDS if self._ttl is None else self._ttl

    def invalidate(self) -> None:
        with self._lock:
            self._overrides = None

    def database_overrides(self) -> dict[str, bool]:
        with self._lock:
            fresh = self._overrides is not None and self._clock() - self._loaded_at < self.ttl
            if fresh:
                return self._overrides
        from flags.models import FlagOverride  # the store is imported before apps are ready

        overrides = dict(FlagOverride.objects.values_list("name", "enabled"))
        with self._lock:
            self._overrides, self._loaded_at = overrides, self._clock()
        return overrides

    def snapshot(self) -> FlagSnapshot:
        overrides = self.database_overrides()
        with _test_lock:
            test_values = dict(_test_overrides)
        values: dict[str, FlagValue] = {}
        for name, flag in registry().items():
            if name in test_values:
                values[name] = FlagValue(name, test_values[name], "test")
            else:
                values[name] = resolve(
                    name,
                    database=overrides.get(name),
                    environment=environment_value(name),
                    default=flag.default,
                )
        return FlagSnapshot(values)


store = FlagStore()


def current_snapshot() -> FlagSnapshot:
    return store.snapshot()


def is_enabled(name: str, *, request=None) -> bool:
    """The one way code reads a flag: the request's snapshot, or a fresh one (Celery tasks)."""
    snapshot = getattr(request, "flags", None) if request is not None else None
    if snapshot is None:
        snapshot = current_snapshot()
    return snapshot.is_enabled(name)


@contextmanager
def override_flags(**values: bool) -> Iterator[None]:
    """Set flags in memory for a test: `with override_flags(FLAG_SENTIMENT_JOURNAL=True): ...`."""
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

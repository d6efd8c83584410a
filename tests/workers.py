"""A real Celery worker in a subprocess, against the test database and Redis (CI only).

Tests call services or task functions directly; these helpers exist so that CI also proves the
tasks run in a real `celery -A config worker` process, as beat and operators run them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The URL of the test database this process is connected to, for the worker to share."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def broker_url() -> str:
    return os.environ.get("CELERY_BROKER_URL") or os.environ["REDIS_URL"]


class Worker:
    def __init__(self, log_path: Path, process: subprocess.Popen):
        self.log_path = log_path
        self.process = process

    def output(self) -> str:
        return self.log_path.read_text()[-3000:]

    def wait_for(self, condition: Callable[[], bool], *, timeout: float = 60) -> bool:
        """Poll a separate process's effect, bounded in time (not a time rule: no sleeping past it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if condition():
                return True
            time.sleep(0.5)
        return condition()


@contextmanager
def celery_worker(*, name: str, beat: bool = False, env: dict[str, str] | None = None) -> Iterator[Worker]:
    """Run `celery -A config worker [-B]` on the test database and Redis until the block ends."""
    with tempfile.TemporaryDirectory(prefix="raxx-worker-") as tmp:
        environment = {
            **os.environ,
            "DEBUG": "1",
            "SECURE_SSL_REDIRECT": "0",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url(),
            **(env or {}),
        }
        command = [str(Path(sys.executable).parent / "celery"), "-A", "config", "worker"]
        if beat:
            command += ["-B", "--schedule-filename", str(Path(tmp) / "beat-schedule")]
        command += [
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{name}-{os.getpid()}@%h",
        ]
        log_path = Path(tmp) / "worker.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
            )
            try:
                yield Worker(log_path, process)
            finally:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)

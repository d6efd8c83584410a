"""Run manage.py in a clean child process: only PATH and the variables a test gives it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The three variables SPEC 0 says production needs, and nothing else.
PROD_ENV = {
    "SECRET_KEY": "k3y-" + "x9Qz!p7Lm#" * 6,
    "ALLOWED_HOSTS": "raxx.example.com",
    "DATABASE_URL": "sqlite:////tmp/raxx-prod-check.sqlite3",
}


def clean_env(env: dict[str, str]) -> dict[str, str]:
    # No DEBUG, no FLAG_*, no developer .env values leak in from the shell.
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}


def manage(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )

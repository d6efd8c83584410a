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


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, *, headers: dict[str, str] | None = None, body: bytes | None = None):
    """(status, headers, body text) of one request; HTTP errors are answers, not exceptions."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", errors="replace")


class Server:
    """A gunicorn web process (one worker) with exactly the environment a test gives it."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
        self.env = clean_env({**env, "PATH": path})
        self.process: subprocess.Popen | None = None
        self.output = ""

    def __enter__(self) -> Server:
        import time
        import urllib.error

        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                http("GET", self.url + "/healthz")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)  # bounded wait for a separate process to listen
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not start: {self.output[-3000:]}")

    def __exit__(self, *exc) -> None:
        import signal

        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.output = self.process.communicate(timeout=30)[0].decode(errors="replace")

"""Run manage.py in a clean child process: only PATH and the variables a test gives it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
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


# gunicorn's line once it has bound its socket: the port it really got.
LISTENING = re.compile(rb"Listening at: http://[^\s:]+:(\d+)")


class ProcessOutput:
    """A child's merged output, read on a thread (a full pipe would stall the child), and the
    port gunicorn says it listens on.

    Servers bind port 0 and report what they got: picking a free port, closing it and handing
    it to the child let another process take it in between (a server that never started, or
    a test talking to someone else's server)."""

    def __init__(self, process: subprocess.Popen):
        self._lines: list[bytes] = []
        self._port: int | None = None
        self._port_known = threading.Event()
        self._reader = threading.Thread(target=self._read, args=(process.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream) -> None:
        for line in iter(stream.readline, b""):
            self._lines.append(line)
            match = LISTENING.search(line) if self._port is None else None
            if match:
                self._port = int(match.group(1))
                self._port_known.set()
        self._port_known.set()  # the child ended: no port is coming

    def port(self, timeout: float) -> int | None:
        self._port_known.wait(timeout)
        return self._port

    def text(self) -> str:
        self._reader.join(timeout=30)
        return b"".join(self._lines).decode(errors="replace")


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
    """A gunicorn web process (one worker unless told) with exactly the environment a test gives it."""

    def __init__(self, env: dict[str, str], *, workers: int = 1):
        self.workers = workers
        path = f"{os.path.dirname(sys.executable)}:{os.environ.get('PATH', '')}"
        self.env = clean_env({**env, "PATH": path})
        self.process: subprocess.Popen | None = None
        self.port: int | None = None
        self.url = ""
        self.output = ""

    def __enter__(self) -> Server:
        import time
        import urllib.error

        self.process = subprocess.Popen(
            # gunicorn.conf.py (worker class, threads, timeouts) applies, as in the Procfile.
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-b", "127.0.0.1:0", "-w", str(self.workers)],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._output = ProcessOutput(self.process)
        deadline = time.monotonic() + 60
        self.port = self._output.port(timeout=60)
        if self.port is not None:
            self.url = f"http://127.0.0.1:{self.port}"
        while self.port is not None and time.monotonic() < deadline and self.process.poll() is None:
            try:
                http("GET", self.url + "/healthz")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)  # bounded wait for the worker to boot
        self.__exit__(None, None, None)
        raise RuntimeError(f"server did not start: {self.output[-3000:]}")

    def __exit__(self, *exc) -> None:
        import signal

        if self.process is not None:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
            self.output = self._output.text()

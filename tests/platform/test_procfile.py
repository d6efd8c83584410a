"""SPEC 0 production shape: every Procfile process, started from a clean clone as a platform
starts it, stays up and does its job (the beat schedule file once stopped beat on every fresh
deploy: docs/reliability.md, "Every Procfile process starts from a clean clone").

Only the variables README's Heroku section sets reach the processes, plus PORT (the platform's)
and a short lock interval, so the sweep can be seen within seconds.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid

import psycopg
import pytest
from django.db import connection

from tests.processes import PROD_ENV, ROOT, ProcessOutput, clean_env, http

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

LOCK_INTERVAL = 2
# A due label: its trade closed 25 h ago, so the J7 sweep must lock it at its next run.
SEED = """
import datetime as dt
from django.contrib.auth import get_user_model
from django.utils import timezone
from journal.models import PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel
from journal.demo import CONDOR_LEGS
user = get_user_model().objects.create_user("procfile-trader", "procfile@example.com", "x")
closed = timezone.now() - dt.timedelta(hours=25)
order = PaperOrder.objects.create(
    user=user, symbol="SPY", strategy_type="iron_condor", legs_json=[dict(leg) for leg in CONDOR_LEGS],
    quantity=1, status="closed", opened_at=closed - dt.timedelta(hours=1), closed_at=closed,
)
label = TradeSentimentLabel.objects.create(
    user=user, trade=order, pre_label="planned_setup",
    taxonomy_version=SentimentTaxonomyVersion.objects.get(version=1),
)
print("label", label.pk)
"""


def _procfile(root) -> dict[str, str]:
    lines = (root / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _clean_clone(target) -> None:
    """The tracked files only, as `git clone` gives them: no var/, no .venv, no staticfiles."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in filter(None, listed.stdout.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture
def fresh_database():
    """An empty PostgreSQL database on the test server: `release` must migrate it."""
    params = connection.get_connection_params()
    admin = {k: params[k] for k in ("host", "port", "user", "password") if params.get(k)}
    name = f"raxx_procfile_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = admin.get("user", "postgres")
    password = f":{admin['password']}" if admin.get("password") else ""
    url = f"postgres://{user}{password}@{admin.get('host', '127.0.0.1')}:{admin.get('port', 5432)}/{name}"
    yield url, {**admin, "dbname": name}
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start(command: str, *, cwd, env) -> tuple[subprocess.Popen, ProcessOutput]:
    # Through a shell, as Heroku and foreman run a Procfile line.
    process = subprocess.Popen(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, ProcessOutput(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _locked_labels(db: dict) -> int:
    with psycopg.connect(**db) as conn:
        return conn.execute(
            "SELECT count(*) FROM trade_sentiment_labels WHERE post_label_locked_at IS NOT NULL"
        ).fetchone()[0]


def test_every_procfile_process_starts_from_a_clean_clone_and_keeps_running(tmp_path, fresh_database):
    url, db = fresh_database
    app = tmp_path / "app"
    _clean_clone(app)
    procfile = _procfile(app)
    env = clean_env(
        {
            # README, "Deploying on Heroku": exactly these, plus the add-ons' URLs.
            "SECRET_KEY": PROD_ENV["SECRET_KEY"],
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_PROXY_SSL_HEADER": "1",
            "NUM_PROXIES": "1",
            "DATABASE_URL": url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "PORT": "0",  # gunicorn binds a free port and says which (tests.processes.ProcessOutput)
            "WEB_CONCURRENCY": "1",
            "JOURNAL_LOCK_INTERVAL_SECONDS": str(LOCK_INTERVAL),
            # Beat's schedule file lands in the temp folder: a clone per test keeps its own.
            "TMPDIR": str(tmp_path),
        }
    )
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"

    release = subprocess.run(
        ["bash", "-c", procfile["release"]], cwd=app, env=env, capture_output=True, text=True, timeout=300
    )
    assert release.returncode == 0, release.stdout + release.stderr
    seeded = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEED], cwd=app, env=env, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr
    assert _locked_labels(db) == 0

    processes = {name: _start(procfile[name], cwd=app, env=env) for name in ("web", "worker", "beat")}
    try:
        port = processes["web"][1].port(timeout=90)
        assert port is not None, processes["web"][1].text()[-3000:]
        # Heroku's router speaks HTTPS to the client and says so in X-Forwarded-Proto.
        https = {"X-Forwarded-Proto": "https"}
        healthz = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                healthz = http("GET", f"http://127.0.0.1:{port}/healthz", headers=https)
                break
            except OSError:
                time.sleep(0.3)  # bounded wait for the worker process to accept
        assert healthz is not None and healthz[0] == 200, healthz

        # Beat sends the sweep every LOCK_INTERVAL seconds; the worker runs it: a few intervals.
        deadline = time.monotonic() + 20 * LOCK_INTERVAL
        while _locked_labels(db) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        locked = _locked_labels(db)
        running = {name: process.poll() is None for name, (process, _) in processes.items()}
    finally:
        for process, _ in processes.values():
            _stop(process)
    outputs = {name: reader.text() for name, (_, reader) in processes.items()}
    assert running == {"web": True, "worker": True, "beat": True}, {n: o[-2000:] for n, o in outputs.items()}
    assert locked == 1, outputs["beat"][-2000:] + outputs["worker"][-2000:]
    assert "Traceback" not in outputs["beat"], outputs["beat"][-3000:]

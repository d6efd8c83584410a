"""SPEC 0 production shape: the Procfile's web process, as a platform would start it.

DEBUG=0, only the production variables, gunicorn, WhiteNoise's hashed static files: the admin
and the API docs must render (a missing collectstatic makes both 500).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from tests.processes import PROD_ENV, ROOT, ProcessOutput, clean_env


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", errors="replace")


def test_procfile_declares_the_four_process_types():
    assert set(_procfile()) == {"web", "worker", "beat", "release"}
    assert "celery -A config beat" in _procfile()["beat"]


def test_the_procfile_web_process_serves_admin_docs_and_static_files(tmp_path):
    env = clean_env(
        {
            **PROD_ENV,
            "ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
            "STATIC_ROOT": str(tmp_path / "static"),
            "PORT": "0",  # gunicorn binds a free port and says which (tests.processes.ProcessOutput)
            "WEB_CONCURRENCY": "1",
        }
    )
    # The Procfile's own command, through a shell, as Heroku and foreman run it.
    env["PATH"] = f"{os.path.dirname(sys.executable)}:{env['PATH']}"
    web = subprocess.Popen(
        ["bash", "-c", _procfile()["web"]],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    reader = ProcessOutput(web)
    port = reader.port(timeout=60)
    base = f"http://127.0.0.1:{port}"
    try:
        if port is None:
            raise AssertionError("gunicorn never said which port it listens on")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and web.poll() is None:
            try:
                if _get(base + "/healthz")[0] in {200, 503}:
                    break
            except OSError:
                time.sleep(0.3)  # bounded wait for a separate process to listen
        login_status, login = _get(base + "/admin/login/")
        docs_status, docs = _get(base + "/api/docs/")
        css = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login)
        css_status = _get(base + css.group(1))[0] if css else None
    finally:
        if web.poll() is None:
            os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=30)
        output = reader.text()

    assert login_status == 200, output[-3000:]
    assert docs_status == 200 and "swagger-ui" in docs, output[-3000:]
    # Hashed names from the manifest, served by WhiteNoise from STATIC_ROOT.
    assert css is not None, login[:2000]
    assert css_status == 200

"""The README's "Beta walkthrough" curl flow, run as written against a live server (SPEC W13)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from walkthrough.models import PaperTrade, Progress, ScreenEvent, Track
from walkthrough.services import walkthrough_token_issue

ROOT = Path(__file__).resolve().parents[2]


def _walkthrough_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Beta walkthrough\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
@pytest.mark.django_db(transaction=True)
def test_the_readme_walk_follows_the_state_machine_to_the_end(live_server):
    progress, raw = walkthrough_token_issue(email="tess@example.com", track=Track.FULL)
    # The manage.py line issues the token; the test issues it in the test database instead.
    script = "\n".join(
        line for line in _walkthrough_snippet().splitlines() if not line.startswith(("TOKEN=", "API="))
    )
    # Every curl call also prints its status on a line of its own, so the test reads real status
    # codes: a grep for "409" in the bodies also hit timestamps and ids (a flaky CI run).
    status_line = "\n<<HTTP %{http_code}>>\n"
    script = f"curl() {{ command curl -w '{status_line}' \"$@\"; }}\n{script}"
    env = {**os.environ, "TOKEN": raw, "API": f"{live_server.url}/api/walkthrough"}
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout

    statuses = re.findall(r"<<HTTP (\d{3})>>", result.stdout)
    calls = [line for line in script.splitlines() if line.startswith("curl ")]
    assert len(statuses) == len(calls) == 11, result.stdout
    assert all(code in {"200", "201"} for code in statuses), result.stdout
    progress = Progress.objects.get(pk=progress.pk)
    assert (progress.intent_bucket, progress.current_screen, progress.completed) == ("income", 5, True)
    assert PaperTrade.objects.get().strategy_type == "iron_condor"
    assert list(ScreenEvent.objects.values_list("screen", flat=True)) == [1, 2, 3, 4, 5]

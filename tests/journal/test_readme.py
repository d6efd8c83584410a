"""The README's "Trade-context journal" curl flow, run as written against a live server."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from journal.demo import seed_demo
from journal.models import OrderStatus, PaperOrder

ROOT = Path(__file__).resolve().parents[2]
NOTE = "Exited at the planned level."


def _journal_snippet() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Trade-context journal\n(.*?)(?=^## )", readme, re.S | re.M).group(1)
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("python3")), reason="needs curl and python3")
@pytest.mark.django_db(transaction=True)
def test_the_readme_curl_flow_works_on_top_of_the_demo_data(live_server, journal_on):
    # `make run` state: the demo trader already owns orders and labels, so a flow that
    # hard-codes ids would act on the wrong order.
    seeded = io.StringIO()
    seed_demo(stdout=seeded)
    key = re.search(r"Journal: API token (\S+)", seeded.getvalue()).group(1)
    demo_orders = dict(PaperOrder.objects.values_list("pk", "status"))

    # The manage.py lines change the flag and print the token; the test does both in memory.
    script = "\n".join(
        line
        for line in _journal_snippet().splitlines()
        if not line.startswith((".venv/bin/python manage.py", "TOKEN=", "AUTH="))
    )
    env = {**os.environ, "AUTH": f"Authorization: Token {key}", "API": f"{live_server.url}/api"}
    result = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout

    new = PaperOrder.objects.exclude(pk__in=demo_orders).get()
    assert (new.symbol, new.status, str(new.realized_pnl)) == ("SPY", OrderStatus.CLOSED, "42.00")
    assert dict(PaperOrder.objects.filter(pk__in=demo_orders).values_list("pk", "status")) == demo_orders
    assert f"order {new.pk}\n" in result.stdout
    # Step 6 returned the note of the new order's label; the closing DELETE then wiped the journal.
    assert f'"trade_id":{new.pk},' in result.stdout
    assert f'"journal_note":"{NOTE}"' in result.stdout
    assert result.stdout.rstrip().endswith('{"deleted":4}')

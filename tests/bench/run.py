"""Benchmark: prints figures and ratios measured in one run (`make bench`). Not a test.

Speed goals of the SPEC, as measurements rather than timed tests:
- F4: a warm flag snapshot costs no query; the ratio cold/warm shows what the cache saves.
- J8: the backtest filter costs the same number of queries at 100 and 2,000 labelled trades,
  and its time per page grows far slower than the row count.
- J7: the lock sweep is one set-based UPDATE; a second run over the same rows finds nothing.

Uses DATABASE_URL when set (e.g. PostgreSQL), else a throwaway SQLite file.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
_tmp_db = Path(tempfile.gettempdir()) / "raxx-bench.sqlite3"
if "DATABASE_URL" not in os.environ:
    _tmp_db.unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{_tmp_db}"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import api_key_create  # noqa: E402
from flags.store import current_snapshot, override_flags, store  # noqa: E402
from journal.models import PaperOrder, SentimentTaxonomyVersion, TradeSentimentLabel  # noqa: E402
from journal.services import labels_lock_due  # noqa: E402


class CountQueries:
    """Counts SQL statements through a wrapper: the test client resets connection.queries."""

    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append(sql)
        return execute(sql, params, many, context)

    def __enter__(self):
        self._cm = connection.execute_wrapper(self)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)

    def __len__(self) -> int:
        return len(self.statements)


def timed(fn, *, repeat: int) -> float:
    """Median seconds per call."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench_flags() -> None:
    def cold():
        store.invalidate()
        current_snapshot()

    cold_s = timed(cold, repeat=200)
    current_snapshot()
    warm_s = timed(current_snapshot, repeat=2000)
    with CountQueries() as warm_queries:
        for _ in range(100):
            current_snapshot()
    print(
        f"flags   cold snapshot {cold_s * 1e6:8.1f} µs   warm {warm_s * 1e6:8.1f} µs   "
        f"ratio {cold_s / warm_s:6.1f}x   queries per 100 warm reads: {len(warm_queries)}"
    )


def make_journal(user: User, n: int, *, closed_ago: dt.timedelta) -> None:
    taxonomy = SentimentTaxonomyVersion.objects.get(version=1)
    pre = [p["code"] for p in taxonomy.pre_labels]
    post = [p["code"] for p in taxonomy.post_labels]
    now = timezone.now()
    orders = PaperOrder.objects.bulk_create(
        PaperOrder(
            user=user,
            symbol=("SPX", "AAPL", "QQQ")[i % 3],
            strategy_type="iron_condor",
            legs_json=[],
            quantity=1,
            status="closed",
            opened_at=now - closed_ago - dt.timedelta(hours=2),
            closed_at=now - closed_ago,
            realized_pnl=Decimal(i % 50) - 20,
        )
        for i in range(n)
    )
    TradeSentimentLabel.objects.bulk_create(
        TradeSentimentLabel(
            user=user,
            source_table="paper_orders",
            trade=order,
            pre_label=pre[i % len(pre)],
            post_label=post[i % len(post)],
            taxonomy_version=taxonomy,
            journal_note="n" if i % 2 else "",
        )
        for i, order in enumerate(orders)
    )


def bench_backtest() -> None:
    results = {}
    for n in (100, 2000):
        user = User.objects.create_user(f"bench{n}", password="bench-password-123")
        make_journal(user, n, closed_ago=dt.timedelta(hours=1))
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_key_create(user=user)}")
        url = "/api/sentiment-labels/backtest-filter/"
        with override_flags(FLAG_SENTIMENT_JOURNAL=True):
            assert client.get(url).status_code == 200
            with CountQueries() as queries:
                client.get(url)
            seconds = timed(lambda c=client, u=url: c.get(u), repeat=15)
        results[n] = (len(queries), seconds)
        print(f"backtest {n:5d} labelled trades: {len(queries)} queries, {seconds * 1e3:7.1f} ms per page")
    (q_small, t_small), (q_big, t_big) = results[100], results[2000]
    print(
        f"backtest rows ratio 20.0x -> time ratio {t_big / t_small:5.2f}x, query count "
        f"{'constant' if q_small == q_big else f'{q_small} vs {q_big} (NOT constant)'}"
    )


def bench_lock() -> None:
    user = User.objects.create_user("benchlock", password="bench-password-123")
    make_journal(user, 5000, closed_ago=dt.timedelta(hours=30))
    with CountQueries() as queries:
        start = time.perf_counter()
        locked = labels_lock_due()
        first = time.perf_counter() - start
    start = time.perf_counter()
    again = labels_lock_due()
    second = time.perf_counter() - start
    kinds = sorted({sql.split()[0].upper() for sql in queries.statements})
    print(f"lock    statements in the sweep: {', '.join(kinds)}")
    print(
        f"lock    first sweep locked {locked} rows in {first * 1e3:7.1f} ms with {len(queries)} "
        f"statement(s); second sweep locked {again} in {second * 1e3:6.1f} ms "
        f"(ratio {first / max(second, 1e-9):5.1f}x)"
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    reset_queries()
    bench_flags()
    bench_backtest()
    bench_lock()


if __name__ == "__main__":
    main()

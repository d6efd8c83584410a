"""The per-user label tally (issue 11): the unfiltered label list's `count` without COUNT(*).

Triggers keep `journal_label_tallies` in step with the label table, so every way a label
comes or goes is a row of the table below, and after each one the tally must equal a real
count for every user. Runs on SQLite (row triggers) and, in CI's second pass, on PostgreSQL
(statement triggers over transition tables).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from journal import services
from journal.models import LabelTally, PaperOrder, TradeSentimentLabel
from tests.factories import UserFactory
from tests.journal.factories import LabelFactory, PaperOrderFactory, seed_taxonomy_v1

pytestmark = pytest.mark.django_db


def tallies() -> dict[int, int]:
    return dict(LabelTally.objects.filter(labels__gt=0).values_list("user_id", "labels"))


def counted() -> dict[int, int]:
    rows = TradeSentimentLabel.objects.values("user_id").annotate(n=Count("id")).values_list("user_id", "n")
    return dict(rows)


def _labelled(user, n: int) -> list[TradeSentimentLabel]:
    return [LabelFactory(user=user, trade=PaperOrderFactory(user=user)) for _ in range(n)]


def _bulk(alice, bob):
    users, version = (alice, bob), seed_taxonomy_v1()
    orders = [PaperOrderFactory(user=users[i % 2]) for i in range(6)]
    TradeSentimentLabel.objects.bulk_create(
        TradeSentimentLabel(user=o.user, trade=o, pre_label="planned_setup", taxonomy_version=version)
        for o in orders
    )


def _cancel_long_ago(alice, bob):
    type(alice).objects.filter(pk=alice.pk).update(cancelled_at=timezone.now() - dt.timedelta(days=91))
    assert services.labels_purge_cancelled_accounts() == 3


# Each way labels come and go, with what it must leave: (alice's count, bob's count).
CHANGES = {
    "nothing": (lambda alice, bob: None, (3, 2)),
    "a service create": (
        lambda alice, bob: services.label_create(
            user=alice, trade_id=PaperOrderFactory(user=alice).pk, pre_label="planned_setup"
        ),
        (4, 2),
    ),
    "bulk insert for two users": (_bulk, (6, 5)),
    "one label deleted": (
        lambda alice, bob: services.label_delete(user=alice, label_id=alice.labels_made[0].pk),
        (2, 2),
    ),
    "the whole journal deleted": (lambda alice, bob: services.journal_delete_all(user=alice), (0, 2)),
    "data-subject deletion": (lambda alice, bob: services.journal_dsr_delete(email=bob.email), (3, 0)),
    "90-day purge": (_cancel_long_ago, (0, 2)),
    "the account deleted (cascade)": (lambda alice, bob: alice.delete(), (None, 2)),
    "the order deleted (cascade)": (
        lambda alice, bob: PaperOrder.objects.filter(pk=alice.labels_made[1].trade_id).delete(),
        (2, 2),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_the_tally_matches_a_real_count_after_every_kind_of_write(change):
    alice, bob = UserFactory(), UserFactory()
    alice.labels_made = _labelled(alice, 3)
    _labelled(bob, 2)
    write, (alice_n, bob_n) = CHANGES[change]

    write(alice, bob)

    assert tallies() == counted()
    expected = {alice.pk: alice_n, bob.pk: bob_n}
    assert counted() == {user: n for user, n in expected.items() if n}


def test_the_tally_goes_away_with_its_account():
    alice = UserFactory()
    _labelled(alice, 2)
    alice.delete()
    assert not LabelTally.objects.exists()


def test_a_tally_never_goes_below_zero():
    alice = UserFactory()
    _labelled(alice, 1)
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        LabelTally.objects.filter(user=alice).update(labels=-1)
    assert "journal_labeltally_labels_not_negative" in str(excinfo.value)


def test_a_rolled_back_insert_leaves_the_tally_alone():
    alice = UserFactory()
    _labelled(alice, 1)
    with transaction.atomic():
        _labelled(alice, 2)
        transaction.set_rollback(True)
    assert tallies() == {alice.pk: 1}


def _label_counts(captured) -> list[str]:
    return [
        q["sql"] for q in captured if "COUNT(" in q["sql"].upper() and "trade_sentiment_labels" in q["sql"]
    ]


def test_the_unfiltered_list_reads_the_tally_not_every_label(journal_on, alice, alice_client):
    _labelled(alice, 53)
    _labelled(UserFactory(), 4)

    with CaptureQueriesContext(connection) as captured:
        first = alice_client.get("/api/sentiment-labels/")
    assert first.status_code == 200
    assert _label_counts(captured.captured_queries) == []
    assert first.json()["count"] == 53 and len(first.json()["results"]) == 50

    second = alice_client.get("/api/sentiment-labels/?page=2")
    assert second.json()["count"] == 53 and len(second.json()["results"]) == 3
    assert alice_client.get("/api/sentiment-labels/?page=3").status_code == 404


def test_a_filtered_list_still_counts_its_matches(journal_on, alice, alice_client):
    labels = _labelled(alice, 3)
    response = alice_client.get(f"/api/sentiment-labels/?trade_id={labels[0].trade_id}")
    assert response.json()["count"] == 1
    assert [row["id"] for row in response.json()["results"]] == [labels[0].pk]


def test_a_user_with_no_labels_lists_none(journal_on, alice_client):
    assert alice_client.get("/api/sentiment-labels/").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


@pytest.fixture
def back_to_the_latest_migration():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_migration")
def test_migration_0006_counts_the_labels_already_there_and_reverses():
    alice, bob = UserFactory(), UserFactory()
    _labelled(alice, 3)
    _labelled(bob, 1)
    executor = MigrationExecutor(connection)
    executor.migrate([("journal", "0005_i11_journal_serial_reads")])
    assert "journal_label_tallies" not in connection.introspection.table_names()
    with connection.cursor() as cursor:  # labels deleted while no trigger exists
        cursor.execute("DELETE FROM trade_sentiment_labels WHERE user_id = %s", [bob.pk])

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    assert tallies() == counted() == {alice.pk: 3}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_first_labels_and_a_journal_delete_keep_the_tally_exact():
    """Statement triggers under concurrency: eight first-ever labels of one user at once (each
    trigger's INSERT … ON CONFLICT meets the others'), then labels racing a whole-journal
    delete. The tally ends equal to a real count either way."""
    import threading

    seed_taxonomy_v1()  # a transactional test's flush empties the migration's seed
    alice = UserFactory()
    orders = [PaperOrderFactory(user=alice) for _ in range(12)]

    def race(work) -> None:
        barrier = threading.Barrier(len(work))
        errors: list[BaseException] = []

        def run(job):
            try:
                barrier.wait(timeout=10)
                job()
            except BaseException as error:  # reported below, not lost in the thread
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(job,)) for job in work]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert not errors, errors

    def labelling(order):
        return lambda: services.label_create(user=alice, trade_id=order.pk, pre_label="planned_setup")

    race([labelling(order) for order in orders[:8]])
    assert tallies() == counted() == {alice.pk: 8}

    race([*(labelling(order) for order in orders[8:]), lambda: services.journal_delete_all(user=alice)])
    assert tallies() == counted()
    assert counted().get(alice.pk, 0) in range(0, 5)

"""Journal fixtures: the note sentinel, taxonomy v1, the journal flag, alice's orders and label."""

from __future__ import annotations

import pytest

# A note no response other than the single-record GET, no log line and no admin page may
# ever contain (SPEC J6). Free of banned phrases itself.
SENTINEL_NOTE = "sentinel-note-7f3a: sized down after the gap, exited at my stop"


@pytest.fixture(autouse=True)
def _taxonomy_v1(request):
    """Migration 0002 seeds v1, but a transactional test's flush empties every table, so
    tests that run after one get v1 back from the same frozen file."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db:
        return
    request.getfixturevalue("transactional_db" if marker and marker.kwargs.get("transaction") else "db")
    from tests.journal.factories import seed_taxonomy_v1

    seed_taxonomy_v1()


@pytest.fixture
def journal_on(set_flags):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)


@pytest.fixture
def alice_order(alice):
    from tests.journal.factories import PaperOrderFactory

    return PaperOrderFactory(user=alice)


@pytest.fixture
def alice_closed_order(alice):
    from tests.journal.factories import PaperOrderFactory

    return PaperOrderFactory(user=alice, closed=True)


@pytest.fixture
def alice_label(alice, alice_order):
    from tests.journal.factories import LabelFactory

    return LabelFactory(user=alice, trade=alice_order, journal_note=SENTINEL_NOTE)

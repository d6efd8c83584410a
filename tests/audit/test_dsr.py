"""SPEC P3, P4: the pieces of erasure and access requests, one rule at a time."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from accounts.services import dsr_delete, dsr_export
from audit.dsr import OTHER_PERSON, Person, others_blanked, replacer
from audit.models import COMMAND, ChangeLogEntry
from audit.services import change_record
from tests.factories import UserFactory
from tests.walkthrough.factories import ProgressFactory
from walkthrough.models import Progress


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("invited al@example.com today", "invited X today"),
        ("AL@EXAMPLE.COM", "X"),
        ("by al.", "by X."),
        ("API key of al created", "API key of X created"),
        ("also salt, al_2 and al@example.com.au", "also salt, al_2 and X.au"),
        ("val@example.com", "val@example.com"),
    ],
)
def test_names_are_replaced_as_whole_words(text, expected):
    assert replacer(["al@example.com", "al"], "X")(text) == expected


def test_replacement_reaches_into_json():
    replace = replacer(["al"], "X")
    assert replace({"by": ["al", {"al": "al b"}], "n": 3}) == {"by": ["X", {"X": "X b"}], "n": 3}


def test_other_addresses_are_blanked_but_the_persons_own_stays():
    value = {"a": "Carol@Example.com and dave@example.org", "b": ["eve@x.io"]}
    assert others_blanked(value, email="carol@example.com") == {
        "a": f"Carol@Example.com and {OTHER_PERSON}",
        "b": [OTHER_PERSON],
    }


def test_pseudonyms_are_distinct_per_erasure():
    assert Person(email="a@example.com").pseudonym != Person(email="a@example.com").pseudonym
    assert Person(email="a@example.com").pseudonym.startswith("erased-")


@pytest.mark.django_db
def test_a_tester_without_an_account_is_erased_too():
    ProgressFactory(tester_email="tess@example.com")
    change_record(
        actor=COMMAND, action="walkthrough.token_issue", obj="tess@example.com", subject="tess@example.com"
    )
    erasure = dsr_delete(email="Tess@Example.com")
    assert erasure.deleted["beta_walkthrough_progress"] == 1
    entry = ChangeLogEntry.objects.get(action="walkthrough.token_issue")
    assert (entry.object_repr, entry.subject) == (erasure.pseudonym, erasure.pseudonym)
    # The erasure itself is recorded, naming only the pseudonym.
    record = ChangeLogEntry.objects.get(action="accounts.erasure")
    assert (record.actor, record.object_repr) == ("command", f"the person now called {erasure.pseudonym}")
    assert "tess" not in str(record.after)


@pytest.mark.django_db
def test_erasing_twice_finds_nothing_the_second_time():
    UserFactory(username="alice", email="alice@example.com")
    dsr_delete(email="alice@example.com")
    again = dsr_delete(email="alice@example.com")
    assert sum(again.deleted.values()) == 0 and sum(again.pseudonymised.values()) == 0


@pytest.mark.django_db
def test_a_failing_step_erases_nothing(monkeypatch):
    alice = UserFactory(username="alice", email="alice@example.com")
    ProgressFactory(tester_email="alice@example.com")

    def broken(*, person):
        raise RuntimeError("disk full")

    monkeypatch.setattr("flags.privacy.erase", broken)
    with pytest.raises(RuntimeError):
        dsr_delete(email="alice@example.com")
    alice.refresh_from_db()
    assert alice.username == "alice" and alice.is_active
    assert Progress.objects.filter(tester_email="alice@example.com").exists()
    assert not ChangeLogEntry.objects.filter(action="accounts.erasure").exists()


@pytest.mark.django_db
def test_an_erased_operators_entries_keep_one_pseudonym_and_others_keep_theirs(operator):
    ops = UserFactory(username="ops_kim", email="kim@example.com", is_staff=True)
    change_record(actor=ops, action="flag.override", obj="FLAG_SENTIMENT_JOURNAL", reason="ops_kim's call")
    change_record(actor=ops, action="walkthrough.token_issue", obj="t@example.com", subject="t@example.com")
    change_record(
        actor=operator, action="accounts.api_key_revoke", obj="API key of ops_kim", subject="kim@example.com"
    )
    erasure = dsr_delete(email="kim@example.com")
    rows = list(
        ChangeLogEntry.objects.exclude(action__in=["accounts.erasure"])
        .order_by("id")
        .values_list("actor", "object_repr", "reason")
    )
    p = erasure.pseudonym
    assert rows == [
        (p, "FLAG_SENTIMENT_JOURNAL", f"{p}'s call"),
        (p, "t@example.com", ""),
        ("operator", f"API key of {p}", ""),
    ]


@pytest.mark.django_db
def test_the_export_names_other_staff_by_number_and_others_objects_as_another_person(operator):
    kim = UserFactory(username="ops_kim", email="kim@example.com", is_staff=True)
    change_record(
        actor=operator, action="walkthrough.token_issue", obj="kim@example.com", subject="kim@example.com"
    )
    change_record(
        actor=kim, action="walkthrough.token_issue", obj="dave@example.com", subject="dave@example.com"
    )
    change_record(
        actor=COMMAND, action="walkthrough.token_issue", obj="zed@example.com", subject="zed@example.com"
    )
    document = dsr_export(email="kim@example.com")
    entries = [(e["actor"], e["object"]) for e in document["audit"]["entries"]]
    assert entries == [("staff member 1", "kim@example.com"), ("ops_kim", OTHER_PERSON)]


@pytest.mark.django_db
def test_the_export_command_records_itself_only_when_written(tmp_path):
    UserFactory(username="alice", email="alice@example.com")
    out = tmp_path / "alice.json"
    call_command("dsr_export", "alice@example.com", "--out", str(out), stdout=io.StringIO())
    assert out.stat().st_mode & 0o777 == 0o600
    assert ChangeLogEntry.objects.filter(action="export", subject="alice@example.com").count() == 1

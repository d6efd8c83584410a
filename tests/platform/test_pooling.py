"""Connection pooling (SPEC O1): safe behind PgBouncer in transaction mode.

CI runs the PostgreSQL suite through a real PgBouncer (.ci/run); these tests pin the settings
and the code rules that make that work, so a regression shows on any machine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection

from tests.processes import manage

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_CODE = ("accounts", "config", "flags", "journal", "trading", "walkthrough")

SHOW = (
    "from django.db import connection as c; d = c.settings_dict; "
    "print(bool(d.get('DISABLE_SERVER_SIDE_CURSORS')), 'prepare_threshold' in d['OPTIONS'], "
    "d['OPTIONS'].get('prepare_threshold'), 'options' in d['OPTIONS'])"
)
POSTGRES = {"DEBUG": "1", "DATABASE_URL": "postgres://raxx@127.0.0.1:5432/raxx"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        # Behind PgBouncer: no server-side cursors, no prepared statements.
        ({**POSTGRES, "DATABASE_POOLING": "transaction"}, "True True None False"),
        ({**POSTGRES, "DATABASE_POOLING": "Transaction "}, "True True None False"),
        # Straight to PostgreSQL: Django's and psycopg's own defaults.
        (POSTGRES, "False False None False"),
        ({**POSTGRES, "DATABASE_POOLING": "none"}, "False False None False"),
        # SQLite has neither; the variable changes nothing there.
        ({"DEBUG": "1", "DATABASE_POOLING": "transaction"}, "False False None False"),
    ],
)
def test_transaction_pooling_turns_off_what_needs_one_session(env, expected):
    # No connection is opened: the settings alone decide (and no startup `options` at all,
    # which PgBouncer would refuse).
    result = manage("shell", "-v", "0", "-c", SHOW, env=env)
    assert result.stdout.strip() == expected, result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_jit_is_off_for_every_new_session_without_any_connection_option():
    """JIT is off as a setting of the database (accounts migration 0005): every new session
    gets it, through PgBouncer, which refuses startup options, and on a replica. (A pooler's
    server connections opened before the migration keep theirs until they are recycled.)"""
    assert "options" not in connection.get_connection_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.setconfig FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase "
            "WHERE d.datname = current_database() AND s.setrole IN (0, (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user))"
        )
        settings = [item for (config,) in cursor.fetchall() for item in config]
    assert "jit=off" in settings


# Statements that keep state in the session, which a transaction-mode pooler hands to the next
# client (or loses): a plain SET/RESET, session advisory locks, LISTEN, held cursors, PREPARE.
# SET LOCAL and SET TRANSACTION end with their transaction and are what the code uses.
SESSION_STATE = re.compile(
    r"""["']\s*(?:SET\s+(?!LOCAL\b|TRANSACTION\b|CONSTRAINTS\b)\w+\s*(?:=|TO\b)|RESET\s+\w"""
    r"""|LISTEN\s+\w|PREPARE\s+\w|DISCARD\s+\w)"""
    r"""|(?i:pg_(?:try_)?advisory_(?:un)?lock(?:_shared)?\s*\(|WITH\s+HOLD)"""
)


def test_production_code_keeps_no_session_state_across_transactions():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for app in PRODUCTION_CODE
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SESSION_STATE.search(line)
    ]
    assert not offenders, offenders


@pytest.mark.parametrize(
    "line",
    [
        'cursor.execute("SET lock_timeout = 1")',
        "cursor.execute('RESET jit')",
        'cursor.execute("SELECT pg_advisory_lock(1)")',
        'cursor.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")',
        'cursor.execute(f"LISTEN x")',
    ],
)
def test_the_session_state_rule_sees_what_it_is_for(line):
    assert SESSION_STATE.search(line)


@pytest.mark.parametrize(
    "line",
    [
        'cursor.execute("SET LOCAL synchronous_commit = off")',
        'cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")',
        '"UPDATE journal_label_tallies SET labels = labels + 1"',
        'cursor.execute("SELECT pg_advisory_xact_lock(1)")',
    ],
)
def test_the_session_state_rule_allows_transaction_scoped_statements(line):
    assert not SESSION_STATE.search(line)

"""Read replica settings (SPEC O2): no replica without its variable; the alias it makes."""

from __future__ import annotations

import pytest
from django.test import Client

from config import replica
from config.replica import PRIMARY, ReplicaRouter, request_scope
from tests.processes import PROD_ENV, manage
from walkthrough.models import Progress

FUNNEL = "/admin/walkthrough/progress/cohort/"


@pytest.mark.django_db
def test_without_a_replica_everything_uses_the_primary(operator, staff_login):
    response = staff_login(Client(), operator).get(FUNNEL)
    assert response.status_code == 200
    assert not replica.configured()
    assert b"replica-note" not in response.content
    with request_scope(analyst=True):
        assert ReplicaRouter().db_for_read(Progress) == PRIMARY


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "None"),
        (
            {"DATABASE_REPLICA_URL": "postgres://reader@10.0.0.2:5432/raxx"},
            "10.0.0.2 raxx default 2 False",
        ),
        (
            {
                "DATABASE_REPLICA_URL": "postgres://reader@10.0.0.2:5432/raxx",
                "DATABASE_POOLING": "transaction",
            },
            "10.0.0.2 raxx default 2 True",
        ),
    ],
)
def test_the_replica_alias_is_made_only_from_its_variable(env, expected):
    show = (
        "from django.conf import settings; d = settings.DATABASES.get('replica'); "
        "print(d and ' '.join(map(str, [d['HOST'], d['NAME'], d['TEST']['MIRROR'], "
        "d['OPTIONS']['connect_timeout'], bool(d.get('DISABLE_SERVER_SIDE_CURSORS'))])))"
    )
    base = {**PROD_ENV, "DATABASE_URL": "postgres://raxx@127.0.0.1:5432/raxx"}
    result = manage("shell", "-v", "0", "-c", show, env={**base, **env})
    assert result.stdout.strip() == expected, result.stderr

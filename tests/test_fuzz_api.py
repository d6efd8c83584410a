"""Fuzz every operation in the OpenAPI schema (schemathesis): no input may produce a 500.

Runs with every flag on, as an owner with data, so the fuzzer reaches the real handlers. Beyond
"never a 500" it checks that responses match the documented schemas and that schema-invalid
input is rejected with a 4xx (negative_data_rejection).
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import GenerationMode, ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from flags.store import override_flags

ALL_FLAGS_ON = {
    "FLAG_WALKTHROUGH_PERSONA_ROUTING": True,
    "FLAG_BETA_WALKTHROUGH_SELF_SELECT": True,
    "FLAG_SENTIMENT_JOURNAL": True,
    "FLAG_STRATEGY_TEMPLATES_V2": True,
}


@pytest.fixture
def api_schema(db):
    from config.wsgi import application

    # Calling the WSGI app directly fires request_finished, whose close_old_connections would
    # close the test's connection (and its transaction) on PostgreSQL. Django's own test
    # client detaches it the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def credentials(db, alice):
    """A trader with orders and labels, and a walkthrough tester midway through."""
    from accounts.services import api_key_create
    from tests.fuzz_data import seed_fuzz_data

    tester_token = seed_fuzz_data(user=alice)
    return {"trader": f"Token {api_key_create(user=alice)}", "tester": f"Bearer {tester_token}"}


@schema.parametrize()
@settings(
    # 40 per operation keeps `make test` quick; `make fuzz` raises it for a longer hunt.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_makes_a_server_error(case, credentials):
    is_walkthrough = case.path.startswith("/api/walkthrough/")
    auth = credentials["tester"] if is_walkthrough else credentials["trader"]
    with override_flags(**ALL_FLAGS_ON):
        response = case.call(headers={"Authorization": auth})
    checks = [not_a_server_error, content_type_conformance, response_schema_conformance]
    negative = {
        location
        for location, info in (case.meta.components.items() if case.meta else ())
        if info.mode == GenerationMode.NEGATIVE
    }
    # We replace the Authorization header with a real credential (which wins over a session
    # cookie), so a case whose only invalid part was a header or cookie is no longer invalid.
    # A query string is text, so a "negative" query value can serialise to a valid one (the
    # array [1] and the integer 1 are both `?page=1`): query-only cases are held to "no 5xx
    # and a documented response", and the unit tests cover rejected query values.
    if negative - {ParameterLocation.HEADER, ParameterLocation.COOKIE, ParameterLocation.QUERY}:
        checks.append(negative_data_rejection)
    case.validate_response(response, checks=checks)

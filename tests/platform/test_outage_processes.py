"""SPEC 0, F3: with the database unreachable no /api/ route answers 500, cold or warm flag cache.

Real gunicorn processes (docs/reliability.md, "Flags never fail a request"). Cold: the database
is a dead port from the start, so the flag store has never read an override and serves the
environment and the registry defaults (OFF): gated routes answer the unknown URL's 404 byte for
byte. Warm: the process reads the operators' overrides ON through a TCP relay, then the relay is
cut; the store keeps serving those overrides, so gated routes reach their views, whose database
error is the API's 503.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time

import pytest
from django.db import connection

from flags.services import flag_override_set
from tests.processes import PROD_ENV, Server, http

FLAGS = ("FLAG_SENTIMENT_JOURNAL", "FLAG_BETA_WALKTHROUGH_SELF_SELECT", "FLAG_WALKTHROUGH_PERSONA_ROUTING")
CREDENTIALS = {
    "none": {},
    "walkthrough token": {"Authorization": "Bearer wt_" + "x" * 43},
    "API key": {"Authorization": "Token " + "a" * 64},
}
OUTAGE_STATUSES = {401, 404, 503}


def _operations(client, set_flags) -> list[tuple[str, str]]:
    """Every operation of the schema with every flag on: the whole API surface."""
    set_flags(**dict.fromkeys(FLAGS, True))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, item in schema["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def _answers(server: Server, operations) -> dict[tuple[str, str, str], tuple[int, str]]:
    answers = {}
    for method, path in operations:
        for kind, headers in CREDENTIALS.items():
            body = b"{}" if method in {"POST", "PUT", "PATCH"} else None
            status, _, text = http(
                method, server.url + path, headers={**headers, "Content-Type": "application/json"}, body=body
            )
            answers[(method, path, kind)] = (status, text)
    return answers


def _env(database_url: str) -> dict[str, str]:
    return {
        **PROD_ENV,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP on loopback
        "DATABASE_URL": database_url,
        "FLAGS_CACHE_SECONDS": "1",
    }


@pytest.mark.django_db
def test_cold_flag_cache_and_the_database_on_a_dead_port_no_route_answers_500(client, set_flags):
    operations = _operations(client, set_flags)
    with Server(_env("postgres://postgres@127.0.0.1:1/raxx")) as server:
        answers = _answers(server, operations)
        unknown = http("GET", server.url + "/api/no-such-route/")
    statuses = {key: status for key, (status, _) in answers.items()}
    assert set(statuses.values()) <= OUTAGE_STATUSES, {
        k: v for k, v in statuses.items() if v not in OUTAGE_STATUSES
    }
    # Flags fell back to their defaults (OFF): every journal route is the unknown URL's 404.
    journal = {key: answer for key, answer in answers.items() if "/sentiment-" in key[1]}
    assert journal and set(journal.values()) == {(404, unknown[2])}
    # The ungated API reached its views: credentials need the database, so 503 with Retry-After.
    assert statuses[("GET", "/api/paper-orders/", "API key")] == 503
    assert statuses[("GET", "/api/paper-orders/", "none")] == 401


class Relay:
    """A TCP relay to PostgreSQL that the test can cut: the database becomes unreachable."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection and refuse new ones (the port closes)."""
        self.open = False
        # shutdown() wakes the thread blocked in accept(); close() alone leaves the port open.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_warm_flag_cache_then_the_database_goes_away_no_route_answers_500(client, set_flags):
    operations = _operations(client, set_flags)
    for name in FLAGS:
        flag_override_set(name=name, state="on", reason="outage test", actor_label="test")
    params = connection.get_connection_params()
    relay = Relay((params.get("host") or "127.0.0.1", int(params.get("port") or 5432)))
    url = f"postgres://{params.get('user', 'postgres')}@127.0.0.1:{relay.port}/{params['dbname']}"
    if params.get("password"):
        url = url.replace("@", f":{params['password']}@", 1)
    with Server(_env(url)) as server:
        # Warm: the worker reads the overrides ON (401: the journal exists and wants a key).
        assert http("GET", server.url + "/api/sentiment-taxonomy/")[0] == 401
        relay.cut()
        time.sleep(1.5)  # past FLAGS_CACHE_SECONDS: the store must ask the database again
        answers = _answers(server, operations)
    statuses = {key: status for key, (status, _) in answers.items()}
    assert set(statuses.values()) <= OUTAGE_STATUSES, {
        k: v for k, v in statuses.items() if v not in OUTAGE_STATUSES
    }
    # The last known overrides still hold: the journal routes reach their views (not 404).
    journal = {key: status for key, status in statuses.items() if "/sentiment-" in key[1]}
    assert set(journal.values()) == {401, 503}
    assert statuses[("GET", "/api/sentiment-taxonomy/", "API key")] == 503
    assert json.loads(answers[("GET", "/api/sentiment-labels/", "API key")][1])["detail"].startswith(
        "Service temporarily unavailable"
    )

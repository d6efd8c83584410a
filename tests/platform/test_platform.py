"""SPEC 0: settings fail fast, production checks are clean, health and API docs are served."""

from __future__ import annotations

import json
import os

import pytest
from django.core.management import call_command
from django.db import OperationalError

from tests.processes import PROD_ENV, ROOT, manage


def test_check_deploy_is_clean_with_only_the_three_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS"),
        ({"DATABASE_URL": "nonsense://"}, "DATABASE_URL"),
        ({"JOURNAL_LOCK_INTERVAL_SECONDS": "five"}, "JOURNAL_LOCK_INTERVAL_SECONDS"),
        ({"JOURNAL_LOCK_INTERVAL_SECONDS": "0"}, "JOURNAL_LOCK_INTERVAL_SECONDS"),
        ({"BETA_PROGRAM_ENDS_AT": "next spring"}, "BETA_PROGRAM_ENDS_AT"),
        ({"SECURE_SSL_REDIRECT": "perhaps"}, "SECURE_SSL_REDIRECT"),
        ({"DEBUG": "sometimes"}, "DEBUG"),
        ({"FLAGS_CACHE_SECONDS": "30"}, "FLAGS_CACHE_SECONDS"),
        ({"DATABASE_URL": ""}, "DATABASE_URL"),  # production never falls back to SQLite
        ({"DATABASE_URL": "postgres://raxx@127.0.0.1:5432"}, "DATABASE_URL"),  # no database name
        ({"SECRET_KEY": "   "}, "SECRET_KEY"),
        ({"REDIS_URL": "notaurl"}, "REDIS_URL"),
        ({"CELERY_BROKER_URL": "bogus://x"}, "CELERY_BROKER_URL"),
        ({"WALKTHROUGH_AUTH_FAILURE_RATE": "lots"}, "WALKTHROUGH_AUTH_FAILURE_RATE"),
        ({"WALKTHROUGH_AUTH_FAILURE_RATE": "0/min"}, "WALKTHROUGH_AUTH_FAILURE_RATE"),
        ({"NUM_PROXIES": "-1"}, "NUM_PROXIES"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DATABASE_POOLING": "session"}, "DATABASE_POOLING"),
        ({"DATABASE_REPLICA_URL": "mysql://reader@10.0.0.2/raxx"}, "DATABASE_REPLICA_URL"),
        # A replica of SQLite (PROD_ENV's DATABASE_URL) cannot exist.
        ({"DATABASE_REPLICA_URL": "postgres://reader@10.0.0.2/raxx"}, "DATABASE_REPLICA_URL"),
        ({"DATABASE_REPLICA_MAX_LAG_SECONDS": "soon"}, "DATABASE_REPLICA_MAX_LAG_SECONDS"),
    ],
)
def test_a_wrong_or_missing_setting_fails_at_start_naming_the_variable(change, variable):
    env = {k: v for k, v in {**PROD_ENV, **change}.items() if v != ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and variable in result.stderr


def test_a_url_with_a_password_is_refused_without_echoing_it():
    result = manage("check", env={**PROD_ENV, "REDIS_URL": "http://:s3cret-pw@cache.example.com:6379/0"})
    assert result.returncode != 0
    assert "REDIS_URL" in result.stderr and "s3cret-pw" not in result.stderr


def test_every_variable_in_env_example_is_accepted_together():
    """Copying .env.example and filling it in must give a process that starts (and no
    non-flag setting may start with FLAG_, which the registry check would call a typo)."""
    import re

    example = (ROOT / ".env.example").read_text()
    values = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))
    values.update(PROD_ENV)
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=values)
    assert result.returncode == 0, result.stderr


def test_plain_http_on_loopback_drops_ssl_redirect_and_secure_cookies():
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
    )
    on = manage("shell", "-v", "0", "-c", code, env=PROD_ENV)
    off = manage("shell", "-v", "0", "-c", code, env={**PROD_ENV, "SECURE_SSL_REDIRECT": "0"})
    assert on.stdout.split() == ["True", "True", "True", "31536000"], on.stderr
    assert off.stdout.split() == ["False", "False", "False", "0"], off.stderr


def test_defaults_need_no_services(settings):
    # The suite itself runs on these unless CI points it at PostgreSQL and Redis.
    if "DATABASE_URL" not in os.environ:
        assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    if not os.environ.get("REDIS_URL") and not os.environ.get("CELERY_BROKER_URL"):
        assert settings.CELERY_BROKER_URL == "filesystem://"


def test_no_missing_migrations(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "broker": "ok",
        "cache": "ok",
        "beat": "ok",
        "beat_last_success": None,  # a fresh database: no sweep yet (tests/platform/test_healthz_beat.py)
        "status": "ok",
    }


def test_healthz_503_when_the_broker_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {
        "database": "ok",
        "broker": "unavailable",
        "cache": "ok",
        "beat": "ok",
        "beat_last_success": None,
        "status": "unavailable",
        "down": ["broker"],
    }
    assert 2 <= int(response["Retry-After"]) <= 4  # RETRY_AFTER_SECONDS=2, jittered up to x2


def test_healthz_503_when_the_database_is_unreachable(client, db, monkeypatch):
    class DownDatabase:
        def cursor(self):
            raise OperationalError("connection refused")

    monkeypatch.setattr("config.views.connection", DownDatabase())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unavailable"


def test_openapi_schema_and_docs_are_served_without_a_cdn(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn.jsdelivr" not in html


def test_schema_generation_has_no_warnings():
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_healthz_answers_other_methods_with_a_json_405(client, db):
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json() == {"detail": 'Method "POST" not allowed.'}


def test_a_bad_host_header_is_a_json_400(client, db, settings):
    settings.DEBUG = False  # DEBUG shows Django's technical page instead
    response = client.get("/healthz", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request."}


@pytest.mark.parametrize(
    ("handler", "status"),
    [("json_server_error", 500), ("json_permission_denied", 403), ("json_bad_request", 400)],
)
def test_error_pages_are_json_outside_the_admin(handler, status, rf):
    from config import api

    view = getattr(api, handler)
    api_response = view(rf.get("/api/paper-orders/"))
    assert (api_response.status_code, api_response["Content-Type"]) == (status, "application/json")
    assert "detail" in json.loads(api_response.content)
    admin_response = view(rf.get("/admin/"))
    assert admin_response.status_code == status
    assert admin_response["Content-Type"].startswith("text/html")


def test_unknown_api_url_is_json_404(client, db):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("url", ["/api/paper-orders/", "/api/sentiment-labels/"])
def test_json_nested_too_deep_is_400_on_every_api(alice_client, set_flags, url):
    set_flags(FLAG_SENTIMENT_JOURNAL=True)
    deep = "[" * 100_000 + "]" * 100_000
    response = alice_client.generic("POST", url, deep, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


def test_env_example_lists_every_variable_the_settings_read():
    import re

    source = (ROOT / "config" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\.\w+|_int|_bool|_datetime)\(\s*"([A-Z][A-Z0-9_]+)"', source))
    example = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", example, flags=re.MULTILINE))
    assert read, "the pattern no longer finds the settings' variables"
    assert read - documented == set()


def test_retry_after_comes_from_the_setting_and_is_jittered(settings):
    from config.api import retry_after_seconds

    settings.RETRY_AFTER_SECONDS = 10
    seen = {retry_after_seconds() for _ in range(200)}

    assert min(seen) >= 10 and max(seen) <= 20
    assert len(seen) > 5  # spread out, not one value for every client


@pytest.mark.django_db
def test_the_admin_says_what_it_is_and_view_site_opens_the_api_docs(admin_client):
    page = admin_client.get("/admin/").content.decode()

    assert "Raxx back office" in page and "Django administration" not in page
    assert '<a href="/api/docs/">View site</a>' in page
    assert admin_client.get("/api/docs/").status_code == 200

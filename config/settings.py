"""The one settings module (SPEC 0): everything comes from the environment.

With DEBUG=0 (the default) it is production-safe, and a missing or malformed required
variable fails at start with ImproperlyConfigured naming the variable. `make run` and the
test suite set DEBUG=1, which selects the zero-service defaults: SQLite in the project
folder, the filesystem Celery broker and a local-memory cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env is a convenience for developers; real deployments set the environment.
env_file = BASE_DIR / ".env"
if env_file.exists():
    environ.Env.read_env(env_file)


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "on", "yes"}:
        return True
    if value in {"0", "false", "off", "no"}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, on/off; got {raw!r}")


def _int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default=None)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number; got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}; got {value}")
    return value


DEBUG = _bool("DEBUG", False)

SECRET_KEY = env.str("SECRET_KEY", default="").strip()
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0")
    SECRET_KEY = "django-insecure-dev-only-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    if not DEBUG:
        raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG=0 (comma-separated)")
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]

INSTALLED_APPS = [
    # The admin with the back office's site: every page behind a second factor (SPEC P1).
    "accounts.admin_config.BackOfficeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_otp",  # staff second factor (SPEC P1; accounts/second_factor.py)
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "knox",  # API keys as digests (accounts/auth.py)
    "axes",  # admin login throttle per username and address
    "csp",  # Content-Security-Policy
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally, no CDN
    "audit",  # the change log (SPEC P2): the bottom layer, every app may record in it
    "accounts",
    "flags",
    "walkthrough",
    "journal",
    "idempotency",  # Idempotency-Key on the creating POSTs (SPEC O3)
]

MIDDLEWARE = [
    # SPEC O4: first, so every later middleware's log lines and early answers carry the id.
    "config.request_id.RequestIdMiddleware",
    # SPEC O4: one JSON line and the metrics per request; times everything below it.
    "config.logs.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Each request's read-replica routing state: analysts' reads may use the replica (SPEC O2).
    "config.replica.ReplicaRoutingMiddleware",
    # Permissions-Policy everywhere, Cache-Control: no-store on the API.
    "config.middleware.APIHeadersMiddleware",
    # /api/ bodies capped at API_MAX_BODY_BYTES before anything reads them.
    "config.middleware.APIBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /api/ plumbing (docs/api.md): JSON errors in every mode; both slash forms of a route.
    "config.routing.ApiJsonErrorsMiddleware",
    "config.routing.ApiTrailingSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): the session holds a second factor (SPEC P1).
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # One consistent flag snapshot per request (SPEC F4).
    "flags.middleware.FlagSnapshotMiddleware",
    # The CSP header (nonces only where a page asks for one).
    "csp.middleware.CSPMiddleware",
    # Crafted admin query strings (NUL bytes, bad dates, unknown lookups) never 500.
    "config.admin_guard.AdminQueryGuardMiddleware",
    # Last, as django-axes asks: it answers a locked-out login attempt.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses a locked-out (username, address) before the password check.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# An empty DATABASE_URL counts as unset: SQLite in the project folder, for development only.
# Production names its database: a forgotten variable must not quietly become a local file.
_database_url = env.str("DATABASE_URL", default="").strip()
if not _database_url:
    if not DEBUG:
        raise ImproperlyConfigured("DATABASE_URL must be set when DEBUG=0 (postgres://...)")
    _database_url = f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
try:
    DATABASES = {"default": environ.Env.db_url_config(_database_url)}
except Exception as exc:  # django-environ raises several types for a bad URL
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if DATABASES["default"].get("ENGINE") not in {
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
}:
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:/// URL")
if not DATABASES["default"].get("NAME"):
    raise ImproperlyConfigured("DATABASE_URL must name a database (postgres://user@host:5432/NAME)")
# Persistent connections: a new PostgreSQL connection per request cost most of a screen
# GET's throughput (docs/performance.md). Each web thread keeps its connection CONN_MAX_AGE seconds and
# checks it is alive before reusing it after a request (CONN_HEALTH_CHECKS), so a restarted
# database costs one failed check, not a failed request. 0 closes it after every request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("CONN_MAX_AGE", _int("CONN_MAX_AGE", 60))
# No JIT: the back office's aggregates cross PostgreSQL's jit_above_cost and then spend
# longer compiling than running (docs/performance.md; bench/plans: the funnel). It is a
# setting of the database itself (accounts migration 0005), not a connection option:
# PgBouncer refuses a startup `options` parameter, and a replica inherits the database's.

# Connection pooling (SPEC O1). "transaction": the service runs behind PgBouncer in
# transaction mode, where each transaction may get a different server connection. So no
# server-side cursors (a cursor lives in a session: `.iterator()` would lose it between
# fetches) and no prepared statements (psycopg prepares a query it runs often, on a
# connection the next transaction may not get). Everything else already holds: the only
# settings the code sends are SET LOCAL / SET TRANSACTION, and nothing takes an advisory lock
# or keeps session state across transactions (docs/architecture.md, "Connection pooling").
DATABASE_POOLING = env.str("DATABASE_POOLING", default="").strip().lower() or "none"
if DATABASE_POOLING not in {"none", "transaction"}:
    raise ImproperlyConfigured(f"DATABASE_POOLING must be none or transaction; got {DATABASE_POOLING!r}")


def _pooled(database: dict) -> dict:
    if DATABASE_POOLING == "transaction" and database["ENGINE"] == "django.db.backends.postgresql":
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
        database.setdefault("OPTIONS", {})["prepare_threshold"] = None
    return database


_pooled(DATABASES["default"])

# Read replica (SPEC O2, config/replica.py): analysts' reads (the funnel, the walkthrough and
# journal changelists, CSV exports) go to it while it is at most
# DATABASE_REPLICA_MAX_LAG_SECONDS behind; everything else uses the primary. Unset: no replica.
_replica_url = env.str("DATABASE_REPLICA_URL", default="").strip()
if _replica_url:
    if urlsplit(_replica_url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(
            f"DATABASE_REPLICA_URL must be a postgres:// URL; got scheme {urlsplit(_replica_url).scheme!r}"
        )
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a PostgreSQL DATABASE_URL (a replica of it)")
    _replica = environ.Env.db_url_config(_replica_url)
    if not _replica.get("NAME"):
        raise ImproperlyConfigured(
            "DATABASE_REPLICA_URL must name a database (postgres://user@host:5432/NAME)"
        )
    _replica.update(CONN_MAX_AGE=DATABASES["default"]["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True)
    # A replica that does not answer must not hold a page: the funnel falls back to the primary.
    _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    # The test runner points the alias at the test database (Django's "primary/replica" testing).
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _pooled(_replica)
DATABASE_REPLICA_MAX_LAG_SECONDS = _int("DATABASE_REPLICA_MAX_LAG_SECONDS", 30)
DATABASE_ROUTERS = ["config.replica.ReplicaRouter"]
# The covering indexes' INCLUDE columns are PostgreSQL's (docs/performance.md); SQLite, for
# development only, builds the same indexes without them, which is all W040 says.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _url(name: str, schemes: set[str]) -> str:
    """An optional URL whose scheme is one of `schemes`; '' when unset."""
    raw = env.str(name, default="").strip()
    if raw and urlsplit(raw).scheme not in schemes:
        raise ImproperlyConfigured(
            # The scheme only: the rest of a URL may hold a password.
            f"{name} must be a {' or '.join(sorted(schemes))} URL; got scheme {urlsplit(raw).scheme!r}"
        )
    return raw


REDIS_URL = _url("REDIS_URL", {"redis", "rediss", "unix"})
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # A Redis that is down or unreachable fails fast instead of holding a worker: the
            # throttle then fails open and /healthz says "cache": "unavailable".
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers files for WhiteNoise to serve in production (Procfile `web`).
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
# Serve files straight from the app folders in DEBUG, without collectstatic.
WHITENOISE_AUTOREFRESH = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production; plain finder-based serving in DEBUG.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# --- Security (SPEC 0) -------------------------------------------------------------------
# SECURE_SSL_REDIRECT defaults on in production; 0 serves plain HTTP on loopback and also
# drops the secure-only cookie flags, which would otherwise make login impossible there.
SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_SSL_REDIRECT
CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT
SECURE_HSTS_SECONDS = _int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL_REDIRECT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if _bool("SECURE_PROXY_SSL_HEADER", False):
    # Only behind a proxy that always sets (and strips) X-Forwarded-Proto, e.g. Heroku's router.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Content-Security-Policy on every response (django-csp; Django 5.2 has none built in). No
# inline script or style: a page that needs one (Swagger UI's start-up snippet) gets a per-
# request nonce. Browser tests fail on any CSP violation in Chromium's console.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [csp_constants.SELF],
        "script-src": [csp_constants.SELF, csp_constants.NONCE],
        "style-src": [csp_constants.SELF, csp_constants.NONCE],
        "img-src": [csp_constants.SELF, "data:"],
        "font-src": [csp_constants.SELF],
        "connect-src": [csp_constants.SELF],
        "object-src": [csp_constants.NONE],
        "base-uri": [csp_constants.NONE],
        "frame-ancestors": [csp_constants.NONE],
        "form-action": [csp_constants.SELF],
    }
}
# Powerful browser features nobody here needs (no built-in Django setting for it).
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# Admin login throttle (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username
# from one address, that pair is refused (429) for AXES_COOLOFF_TIME, even with the right
# password. Unlock: `manage.py axes_reset_username NAME` (or axes_reset_ip / axes_reset).
AXES_FAILURE_LIMIT = _int("ADMIN_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = dt.timedelta(minutes=_int("ADMIN_LOGIN_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Wrong one-time codes count as failed logins too (accounts/second_factor.py); axes keeps the
# form's other fields in its log, so the codes are masked like the password.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code", "reauth-code"]
# The same client address as the walkthrough throttle: REMOTE_ADDR, or NUM_PROXIES hops back.
AXES_CLIENT_IP_CALLABLE = "config.security.client_address"

# Staff second factor (SPEC P1): a code is good for sensitive actions (flag changes, invites,
# token issue, copy sign-off, exports) this long after it was entered; then it is asked again.
ADMIN_CODE_FRESH_SECONDS = 10 * 60
OTP_TOTP_ISSUER = "Raxx back office"

# --- REST framework ----------------------------------------------------------------------
# The largest /api/ request body: a declared Content-Length above it is a 413 before
# anything is read, and any other body is read through a bounded stream. Django's own
# DATA_UPLOAD_MAX_MEMORY_SIZE still guards the admin's forms.
API_MAX_BODY_BYTES = _int("API_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
# Deepest JSON nesting the API accepts (documented in docs/reliability.md); deeper is a 400.
# The deepest real body (a paper order: object > legs list > leg object) is 3 levels.
API_MAX_JSON_DEPTH = 32


def _rate(name: str, default: str) -> str:
    """A DRF throttle rate such as 20/min; checked here so a typo is no 500 on first use."""
    raw = env.str(name, default="").strip() or default
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", raw):
        raise ImproperlyConfigured(f"{name} must look like 20/min (N per s, min, hour or day); got {raw!r}")
    return raw


REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes "no credentials" a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.APIKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["config.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "config.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    # Proxies in front of the app that append to X-Forwarded-For (Heroku's router: 1). With 0
    # the client address is REMOTE_ADDR; DRF's own default would trust the whole header, so
    # a client could pick a fresh identity per request and escape the throttle (SPEC W1).
    "NUM_PROXIES": _int("NUM_PROXIES", 0),
    # Authenticated writes per API key, per tester and per session user (SPEC P5).
    "DEFAULT_THROTTLE_CLASSES": ["config.throttling.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        # Failed walkthrough-token attempts per client address (SPEC W1).
        "walkthrough_auth_failure": _rate("WALKTHROUGH_AUTH_FAILURE_RATE", "20/min"),
        # Failed API-key attempts per client address (SPEC P5).
        "api_key_failure": _rate("API_KEY_FAILURE_RATE", "20/min"),
        # Writes (POST/PUT/PATCH/DELETE) per API key or session user, and per walkthrough tester.
        "api_write": _rate("API_WRITE_RATE", "30/min"),
        "walkthrough_write": _rate("WALKTHROUGH_WRITE_RATE", "30/min"),
    },
}
# API keys (SPEC 0: stored only as digests; docs/reliability.md): django-rest-knox. A key
# expires API_KEY_TTL_DAYS after it is made (0: never); expiry is not extended by use.
API_KEY_TTL_DAYS = _int("API_KEY_TTL_DAYS", 90)
REST_KNOX = {
    "TOKEN_TTL": dt.timedelta(days=API_KEY_TTL_DAYS) if API_KEY_TTL_DAYS else None,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Raxx back office API",
    # Names no flagged feature: the schema is served whatever the flags are (SPEC F5).
    "DESCRIPTION": "The Raxx beta programme's API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Enums are named after their field; shared ones (StrategyType) get one name.
    "ENUM_NAME_OVERRIDES": {"StrategyTypeEnum": "trading.legs.StrategyType"},
    # The schema follows the asking request's flags (SPEC F5): mock requests carry them.
    "GET_MOCK_REQUEST": "config.schema.build_mock_request",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.schema.tighten",
        "config.schema.add_links",
    ],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery (SPEC 0, J7, W11, J10) -------------------------------------------------------
# Redis redelivers an unacknowledged message after this long (Celery's default: one hour). It
# must exceed the longest task's time_limit (360 s, the purges and the funnel refresh), or a
# task still running would be handed to a second worker as well (docs/reliability.md).
CELERY_VISIBILITY_TIMEOUT_SECONDS = _int("CELERY_VISIBILITY_TIMEOUT_SECONDS", 600, minimum=400)
CELERY_BROKER_URL = (
    _url("CELERY_BROKER_URL", {"redis", "rediss", "amqp", "amqps", "pyamqp", "sentinel", "filesystem"})
    or REDIS_URL
)
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if not CELERY_BROKER_URL:
    # Embedded broker: messages are files under var/, so `make run` needs no server.
    _broker_dir = BASE_DIR / "var" / "celery-broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
if CELERY_BROKER_URL.startswith(("redis", "rediss", "sentinel")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS}
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
# A task is acknowledged when it finishes, not when it starts: a worker killed mid-task (a
# deploy's SIGKILL 30 s after SIGTERM, a crash) leaves the message to be delivered again.
# Every task is idempotent (the lock sweep, purges, the funnel refresh), so running twice is safe.
CELERY_TASK_ACKS_LATE = True
# A worker child killed mid-task puts the message back at once instead of acking it as failed.
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Beat keeps only last-run times in this file (the schedule itself is below), so a fresh dyno
# may start without it; but its folder must exist. The system temp folder always does, named
# per checkout so two checkouts on one machine never share one.
CELERY_BEAT_SCHEDULE_FILENAME = env.str("CELERY_BEAT_SCHEDULE_FILENAME", default="") or str(
    Path(tempfile.gettempdir()) / f"raxx-celerybeat-{hashlib.sha256(str(BASE_DIR).encode()).hexdigest()[:12]}"
)

# A 503's Retry-After (a dependency outage, /healthz): this many seconds up to twice as many, at
# random, so clients that failed together do not all come back in the same second. Short:
# the outages measured recovered in under a second (docs/reliability.md).
RETRY_AFTER_SECONDS = _int("RETRY_AFTER_SECONDS", 2, minimum=1)

JOURNAL_LOCK_INTERVAL_SECONDS = _int("JOURNAL_LOCK_INTERVAL_SECONDS", 300, minimum=1)
# How often beat recomputes the whole-programme funnel the admin shows "as of".
FUNNEL_SNAPSHOT_INTERVAL_SECONDS = _int("FUNNEL_SNAPSHOT_INTERVAL_SECONDS", 600, minimum=60)

# A static schedule: beat must run as exactly one instance (Procfile `beat`).
CELERY_BEAT_SCHEDULE = {
    "journal-lock-post-labels": {
        "task": "journal.tasks.lock_post_labels",
        "schedule": float(JOURNAL_LOCK_INTERVAL_SECONDS),
    },
    "journal-purge-cancelled-accounts": {
        "task": "journal.tasks.purge_cancelled_account_labels",
        "schedule": 3600.0,
    },
    "walkthrough-refresh-funnel-snapshot": {
        "task": "walkthrough.tasks.refresh_funnel_snapshot",
        "schedule": float(FUNNEL_SNAPSHOT_INTERVAL_SECONDS),
    },
    "walkthrough-purge-after-program": {
        "task": "walkthrough.tasks.purge_walkthrough_data",
        "schedule": 3600.0,
    },
    # Idempotency keys live 24 hours (SPEC O3); a key past that is ignored until purged.
    "idempotency-purge-expired-keys": {
        "task": "idempotency.tasks.purge_idempotency_keys",
        "schedule": 3600.0,
    },
}

# --- Product settings ----------------------------------------------------------------------
# HMAC key for walkthrough tokens (SPEC W1). When unset it is derived from SECRET_KEY, so a
# deployment needs only the three variables SPEC 0 names; rotating either revokes all tokens.
BETA_TOKEN_SECRET = env.str("BETA_TOKEN_SECRET", default="") or f"beta-token:{SECRET_KEY}"


def _datetime(name: str) -> dt.datetime | None:
    raw = env.str(name, default="")
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be an ISO 8601 date or datetime (e.g. 2026-12-31T23:59:59+00:00); got {raw!r}"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


# End of the beta programme; walkthrough rows are purged 30 days later (SPEC W11). Unset: never.
BETA_PROGRAM_ENDS_AT = _datetime("BETA_PROGRAM_ENDS_AT")

# Flag overrides are re-read from the database at most this often per process (SPEC F3: ≤ 5 s).
# Not FLAG_*: that prefix belongs to the flags themselves, and an undeclared FLAG_* variable
# fails the system checks (SPEC F1).
FLAGS_CACHE_SECONDS = float(_int("FLAGS_CACHE_SECONDS", 2, minimum=0))
if FLAGS_CACHE_SECONDS > 5:
    raise ImproperlyConfigured("FLAGS_CACHE_SECONDS must be at most 5 (SPEC F3 kill switch)")

# The flag registry (SPEC F1); another file only for tests of a broken registry.
FEATURE_FLAGS_FILE = Path(env.str("FEATURE_FLAGS_FILE", default="") or BASE_DIR / "feature_flags.yaml")

# /metrics (SPEC O4) answers only `Authorization: Bearer <METRICS_TOKEN>`; unset, it is a 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="").strip()
if METRICS_TOKEN and len(METRICS_TOKEN) < 16:
    raise ImproperlyConfigured("METRICS_TOKEN must be at least 16 characters (or unset: no /metrics)")

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").strip().upper()
if not isinstance(logging.getLevelName(LOG_LEVEL), int):
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.request_id.RequestIdLogFilter"}},
    # One JSON object per line (SPEC O4; config/logs.py), in web, worker and beat alike.
    "formatters": {"json": {"()": "config.logs.JsonFormatter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes logs every login at INFO; lockouts are WARNING and still show.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}
# Python warnings (a missing STATIC_ROOT, say) become log records too, so stderr stays JSON.
logging.captureWarnings(True)

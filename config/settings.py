"""The one settings module (SPEC 0): everything comes from the environment.

With DEBUG=0 (the default) it is production-safe, and a missing or malformed required
variable fails at start with ImproperlyConfigured naming the variable. `make run` and the
test suite set DEBUG=1, which selects the zero-service defaults: SQLite in the project
folder, the filesystem Celery broker and a local-memory cache.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
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
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # API keys as digests (issue 12; accounts/auth.py)
    "axes",  # admin login throttle per username and address (issue 12)
    "csp",  # Content-Security-Policy (issue 12)
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI served locally, no CDN
    "accounts",
    "flags",
    "walkthrough",
    "journal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Issue 12: Permissions-Policy everywhere, Cache-Control: no-store on the API.
    "config.middleware.APIHeadersMiddleware",
    # Issue 12: /api/ bodies capped at API_MAX_BODY_BYTES before anything reads them.
    "config.middleware.APIBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /api/ plumbing (docs/api.md): JSON errors in every mode; both slash forms of a route.
    "config.routing.ApiJsonErrorsMiddleware",
    "config.routing.ApiTrailingSlashMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # One consistent flag snapshot per request (SPEC F4).
    "flags.middleware.FlagSnapshotMiddleware",
    # Issue 12: the CSP header (nonces only where a page asks for one).
    "csp.middleware.CSPMiddleware",
    # Issue 12: crafted admin query strings (NUL bytes, bad dates, unknown lookups) never 500.
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
# Persistent connections (issue 11): a new PostgreSQL connection per request cost two thirds
# of a screen GET's throughput. Each web thread keeps its connection CONN_MAX_AGE seconds and
# checks it is alive before reusing it after a request (CONN_HEALTH_CHECKS), so a restarted
# database costs one failed check, not a failed request. 0 closes it after every request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# No JIT (issue 11): the back office's aggregates cross PostgreSQL's jit_above_cost and then
# spent 160-820 ms compiling for a query that runs in 30-150 ms (bench/plans: the funnel).
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
DATABASES["default"].setdefault("CONN_MAX_AGE", _int("CONN_MAX_AGE", 60))
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
            # throttle then fails open and /healthz says "cache": "unavailable" (issue 12).
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
# The same client address as the walkthrough throttle: REMOTE_ADDR, or NUM_PROXIES hops back.
AXES_CLIENT_IP_CALLABLE = "config.security.client_address"

# --- REST framework ----------------------------------------------------------------------
# The largest /api/ request body (issue 12): a declared Content-Length above it is a 413 before
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
    "DEFAULT_THROTTLE_RATES": {
        # Failed walkthrough-token attempts per client address (SPEC W1).
        "walkthrough_auth_failure": _rate("WALKTHROUGH_AUTH_FAILURE_RATE", "20/min"),
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
    "DESCRIPTION": "Beta walkthrough (SPEC W) and trade-context journal (SPEC J).",
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
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")

JOURNAL_LOCK_INTERVAL_SECONDS = _int("JOURNAL_LOCK_INTERVAL_SECONDS", 300, minimum=1)
# How often beat recomputes the whole-programme funnel the admin shows "as of" (issue 11).
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

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").strip().upper()
if not isinstance(logging.getLevelName(LOG_LEVEL), int):
    raise ImproperlyConfigured(
        f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL; got {LOG_LEVEL!r}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # django-axes logs every login at INFO; lockouts are WARNING and still show.
    "loggers": {"django.db.backends": {"level": "INFO"}, "axes": {"level": "WARNING"}},
}

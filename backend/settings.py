"""Settings for wuye-credit, read from environment variables only (django-environ).

Every variable is documented in `.env.example`. With nothing set, the service runs in the
embedded mode of docs/architecture.md: SQLite and a local object folder under `var/`, Celery
tasks run eagerly after commit, cache in local memory.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer's `.env` is read when present; real deployments pass the environment itself.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"  # noqa: S105
# Rotation (docs/operations.md): the previous key stays here for a while, so sessions and
# signed links made with it keep working until they expire.
SECRET_KEY_FALLBACKS = env.list("SECRET_KEY_FALLBACKS", default=[])
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Only for its static Swagger UI files: the API docs then load no script from a CDN and
    # work under the Content-Security-Policy (backend/middleware.py).
    "ninja",
    "backend",
    "credit",
    "inspections",
    "mobile_api",
    "bureau_api",
    "inspector_app",
]

MIDDLEWARE = [
    # First: it times and logs every response, including those of the middleware below.
    "backend.middleware.RequestContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "backend.middleware.SecurityHeadersMiddleware",
    # Reads the reply of a signed tender call's nonce claim, sent without waiting when the
    # answer was ready, once the middleware below have finished with the response.
    "credit.middleware.TenderClaimMiddleware",
    # PostgreSQL cannot store U+0000: a path, query or form field holding one is refused here
    # (JSON bodies by the APIs' parser), not left to fail in a query as a 500.
    "backend.middleware.RefuseNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Chinese unless the person chose English (`?lang=en`, then a cookie); replaces Django's
    # LocaleMiddleware, which would follow the browser's Accept-Language.
    "backend.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "backend.urls"
WSGI_APPLICATION = "backend.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "backend" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

if "DATABASE_URL" not in os.environ:
    # Embedded mode on a fresh checkout: the SQLite file's folder (git-ignored) must exist.
    VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'wuye-credit.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Short-lived web workers reuse connections for a minute; health checks drop dead ones.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A dead database host answers no packets at all; without a bound libpq waits for the
    # kernel's TCP timeout (minutes) and /healthz or /metrics would hang instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
else:
    # SQLite (embedded mode): wait for the writer lock instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese whatever the browser says; English only by choice (backend.middleware.LanguageMiddleware).
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
# Each app (backend included, for its templates) keeps its own `locale/`.
LOCALE_PATHS: list[Path] = []
# The choice is remembered for a year (Django's default is the browser session).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# Bureau staff (reviewers, admins) sign in to the web pages here; the Django admin is only for
# admins (is_staff), so it cannot be the login page of reviewers.
LOGIN_URL = "/bureau/login/"
LOGIN_REDIRECT_URL = "/bureau/"
LOGOUT_REDIRECT_URL = "/bureau/login/"

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(VAR_DIR / "static"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Redis, cache and Celery -------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# No broker configured (embedded mode): tasks run in-process right after the transaction that
# queued them commits, so the same code paths stay exercised without a worker.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
# A photo takes about a second; a full recompute of 250,000 firms under a minute. Limits sit
# well above both so only a stuck task is stopped.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=300)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=360)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Publishing from a web request must not hang when Redis is down: give up quickly, the row
# stays in its unfinished state and a sweeper queues it again later.
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
# Workers log through LOGGING below (JSON, request/task ids, redaction) instead of Celery's own
# root handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Object store --------------------------------------------------------------------------
OBJECT_STORE_URL = env.str("OBJECT_STORE_URL", default=f"file://{VAR_DIR / 'objects'}")
OBJECT_STORE_TIMEOUT_S = env.float("OBJECT_STORE_TIMEOUT_S", default=10.0)
# The store's address as browsers see it (e.g. https://photos.example.gov.cn); presigned photo
# links are signed for it. Empty: the OBJECT_STORE_URL host is used.
OBJECT_STORE_PUBLIC_URL = env.str("OBJECT_STORE_PUBLIC_URL", default="")

# --- Product settings ----------------------------------------------------------------------
# The objection window is the active rulebook's (`objection_window_working_days`); set this only
# to override it, as `make run` and the benchmarks do with 0 so that records count at once.
CREDIT_OBJECTION_WORKING_DAYS = env.int("CREDIT_OBJECTION_WORKING_DAYS", default=None)
ACCESS_TOKEN_TTL_S = env.int("ACCESS_TOKEN_TTL_S", default=3600)
# Inspectors work offline for days; a refresh token survives a two-week field trip.
REFRESH_TOKEN_TTL_S = env.int("REFRESH_TOKEN_TTL_S", default=14 * 24 * 3600)
LOGIN_MAX_FAILURES = 5
LOGIN_FAILURE_WINDOW_S = 15 * 60
TENDER_MAX_SKEW_S = 300
MAX_PHOTO_BYTES = 25 * 1024 * 1024
# The inspector web app's built files (index.html, sw.js, manifest, assets/), served at /m/ by
# `inspector_app`; `make app` writes them. Missing: /m/ answers 503 saying how to build it.
INSPECTOR_APP_BUILD_DIR = env.path(
    "INSPECTOR_APP_BUILD_DIR", default=str(BASE_DIR / "inspector_app" / "build")
)

# --- Security ------------------------------------------------------------------------------
# Production values come from the environment (docs/operations.md); `manage.py check --deploy`
# is clean with SECURE_SSL_REDIRECT=1, SECURE_HSTS_SECONDS=31536000, SECURE_COOKIES=1,
# SECURE_HSTS_INCLUDE_SUBDOMAINS=1 and SECURE_HSTS_PRELOAD=1.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Container health checks and Prometheus reach gunicorn directly over the internal network,
# not through the TLS proxy; a redirect to https would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# Origins allowed in img-src besides 'self'; empty = the origin of an s3:// OBJECT_STORE_URL.
CSP_IMG_ORIGINS = env.list("CSP_IMG_ORIGINS", default=[])

# --- Observability -------------------------------------------------------------------------
# /metrics needs `Authorization: Bearer METRICS_TOKEN`; unset, only loopback may read it.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Celery workers serve their task metrics on this port (0 = off). Multiprocess mode is chosen
# by PROMETHEUS_MULTIPROC_DIR, which prometheus-client reads itself (backend/observability.py).
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=0)
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
if LOG_FORMAT not in ("json", "plain"):
    raise environ.ImproperlyConfigured("LOG_FORMAT must be json or plain")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "backend.logs.ContextFilter"},
        "redact": {"()": "backend.logs.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "backend.logs.JsonFormatter", "tz": TIME_ZONE},
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["context", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO").upper()},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # 4xx answers are in the access log already; django.request keeps the 5xx tracebacks.
        "django.request": {"level": "ERROR"},
        # WeasyPrint logs each step of every credit report at INFO ("Step 5 - Creating
        # layout"); its warnings (a CSS rule it ignores, a font it cannot subset) still show.
        "weasyprint": {"level": "WARNING"},
    },
}

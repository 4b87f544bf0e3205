"""Settings for Registrar, driven by environment variables.

Debug defaults to on with SQLite so that one command runs the demo. In production set
DJANGO_DEBUG=0 together with DJANGO_SECRET_KEY, DJANGO_ALLOWED_HOSTS and DATABASE_URL.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name, default=""):
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", "1")
# Under pytest: fast password hashing and tasks run inline.
TESTING = env_bool("REGISTRAR_TESTING", "0") or "pytest" in sys.modules

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS")
if not DEBUG:
    missing = [
        name
        for name, value in [("DJANGO_SECRET_KEY", SECRET_KEY), ("DJANGO_ALLOWED_HOSTS", ALLOWED_HOSTS)]
        if not value
    ]
    if missing:
        raise ImproperlyConfigured(
            "DJANGO_DEBUG is off, so these environment variables must be set: " + ", ".join(missing)
        )
else:
    SECRET_KEY = SECRET_KEY or "django-insecure-development-key-only-for-debug-mode-do-not-deploy"
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["localhost", "127.0.0.1", "[::1]", "testserver"]

CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    # django.contrib.admin, its admin.py modules loaded with the URLs (registrar/admin_config.py).
    "registrar.admin_config.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "import_export",
    "axes",
    "django_tasks",
    "django_tasks_db",
    "registrar",
    "students",
    "transfers",
    "graduation",
    "corrections",
    "problems",
    "reports",
    "rules",
    "intake",
    "schoolyear",
    "verification",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Early, so that its header reaches every response, those of the middleware below too.
    "registrar.middleware.ContentSecurityPolicyMiddleware",
    "registrar.middleware.FriendlyNotFoundMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "registrar.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "registrar.middleware.CleanFormTextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, so that it sees the result of the login view.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "registrar.urls"
WSGI_APPLICATION = "registrar.wsgi.application"

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
                "django.template.context_processors.i18n",
                "registrar.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DJANGO_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several writers (web, worker) share the file: wait up to 20 s for the lock instead of failing at
    # once, and take it when a transaction begins (a read that turns into a write half-way through
    # cannot wait, SQLite refuses it at once). In WAL mode readers and the one writer do not block
    # each other: the pages stay readable while the worker writes an import.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The approval queues' covering indexes (registrar/models/approvals.py) carry INCLUDE columns that
# only PostgreSQL, the production database, stores; on SQLite the same indexes serve as plain ones,
# which is all the demo needs. Without this, `migrate` on SQLite (`make run`) warns about them.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
AUTH_USER_MODEL = "registrar.User"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "registrar:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (registrar/throttling.py): five wrong passwords for one user name from one address
# lock that user name there for 15 minutes; twenty from one address, whatever the user names, lock
# the address.
LOGIN_FAILURE_LIMIT = int(os.environ.get("REGISTRAR_LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("REGISTRAR_LOGIN_ADDRESS_FAILURE_LIMIT", "20"))
AXES_FAILURE_LIMIT = "registrar.throttling.failure_limit"
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("REGISTRAR_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = "registrar.throttling.lockout_parameters"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Uploads (photos, evidence scans) are personal data: kept outside the static tree and never
    # served by URL; views stream them after an access check.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = Path(os.environ.get("REGISTRAR_MEDIA_ROOT", BASE_DIR / "private_media"))
# No URL pattern serves this prefix: uploads are streamed by views after an access check.
MEDIA_URL = "/private-media/"

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024

TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}

# Our pages load scripts, styles and images from our own origin only, and nothing inline.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SESSION_COOKIE_AGE = 8 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", "1")
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", "1")
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", "1")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("DJANGO_BEHIND_TLS_PROXY", "0"):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# Province switches: rules a province may set differently. Defaults follow the domain guide.
REGISTRAR = {
    # 班额: the most students a class may hold, by stage segment.
    "CLASS_CAPACITY": {"primary": 45, "junior": 50, "senior": 50, "vocational": 50, "special": 12},
    # Roster workbooks (students/roster/workbooks.py): what a file may hold, checked before it is parsed,
    # so that any file is read or refused in bounded memory and time. A county's file of 200,000 rows
    # of the template's 46 columns passes; the parsed sheet costs about 32 bytes a cell of its grid.
    "ROSTER_MAX_ROWS": 300_000,
    "ROSTER_MAX_COLUMNS": 256,
    # Rows × columns of a sheet's grid (and cells written in it).
    "ROSTER_MAX_CELLS": 12_000_000,
    # Excel itself holds at most 32,767 characters in a cell.
    "ROSTER_MAX_CELL_CHARS": 32_767,
    # The .xlsx archive: its parts, what they unpack to, and how much better than text compresses.
    "ROSTER_MAX_PARTS": 1_000,
    "ROSTER_MAX_UNPACKED_BYTES": 1024**3,
    # xl/sharedStrings.xml is held in memory whole while the file is read.
    "ROSTER_MAX_SHARED_STRINGS_BYTES": 256 * 1024**2,
    "ROSTER_MAX_RATIO": 100,
    # An .xls file is read in a child process with this much memory and CPU time at most.
    "ROSTER_XLS_MEMORY_BYTES": 480 * 1024**2,
    "ROSTER_XLS_SECONDS": 30,
    # A roster export of more students than this is written by a background job (students/roster/
    # export_jobs.py) with a progress page; smaller ones download at once (about 20,000 a second).
    "EXPORT_BACKGROUND_ROWS": 10_000,
    # Hours a background export's file is kept for its download before it is removed.
    "EXPORT_KEEP_HOURS": 24,
}

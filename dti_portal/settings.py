"""Settings for the DTI portal, read from environment variables (see docs in README).

Without DATABASE_URL the portal runs on an embedded SQLite file; without REDIS_URL Celery runs
tasks eagerly and the cache is local memory. Production (DEBUG off) refuses to start without a
real SECRET_KEY.
"""

from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("DTI_TESTING", default=False)

_INSECURE_KEY = "django-insecure-dev-only-key-change-me"  # noqa: S105 - only allowed with DEBUG
# The placeholders of .env.example say "change-me"; its SECRET_KEY is long enough to pass the
# length check, so a copied .env would otherwise go live with a published key.
_PLACEHOLDER = "change-me"
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = _INSECURE_KEY
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
elif not (DEBUG or TESTING) and _PLACEHOLDER in SECRET_KEY.lower():
    raise ImproperlyConfigured(
        f"SECRET_KEY is a placeholder (contains {_PLACEHOLDER!r}): set a random one, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(64))'."
    )
elif not (DEBUG or TESTING) and (SECRET_KEY == _INSECURE_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY is too weak for production (50+ random characters).")

# Production names its hosts: the development default would start a server that answers 400 to
# every request for its real name. docker-compose's web health check asks for Host: localhost.
ALLOWED_HOSTS = [host for host in env.list("ALLOWED_HOSTS", default=[]) if host]
if not ALLOWED_HOSTS:
    if DEBUG or TESTING:
        ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
    else:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must be set when DEBUG is off: the portal's host names, comma "
            "separated, e.g. dti.example.gov.vn,localhost (docker-compose's health check uses "
            "localhost)."
        )
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "rules.apps.AutodiscoverRulesConfig",
    "axes",
    "csp",
    "django_htmx",
    "template_partials",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",  # single-use backup codes
    "health_check",
    "dti_portal.apps.PortalConfig",
    "agencies",
    "indicators",
    "evidence",
    "scoring",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dti_portal.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "dti_portal.middleware.PortalLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Outermost after authentication: sees the final response of every inner layer.
    "dti_portal.middleware.PrivateCacheMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Before the middleware below: idle timeout, MFA and forced password change add messages.
    "django.contrib.messages.middleware.MessageMiddleware",
    "dti_portal.middleware.IdleTimeoutMiddleware",
    "dti_portal.middleware.LoginRequiredMiddleware",
    "agencies.mfa.AccountSecurityMiddleware",
    "dti_portal.middleware.DomainErrorMiddleware",
    "dti_portal.middleware.ForcePasswordChangeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "dti_portal.urls"
WSGI_APPLICATION = "dti_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
                "dti_portal.context_processors.portal",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------
try:
    DATABASES = {
        "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
    }
except ValueError:
    # Not chained: the parser's message quotes part of the URL, the password included.
    raise ImproperlyConfigured(
        "DATABASE_URL does not parse: a password holding /, %, # or @ must be URL-encoded in "
        "it. docker-compose builds it from POSTGRES_PASSWORD: use letters, digits, - and _ "
        "only, e.g. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'."
    ) from None
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if not (DEBUG or TESTING) and _PLACEHOLDER in str(DATABASES["default"].get("PASSWORD", "")).lower():
    # docker-compose builds DATABASE_URL from POSTGRES_PASSWORD, .env.example's is "change-me".
    raise ImproperlyConfigured(
        f"The database password is a placeholder (contains {_PLACEHOLDER!r}): set "
        "POSTGRES_PASSWORD (docker-compose) or the password in DATABASE_URL."
    )
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    # SQLite: wait for a lock instead of failing at once; immediate transactions avoid
    # "database is locked" upgrades under concurrent writers.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Celery ----------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_PREFIX", default="dti"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True  # job state lives in domain models
CELERY_TASK_ACKS_LATE = True  # redeliver when a worker dies mid-task: tasks are idempotent
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Fail fast when the broker is down: the web request must still succeed (scores go stale).
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_TASK_PUBLISH_RETRY = False
CELERY_TASK_TIME_LIMIT = 900
CELERY_TASK_SOFT_TIME_LIMIT = 840
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
# Task modules outside "<app>/tasks.py" (not found by autodiscovery).
CELERY_IMPORTS = ["dti_portal.tasks", "scoring.exports.tasks"]
CELERY_BEAT_SCHEDULE = {
    "nightly-recompute": {
        "task": "scoring.tasks.recompute_all_open",
        "schedule": crontab(hour=1, minute=0),
    },
    "sweep-stale-scores": {
        "task": "scoring.tasks.sweep_stale",
        "schedule": 60.0,
    },
    "deadline-reminders": {
        "task": "evidence.tasks.send_deadline_reminders",
        "schedule": crontab(hour=7, minute=30),
    },
    "expire-exports": {
        "task": "scoring.exports.tasks.expire_exports",
        "schedule": crontab(hour=2, minute=15),
    },
    "remove-orphan-files": {
        "task": "evidence.tasks.remove_orphan_files",
        "schedule": crontab(hour=2, minute=30),
    },
}

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "agencies.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
AXES_ENABLE_ADMIN = True
# The API token route answers its lockout in JSON; pages keep AXES_LOCKOUT_TEMPLATE.
AXES_LOCKOUT_CALLABLE = "dti_portal.api.lockout_response"

# Reverse proxies in front of Django that append to X-Forwarded-For (docker-compose: nginx = 1).
# 0 trusts only REMOTE_ADDR: a client-written X-Forwarded-For never changes who it is for the
# login throttle (DRF) and the lockout log (django-axes), which resolve the address alike.
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "dti_portal.api.client_ip"

# TOTP after the password for reviewers, administrators and the council (agencies/mfa.py). Off for `make run`'s
# demo (DEBUG) and for tests unless a test turns it on.
DTI_MFA_REQUIRED = env.bool("DTI_MFA_REQUIRED", default=not DEBUG and not TESTING)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="DTI portal")
# Never show TOTP keys or backup codes in the Django admin (devices change through the audited
# services of agencies/services.py; the admin only resets a user's MFA).
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# Only for `make bench`: a minimal view (/bench/floor/) measuring the server's floor latency.
DTI_BENCH_FLOOR_VIEW = env.bool("DTI_BENCH_FLOOR_VIEW", default=False)

SESSION_IDLE_TIMEOUT = env.int("SESSION_IDLE_TIMEOUT", default=15 * 60)  # seconds
# A session ends this long after the login however active it is (IdleTimeoutMiddleware).
SESSION_ABSOLUTE_SECONDS = env.int("SESSION_ABSOLUTE_SECONDS", default=8 * 3600)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the meta tag, not the cookie

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", default="vi")
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
# locale/: the project's catalogues (English; the msgids are Vietnamese). locale_vendor/: the
# Vietnamese of third-party messages missing from their own catalogues (DRF's API errors).
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_vendor"]
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Ho_Chi_Minh")
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["dti_portal.formats"]
USE_THOUSAND_SEPARATOR = True

# --- Static and media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Evidence is private: never under STATIC_ROOT and never served by a public URL.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = "/protected/"
STORAGES = {
    # Uploaded files are flushed to disk before their rows commit (dti_portal.storage).
    "default": {"BACKEND": "dti_portal.storage.DurableFileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "dti_portal.storage.StaticStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
EVIDENCE_MAX_UPLOAD_BYTES = env.int("EVIDENCE_MAX_UPLOAD_BYTES", default=20 * 1024 * 1024)
# Agency workbook uploads: openpyxl parses them inside the request, and the portal's own template
# weighs a few hundred kB, so a far tighter budget than evidence, checked on the zip directory
# before openpyxl opens anything (evidence/services/workbook_limits.py). Bytes are uncompressed
# except WORKBOOK_MAX_UPLOAD_BYTES; the shared strings table is the slowest part to parse.
WORKBOOK_MAX_UPLOAD_BYTES = env.int("WORKBOOK_MAX_UPLOAD_BYTES", default=5 * 1024 * 1024)
WORKBOOK_MAX_UNCOMPRESSED_BYTES = env.int(
    "WORKBOOK_MAX_UNCOMPRESSED_BYTES", default=10 * 1024 * 1024
)
WORKBOOK_MAX_ENTRY_BYTES = env.int("WORKBOOK_MAX_ENTRY_BYTES", default=5 * 1024 * 1024)
WORKBOOK_MAX_SHARED_STRINGS_BYTES = env.int(
    "WORKBOOK_MAX_SHARED_STRINGS_BYTES", default=2 * 1024 * 1024
)
WORKBOOK_MAX_ZIP_ENTRIES = env.int("WORKBOOK_MAX_ZIP_ENTRIES", default=800)
WORKBOOK_MAX_COMPRESSION_RATIO = env.int("WORKBOOK_MAX_COMPRESSION_RATIO", default=100)
WORKBOOK_MAX_SHEETS = env.int("WORKBOOK_MAX_SHEETS", default=300)
WORKBOOK_MAX_COLUMNS = env.int("WORKBOOK_MAX_COLUMNS", default=60)
# Small uploads in memory, anything larger streams to a temporary file on disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Stored files are readable by the app's user and group, nobody else; directories traversable
# by the group. docker-compose's nginx serves /protected/ from the same volume through that
# group (the app's gid is the nginx image's, see the Dockerfile): with a default directory mode
# that depends on the umask, or 0600 files, X-Accel-Redirect downloads fail with 403.
FILE_UPLOAD_PERMISSIONS = 0o640
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o750
# Where uploads stream before the storage moves them under MEDIA_ROOT. On the same file system as
# MEDIA_ROOT (docker-compose: a directory of the media volume) that move is a rename instead of a
# copy of every byte. Empty: the system's temporary directory. Created at startup if missing.
FILE_UPLOAD_TEMP_DIR = env.str("FILE_UPLOAD_TEMP_DIR", default="") or None
SENDFILE_BACKEND = env.str(
    "SENDFILE_BACKEND",
    default="django_sendfile.backends.simple"
    if DEBUG or TESTING
    else "django_sendfile.backends.nginx",
)
SENDFILE_ROOT = str(MEDIA_ROOT)
SENDFILE_URL = "/protected"

# --- Email ------------------------------------------------------------------------------------
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
elif env.str("EMAIL_HOST", default=""):
    # Django's own SMTP settings, one variable each (API.md: "or the usual email settings").
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env.str("EMAIL_HOST")
    EMAIL_PORT = env.int("EMAIL_PORT", default=25)
    EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
    EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
    EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
    EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
else:
    EMAIL_BACKEND = env.str(
        "EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
    )
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="dti-portal@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- DRF --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "dti_portal.permissions.PasswordChanged",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dti_portal.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.ScopedRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"auth": env.str("AUTH_THROTTLE_RATE", default="20/min")},
    "NUM_PROXIES": NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
REST_KNOX = {
    "TOKEN_TTL": __import__("datetime").timedelta(hours=env.int("API_TOKEN_TTL_HOURS", default=10)),
    "AUTO_REFRESH": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DTI portal API",
    "DESCRIPTION": "Provincial Digital Transformation Index self-assessment portal",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AgencyKindEnum": "agencies.models.Agency.Kind",
        "MeasureKindEnum": "indicators.models.Measure.Kind",
        "EvidenceKindEnum": "evidence.models.EvidenceFile.Kind",
        "ExportKindEnum": "scoring.exports.models.ExportJob.Kind",
        "ExportStateEnum": "scoring.exports.models.ExportJob.State",
        "UserRoleEnum": "agencies.models.User.Role",
        "SubmissionStateEnum": "evidence.models.Submission.State",
        "FrameworkStatusEnum": "indicators.models.Framework.Status",
        "IndicatorLevelEnum": "indicators.models.Indicator.Level",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- CSP (django-csp 4) -----------------------------------------------------------------------
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}

# --- Security in production -------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"  # the evidence preview view opts in with @xframe_options_sameorigin
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]  # container health checks over plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Portal-specific --------------------------------------------------------------------------
DTI_TARGET_POINTS = env.int("DTI_TARGET_POINTS", default=800)
DTI_FRAMEWORK_FILE = BASE_DIR / "data" / "dti_2025_tinh_phu_luc_1.xlsx"
# The province this portal serves (its row in the imported national results).
PROVINCE_NAME = env.str("PROVINCE_NAME", default="Khánh Hòa")
# Agency league table (thi đua - khen thưởng): minimum score (%) of each rating band, best first:
# Xuất sắc, Tốt, Khá, Trung bình; below the last one: Yếu.
DTI_LEAGUE_BANDS = env.list("DTI_LEAGUE_BANDS", cast=float, default=[90, 80, 65, 50])
# Exports with at most this many evidence files are generated inside the request.
EXPORT_SYNC_MAX_FILES = env.int("EXPORT_SYNC_MAX_FILES", default=50)
# A province-wide PDF summary lists every agency's league row (about 18 s for 1000 agencies, a
# web worker held all along): above this many active agencies it is generated in the background.
EXPORT_SYNC_MAX_AGENCIES = env.int("EXPORT_SYNC_MAX_AGENCIES", default=150)
# Export jobs and their files are deleted this many days after they were asked for (nightly).
EXPORT_RETENTION_DAYS = env.int("EXPORT_RETENTION_DAYS", default=7)
# Stored files no row points at (a worker killed mid-upload) are removed once this old.
MEDIA_ORPHAN_GRACE_HOURS = env.int("MEDIA_ORPHAN_GRACE_HOURS", default=24)
# Zero would let the janitors remove an upload in flight or an export being generated.
if EXPORT_RETENTION_DAYS < 1 or MEDIA_ORPHAN_GRACE_HOURS < 1:
    raise ImproperlyConfigured(
        "EXPORT_RETENTION_DAYS and MEDIA_ORPHAN_GRACE_HOURS must be at least 1."
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # fontTools.subset logs every glyph table at INFO while WeasyPrint embeds fonts in a PDF.
    "loggers": {"axes": {"level": "WARNING"}, "fontTools.subset": {"level": "WARNING"}},
}

SILENCED_SYSTEM_CHECKS = [
    # Lockout is per username on purpose: a whole provincial office often shares one public IP,
    # so locking by IP would lock out every civil servant of that office.
    "axes.W006",
    # SQLite ignores nulls_distinct=False; the period service enforces one annual round per year.
    "models.W047",
]

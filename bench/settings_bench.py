"""Settings for `make bench`: production settings (DEBUG off) served over plain HTTP on loopback.

Differences from production, all needed to drive the server from a local load generator:
cookies without the Secure flag and no HTTPS redirect (no TLS terminator on loopback), MFA off
(load users cannot type TOTP codes), the minimal floor view on, larger uploads for the 200 MB
streaming test, and no API throttling of the load generator's logins.
"""

import os

os.environ.setdefault("DTI_BENCH_FLOOR_VIEW", "1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DTI_MFA_REQUIRED", "0")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

from dti_portal.settings import *  # noqa: E402,F403
from dti_portal.settings import REST_FRAMEWORK  # noqa: E402

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0
SENDFILE_BACKEND = "django_sendfile.backends.simple"
EVIDENCE_MAX_UPLOAD_BYTES = int(os.environ.get("EVIDENCE_MAX_UPLOAD_BYTES", 300 * 1024 * 1024))
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK.get("DEFAULT_THROTTLE_RATES", {}),
        "auth": "100000/min",
    },
}
AXES_ENABLED = False  # thousands of logins from one address in minutes
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}

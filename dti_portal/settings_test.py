"""Test settings: the same as production settings, with fast hashing and a throwaway media root.

DATABASE_URL / REDIS_URL still choose PostgreSQL and Redis when set (CI), SQLite and eager
Celery otherwise.
"""

import os
import tempfile
import warnings

os.environ.setdefault("DTI_TESTING", "1")

from .settings import *  # noqa: E402,F403
from .settings import CELERY_TASK_ALWAYS_EAGER, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = tempfile.mkdtemp(prefix="dti-media-")
SENDFILE_ROOT = MEDIA_ROOT
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}
# Unit tests run tasks eagerly unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = os.environ.get("CELERY_EAGER", "1") != "0" or CELERY_TASK_ALWAYS_EAGER
AXES_ENABLED = True
DEBUG = False

# whitenoise warns about a missing STATIC_ROOT: tests never run collectstatic.
warnings.filterwarnings("ignore", message="No directory at")

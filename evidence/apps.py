import logging
import os

from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class EvidenceConfig(AppConfig):
    name = "evidence"
    verbose_name = _("Báo cáo, minh chứng và thẩm định")

    def ready(self) -> None:
        # Uploads stream into FILE_UPLOAD_TEMP_DIR (settings): it must exist, private to the app.
        temp_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
        if temp_dir:
            try:
                os.makedirs(temp_dir, mode=0o700, exist_ok=True)
            except OSError:  # a read-only mount (a process that never receives uploads)
                logger.warning("evidence: cannot create FILE_UPLOAD_TEMP_DIR %s", temp_dir)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = _("Chấm điểm")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects evidence's change signal to recompute)

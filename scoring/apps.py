from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "scoring"
    verbose_name = "Chấm điểm"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects evidence's change signal to recompute)

"""The project package as an app: connects the project-wide signal receivers."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "dti_portal"
    verbose_name = "DTI portal"

    def ready(self) -> None:
        from . import checks, signals  # noqa: F401 - registers the checks, connects the receivers

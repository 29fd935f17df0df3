"""Deployment checks (``manage.py check --deploy``): settings that start fine but leave the
portal's e-mail going nowhere."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register

#: Backends that never deliver: they print to the log or keep messages in memory.
UNDELIVERED_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(Tags.security, deploy=True)
def mail_delivery(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    warnings = []
    if settings.EMAIL_BACKEND in UNDELIVERED_BACKENDS:
        warnings.append(
            Warning(
                "E-mail is not sent: notifications, deadline reminders and the escalations to "
                "agency heads are written to the log.",
                hint="Set EMAIL_URL (e.g. smtp+tls://user:password@mail.example.gov.vn:587) "
                "or EMAIL_HOST and the usual EMAIL_* variables.",
                id="dti.W001",
            )
        )
    if not str(settings.SITE_URL).startswith("https://"):
        warnings.append(
            Warning(
                f"SITE_URL is {settings.SITE_URL!r}: the links in e-mails point there.",
                hint="Set SITE_URL to the portal's public address, e.g. "
                "https://dti.example.gov.vn.",
                id="dti.W002",
            )
        )
    return warnings

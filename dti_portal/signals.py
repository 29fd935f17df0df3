"""Project-wide receivers: what a login and a password change do to sessions and API tokens.

Connected by ``PortalConfig.ready`` so every process (web, Celery, management commands such as
``changepassword``) runs them, not only the ones that load the middleware.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest

SESSION_STARTED_KEY = "_login_at"


@receiver(user_logged_in, dispatch_uid="dti_portal.session_started")
def remember_login_time(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Starts the absolute session lifetime (``SESSION_ABSOLUTE_SECONDS``) at every login.

    Set here, not left to the middleware, because logging in again as the same user keeps the
    session's data (Django cycles the key): the old start time must not survive a fresh login.
    """
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_STARTED_KEY] = int(time.time())


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="dti_portal.password_tokens")
def revoke_tokens_on_password_change(
    sender: Any, instance: Any, created: bool, **kwargs: Any
) -> None:
    """A new password deletes the user's API tokens, whichever path set it.

    The one place for every path: the password change page, the admin's "set password" form,
    the account import and ``manage.py changepassword`` all call ``set_password`` and save.
    Django keeps the raw password in ``_password`` from ``set_password`` until that save ends,
    and clears it for the transparent re-hash at login (a hasher upgrade is no password change,
    so it keeps the tokens). Browser sessions need nothing here: Django's session hash already
    ends them (``update_session_auth_hash`` keeps only the session that made the change).
    """
    if created or getattr(instance, "_password", None) is None:
        return
    from knox.models import AuthToken

    AuthToken.objects.filter(user=instance).delete()

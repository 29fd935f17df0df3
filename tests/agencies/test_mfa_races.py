"""A single-use backup code used by several requests at the same moment passes once (PostgreSQL).

``StaticDevice.verify_token`` reads a code and deletes it without checking the delete. The
requests are serialised by django-otp's ``match_token``, which runs in one transaction over the
user's devices loaded ``select_for_update`` (``for_verify=True``), the authenticator's failed
check writing its throttle counter in the same transaction: a request waits for the first one's
commit, then no longer finds the code. The delete is slowed down below so that, were the checks
not serialised, every request would read the code before the first one deletes it.

Slow (threads, real row locks): ``make test-slow`` with DATABASE_URL=postgres://...; skipped on
SQLite, whose whole-database lock would serialise the requests and prove nothing.
"""

from __future__ import annotations

import time

import pytest
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies.mfa import token_login_mfa_error
from agencies.services import user_mfa_enrol
from tests.concurrency import RACE_MARKS, race

N = 8
pytestmark = RACE_MARKS


@pytest.mark.django_db(transaction=True)
def test_one_backup_code_passes_once_under_concurrent_logins(settings, reviewer, monkeypatch):
    settings.DTI_MFA_REQUIRED = True
    # Widen django-otp's window between finding the code and deleting it, so that every
    # request has read the code before the first one deletes it, unless the check is locked.
    spend = StaticToken.delete

    def slow_delete(self, *args, **kwargs):
        time.sleep(0.3)
        return spend(self, *args, **kwargs)

    monkeypatch.setattr(StaticToken, "delete", slow_delete)
    device = TOTPDevice.objects.create(user=reviewer, name="TOTP", confirmed=False)
    codes = user_mfa_enrol(user=reviewer, device=device)

    results = race(N, lambda: token_login_mfa_error(reviewer, codes[0]))

    assert sum(r is None for r in results) == 1  # one token login accepted
    assert all(r is None or isinstance(r, str) for r in results)  # the others refused, no crash
    assert not StaticToken.objects.filter(token=codes[0]).exists()
    assert StaticToken.objects.filter(device__user=reviewer).count() == len(codes) - 1

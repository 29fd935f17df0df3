"""Every admin page of a domain model is listed here with what keeps it honest: read-only, or
writes that leave a trace (simple-history rows or AuditEvents) and never touch a state machine's
field. A new ``admin.register`` of a domain model fails here until it is given a policy."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django_fsm import FSMField
from simple_history.admin import SimpleHistoryAdmin

from dti_portal.admin_guards import GuardedHistoryAdmin, StaleEditGuard
from tests.factories import FrameworkFactory, IndicatorFactory

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"agencies", "indicators", "evidence", "scoring"}

READ_ONLY = "read-only"
HISTORY = "history"  # simple-history records every save and delete: who, when, before → after
AUDITED = "audited"  # the admin writes AuditEvents on save and delete (no history table)

#: model label → (policy, why)
POLICY: dict[str, tuple[str, str]] = {
    "agencies.Agency": (HISTORY, "delete refused while a sub-indicator names it"),
    "agencies.AgencyGroup": (AUDITED, "members before → after; delete refused while assigned"),
    "agencies.User": (HISTORY, "role, agency, rights, deactivation, password also as AuditEvents"),
    "agencies.AuditEvent": (READ_ONLY, "the audit log itself"),
    "indicators.Framework": (HISTORY, "a published or archived framework is read-only"),
    "indicators.Indicator": (HISTORY, "drafts only, never moved; edits also as indicator.update"),
    "indicators.Crosswalk": (AUDITED, "viewed; a wrong row deleted through crosswalk_delete"),
    "evidence.SubmissionTransition": (READ_ONLY, "the transition log"),
    "evidence.ReminderDigest": (READ_ONLY, "the reminders' idempotency rows"),
}

#: Rows that change only through their services' state machine, version check and audit row:
#: no admin page at all (a read-only one would be harmless, but none is needed).
NEVER_REGISTERED = {
    "evidence.Submission",
    "evidence.EvidenceFile",
    "evidence.ReportingPeriod",
    "evidence.ItemExtension",
    "scoring.ScoreSnapshot",
    "scoring.ScoreState",
    "scoring.NationalResult",
    "indicators.Measure",  # edited inline with its draft indicator only
}


def _domain_admins() -> dict[str, admin.ModelAdmin]:
    return {
        model._meta.label: model_admin
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in DOMAIN_APPS
    }


@pytest.fixture
def request_(admin_user):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    return request


def test_every_domain_admin_has_a_policy():
    assert set(_domain_admins()) == set(POLICY)
    assert not NEVER_REGISTERED & set(_domain_admins())


def test_read_only_admins_write_nothing(request_):
    for label, model_admin in _domain_admins().items():
        if POLICY[label][0] != READ_ONLY:
            continue
        assert not model_admin.has_add_permission(request_), label
        assert not model_admin.has_change_permission(request_), label
        assert not model_admin.has_delete_permission(request_), label
        assert not model_admin.get_actions(request_), label


def test_writable_admins_leave_a_trace(request_):
    for label, model_admin in _domain_admins().items():
        policy = POLICY[label][0]
        if policy == HISTORY:
            assert hasattr(model_admin.model, "history"), label
            assert isinstance(model_admin, GuardedHistoryAdmin), label
        elif policy == AUDITED:
            overrides = {
                name
                for name in ("save_model", "save_related", "delete_model", "delete_queryset")
                if getattr(type(model_admin), name) is not getattr(admin.ModelAdmin, name)
            }
            assert {"delete_model", "delete_queryset"} <= overrides, label
            if model_admin.has_add_permission(request_) or model_admin.has_change_permission(
                request_
            ):
                assert overrides & {"save_model", "save_related"}, label


def test_every_change_form_refuses_a_stale_page(request_):
    for label, model_admin in _domain_admins().items():
        if model_admin.has_change_permission(request_):
            assert isinstance(model_admin, StaleEditGuard), label


def test_no_history_admin_restores_an_old_version():
    """simple-history's revert page saves on a view permission alone (past every guard)."""
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, SimpleHistoryAdmin):
            assert isinstance(model_admin, GuardedHistoryAdmin), model._meta.label


def test_no_admin_form_edits_a_state_machine_field(request_):
    """A state changes only through its service (guarded, atomic, audited in one call)."""
    instances = {
        "indicators.Framework": FrameworkFactory(),
        "indicators.Indicator": IndicatorFactory(),
    }
    for label, model_admin in _domain_admins().items():
        fsm = [f.name for f in model_admin.model._meta.fields if isinstance(f, FSMField)]
        if not fsm or POLICY[label][0] == READ_ONLY:
            continue
        obj = instances[label]
        for o in (None, obj):
            form = model_admin.get_form(request_, o, change=o is not None)
            assert not set(fsm) & set(form.base_fields), (label, o)

"""Transition services: lifecycle, roles, versions, states, validation, audit rows, signals."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core import mail
from django.utils import timezone

from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from evidence.models import ItemExtension, Notification, Submission, SubmissionTransition
from evidence.services import (
    audit_context,
    submission_approve,
    submission_bulk_approve,
    submission_reopen,
    submission_return,
    submission_set_final,
    submission_start_review,
    submission_submit,
)
from evidence.signals import scores_invalidated
from tests.evidence.review_setup import make_item

S = Submission.State
pytestmark = pytest.mark.django_db


@pytest.fixture
def item(agency_a, agency_b):
    return make_item(agency_a, agency_b)


def _submitted(item, user_a):
    return submission_submit(submission=item.consolidation, actor=user_a, version=1)


def test_full_lifecycle_service_level(
    item, user_a, user_b, reviewer, django_capture_on_commit_callbacks
):
    # coordinator (B) submits its contribution to the lead (A)
    with django_capture_on_commit_callbacks(execute=True):
        contrib = submission_submit(submission=item.contribution, actor=user_b, version=1)
    assert contrib.state == S.SUBMITTED_TO_LEAD and contrib.version == 2
    assert Notification.objects.filter(recipient=user_a, kind="submitted_to_lead").count() == 1
    assert [m.to for m in mail.outbox] == [[user_a.email]]

    # the lead consolidates and submits to the Sở; the reviewers are told
    cons = submission_submit(submission=item.consolidation, actor=user_a, version=1)
    assert cons.state == S.SUBMITTED
    assert Notification.objects.filter(recipient=reviewer, kind="submitted").count() == 1

    # the reviewer returns it with a reason code and a comment
    cons = submission_return(
        submission=cons,
        actor=reviewer,
        version=cons.version,
        reason_code="thieu_minh_chung",
        reason="Bổ sung quyết định ban hành",
    )
    assert cons.state == S.RETURNED
    note = Notification.objects.get(recipient=user_a, kind="returned")
    assert "Thiếu minh chứng" in note.message and "Bổ sung quyết định" in note.message

    # the lead corrects and resubmits
    Submission.objects.filter(pk=cons.pk).update(note="Đã bổ sung")
    cons = submission_submit(submission=cons, actor=user_a, version=cons.version)
    assert cons.state == S.SUBMITTED

    # the reviewer approves with different appraised points and a reason
    cons = submission_approve(
        submission=cons,
        actor=reviewer,
        version=cons.version,
        appraised_points="7.5",
        reason="Minh chứng chỉ đạt một phần",
    )
    assert cons.state == S.APPROVED
    assert cons.appraised_points == Decimal("7.5") and cons.reviewed_by == reviewer
    assert Notification.objects.filter(recipient=user_a, kind="approved").count() == 1

    history = list(
        SubmissionTransition.objects.filter(submission=cons).values_list(
            "action", "actor__username", "from_state", "to_state", "reason_code", "reason"
        )
    )
    assert history == [
        ("submit", "staff_a", "draft", "submitted", "", ""),
        (
            "return",
            "reviewer",
            "submitted",
            "returned",
            "thieu_minh_chung",
            "Bổ sung quyết định ban hành",
        ),
        ("resubmit", "staff_a", "returned", "submitted", "", ""),
        ("approve", "reviewer", "submitted", "approved", "", "Minh chứng chỉ đạt một phần"),
    ]
    approve_row = SubmissionTransition.objects.get(submission=cons, action="approve")
    assert approve_row.data["appraised_points"] == "7.5000"
    assert approve_row.actor_role == "reviewer"
    assert approve_row.actor_agency_id == reviewer.agency_id
    contrib_row = SubmissionTransition.objects.get(submission=contrib)
    assert (contrib_row.actor_id, contrib_row.actor_agency_id) == (user_b.pk, user_b.agency_id)
    # simple-history keeps the row changes with who made them
    assert cons.history.filter(history_user=reviewer).exists()


def test_stale_version_refused_nothing_written(item, user_a, reviewer):
    cons = _submitted(item, user_a)
    with pytest.raises(Conflict) as exc:
        submission_approve(submission=cons, actor=reviewer, version=1)
    assert exc.value.code == "stale_version"
    cons.refresh_from_db()
    assert cons.state == S.SUBMITTED and cons.version == 2
    assert SubmissionTransition.objects.filter(submission=cons).count() == 1


def test_wrong_state_is_conflict(item, user_a, reviewer):
    with pytest.raises(Conflict):  # a draft cannot be approved
        submission_approve(submission=item.consolidation, actor=reviewer, version=1)
    cons = _submitted(item, user_a)
    with pytest.raises(Conflict):  # already submitted
        submission_submit(submission=cons, actor=user_a, version=cons.version)
    with pytest.raises(Conflict):  # only approved items reopen
        submission_reopen(submission=cons, actor=reviewer, reason="x")
    with pytest.raises(Conflict):  # the council only sets final points of approved items
        submission_set_final(submission=cons, actor=reviewer, final_points="5", reason="x")


def test_roles(item, user_a, user_b, reviewer, leader, admin_user):
    # reviewers (and leaders, and admins) never submit an agency's values
    for actor in (reviewer, leader, admin_user, user_b):
        with pytest.raises(NotAllowed):
            submission_submit(submission=item.consolidation, actor=actor, version=1)
    cons = _submitted(item, user_a)
    # agency staff and leaders cannot approve / return / reopen / start / set final
    for actor in (user_a, user_b, leader):
        with pytest.raises(NotAllowed):
            submission_approve(submission=cons, actor=actor, version=cons.version)
        with pytest.raises(NotAllowed):
            submission_return(
                submission=cons, actor=actor, version=None, reason_code="khac", reason="x"
            )
        with pytest.raises(NotAllowed):
            submission_reopen(submission=cons, actor=actor, reason="x")
        with pytest.raises(NotAllowed):
            submission_start_review(submission=cons, actor=actor)
        with pytest.raises(NotAllowed):
            submission_set_final(submission=cons, actor=actor, final_points="1", reason="x")
    # an inactive reviewer is refused too
    reviewer.is_active = False
    with pytest.raises(NotAllowed):
        submission_approve(submission=cons, actor=reviewer, version=cons.version)
    # admins act as reviewers
    assert submission_approve(submission=cons, actor=admin_user, version=None).state == S.APPROVED
    assert SubmissionTransition.objects.filter(submission=cons).count() == 2


def test_lead_returns_a_contribution(item, user_a, user_b, reviewer):
    contrib = submission_submit(submission=item.contribution, actor=user_b, version=1)
    with pytest.raises(NotAllowed):  # the coordinator cannot return its own contribution
        submission_return(
            submission=contrib, actor=user_b, version=None, reason_code="khac", reason="x"
        )
    with pytest.raises(Conflict):  # the Sở reviews consolidations, not contributions
        submission_return(
            submission=contrib, actor=reviewer, version=None, reason_code="khac", reason="x"
        )
    with pytest.raises(ValidationFailed):
        submission_return(
            submission=contrib, actor=user_a, version=contrib.version, reason_code="", reason="x"
        )
    contrib = submission_return(
        submission=contrib,
        actor=user_a,
        version=contrib.version,
        reason_code="so_lieu_khong_khop",
        reason="Mẫu số khác số liệu thống kê",
    )
    assert contrib.state == S.RETURNED
    row = SubmissionTransition.objects.filter(submission=contrib).last()
    assert (row.action, row.actor_role, row.actor_agency_id) == (
        "return_contribution",
        "agency_staff",
        user_a.agency_id,
    )
    assert Notification.objects.filter(recipient=user_b, kind="returned").exists()
    # the coordinator resubmits to the lead
    contrib = submission_submit(submission=contrib, actor=user_b, version=contrib.version)
    assert contrib.state == S.SUBMITTED_TO_LEAD


def test_return_requires_code_and_comment(item, user_a, reviewer):
    cons = _submitted(item, user_a)
    with pytest.raises(ValidationFailed) as exc:
        submission_return(
            submission=cons, actor=reviewer, version=None, reason_code="nope", reason="x"
        )
    assert "reason_code" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        submission_return(
            submission=cons, actor=reviewer, version=None, reason_code="khac", reason="  "
        )
    assert "reason" in exc.value.errors
    cons.refresh_from_db()
    assert cons.state == S.SUBMITTED and cons.version == 2


def test_approve_points_validation(item, user_a, reviewer):
    cons = _submitted(item, user_a)
    for bad in ("11", "-1", "abc", "NaN"):
        with pytest.raises(ValidationFailed) as exc:
            submission_approve(
                submission=cons, actor=reviewer, version=None, appraised_points=bad, reason="x"
            )
        assert "appraised_points" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:  # differs, no reason
        submission_approve(submission=cons, actor=reviewer, version=None, appraised_points="5")
    assert "reason" in exc.value.errors
    # same as self-assessed (10): no reason needed; default is the self-assessed points
    cons = submission_approve(submission=cons, actor=reviewer, version=None)
    assert cons.appraised_points == Decimal("10")


def test_approve_from_under_review(item, user_a, reviewer):
    cons = _submitted(item, user_a)
    cons = submission_start_review(submission=cons, actor=reviewer, version=cons.version)
    assert cons.state == S.UNDER_REVIEW
    cons = submission_approve(
        submission=cons, actor=reviewer, version=cons.version, appraised_points="10,0"
    )
    assert cons.state == S.APPROVED


def test_approved_changes_only_through_audited_reopen(item, user_a, reviewer):
    cons = submission_approve(submission=_submitted(item, user_a), actor=reviewer, version=None)
    with pytest.raises(AttributeError):  # FSMField(protected=True)
        cons.state = S.DRAFT
    with pytest.raises(NotAllowed):
        submission_reopen(submission=cons, actor=user_a, reason="sửa")
    with pytest.raises(ValidationFailed):
        submission_reopen(submission=cons, actor=reviewer, reason="")
    cons = submission_reopen(
        submission=cons, actor=reviewer, reason="Phát hiện sai số liệu", version=cons.version
    )
    assert cons.state == S.RETURNED
    row = SubmissionTransition.objects.filter(submission=cons).last()
    assert (row.action, row.from_state, row.to_state, row.reason) == (
        "reopen",
        "approved",
        "returned",
        "Phát hiện sai số liệu",
    )
    assert row.data["appraised_points"] == "10.0000"
    assert Notification.objects.filter(recipient=user_a, kind="reopened").exists()


def test_council_final_points(item, user_a, reviewer):
    cons = submission_approve(
        submission=_submitted(item, user_a),
        actor=reviewer,
        version=None,
        appraised_points="8",
        reason="thiếu một phần",
    )
    with pytest.raises(ValidationFailed):
        submission_set_final(submission=cons, actor=reviewer, final_points="9", reason="")
    with pytest.raises(ValidationFailed):
        submission_set_final(submission=cons, actor=reviewer, final_points="10.5", reason="x")
    cons = submission_set_final(submission=cons, actor=reviewer, final_points="8", reason="")
    assert cons.final_points == Decimal("8") and cons.state == S.APPROVED
    cons = submission_set_final(
        submission=cons, actor=reviewer, final_points="9", reason="Hội đồng công nhận bổ sung"
    )
    assert cons.final_points == Decimal("9") and cons.final_reason == "Hội đồng công nhận bổ sung"
    row = SubmissionTransition.objects.filter(submission=cons).last()
    assert row.action == "set_final" and row.data["previous_final_points"] == "8.0000"


def test_submit_requires_required_values(item, user_a):
    Submission.objects.filter(pk=item.consolidation.pk).update(values={})
    item.consolidation.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        submission_submit(submission=item.consolidation, actor=user_a, version=1)
    assert exc.value.errors == {"values": ["Chưa nhập đủ số liệu bắt buộc: Đã ban hành."]}


def test_submit_after_deadline_refused_unless_extended(item, user_a, reviewer):
    period = item.period
    period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    period.save()
    item.consolidation.refresh_from_db()
    with pytest.raises(Conflict) as exc:
        submission_submit(submission=item.consolidation, actor=user_a, version=1)
    assert exc.value.code == "period_locked"
    ItemExtension.objects.create(
        period=period,
        indicator=item.indicator,
        agency=user_a.agency,
        deadline=timezone.localdate() + datetime.timedelta(days=3),
        reason="gia hạn",
        granted_by=reviewer,
    )
    assert (
        submission_submit(submission=item.consolidation, actor=user_a, version=1).state
        == S.SUBMITTED
    )


def test_signal_and_request_id(item, user_a, reviewer, django_capture_on_commit_callbacks):
    received = []

    def receiver(sender, **kwargs):
        received.append((kwargs["framework_id"], kwargs["period_id"]))

    scores_invalidated.connect(receiver)
    try:
        with (
            django_capture_on_commit_callbacks(execute=False) as callbacks,
            audit_context(SimpleNamespace(request_id="req-42")),
        ):
            cons = _submitted(item, user_a)
            submission_approve(submission=cons, actor=reviewer, version=cons.version)
        assert received == []  # only after commit
        for cb in callbacks:
            cb()
    finally:
        scores_invalidated.disconnect(receiver)
    key = (item.indicator.framework_id, item.period.pk)
    assert received == [key, key]
    assert set(SubmissionTransition.objects.values_list("request_id", flat=True)) == {"req-42"}


def test_bulk_approve_skips_stale_and_reports(agency_a, agency_b, user_a, reviewer):
    first = make_item(agency_a, agency_b, code="1.1")
    second = make_item(agency_a, agency_b, code="1.2", period=first.period)
    third = make_item(agency_a, agency_b, code="1.3", period=first.period)
    subs = [_submitted(it, user_a) for it in (first, second, third)]
    Submission.objects.filter(pk=third.consolidation.pk).update(version=7)  # someone else moved it
    res = submission_bulk_approve(
        actor=reviewer,
        items=[(s.pk, s.version) for s in subs] + [(999999, 1)],
        visible=Submission.objects.all(),
    )
    assert sorted(s.pk for s in res.approved) == sorted([subs[0].pk, subs[1].pk])
    assert [pk for pk, _msg in res.skipped] == [subs[2].pk, 999999]
    assert SubmissionTransition.objects.filter(action="approve").count() == 2
    with pytest.raises(NotAllowed):
        submission_bulk_approve(actor=user_a, items=[], visible=Submission.objects.all())


def test_approved_values_and_evidence_frozen_until_reopen(item, user_a, reviewer):
    from evidence.services import evidence_add_link, submission_update

    cons = submission_approve(submission=_submitted(item, user_a), actor=reviewer, version=None)
    with pytest.raises((Conflict, ValidationFailed, NotAllowed)):
        submission_update(submission=cons, actor=user_a, version=cons.version, values={"done": "0"})
    with pytest.raises((Conflict, ValidationFailed, NotAllowed)):
        evidence_add_link(submission=cons, actor=user_a, url="https://example.gov.vn/qd")
    cons.refresh_from_db()
    assert cons.values == {"done": "1"} and cons.evidence.count() == 0
    # after an audited reopen the agency can correct it again
    cons = submission_reopen(submission=cons, actor=reviewer, reason="Sai số liệu")
    cons = submission_update(
        submission=cons, actor=user_a, version=cons.version, values={"done": "0"}
    )
    assert cons.values == {"done": "0"}
    assert list(
        SubmissionTransition.objects.filter(submission=cons).values_list("action", flat=True)
    ) == ["submit", "approve", "reopen"]


def test_coordinators_hear_that_the_item_they_contributed_to_was_approved(
    item, user_a, user_b, reviewer
):
    contribution = submission_submit(submission=item.contribution, actor=user_b, version=1)
    assert contribution.state == S.SUBMITTED_TO_LEAD
    cons = _submitted(item, user_a)
    Notification.objects.all().delete()
    submission_approve(submission=cons, actor=reviewer, version=None)
    mine = Notification.objects.get(recipient=user_b)
    assert mine.kind == "approved" and mine.submission_id == contribution.pk
    assert mine.link == f"/reporting/submissions/{contribution.pk}/"
    assert "có phần phối hợp của cơ quan bạn" in mine.text
    assert Notification.objects.filter(recipient=user_a, kind="approved").count() == 1


def test_telling_the_coordinators_takes_fixed_queries(item, user_a, user_b, agency_b):
    """However many agencies contributed: read the contributions, their staff, one insert."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evidence.services import notifications
    from indicators.scoring_rules import Msg
    from tests.factories import AgencyFactory, UserFactory

    submission_submit(submission=item.contribution, actor=user_b, version=1)
    for i in range(3):
        other = AgencyFactory(code=f"xa-{i}")
        UserFactory(username=f"xa_{i}", agency=other, role="agency_staff")
        Submission.objects.create(
            indicator=item.consolidation.indicator,
            agency=other,
            period=item.consolidation.period,
            values={},
            state=S.SUBMITTED_TO_LEAD,
        )
    Notification.objects.all().delete()
    with CaptureQueriesContext(connection) as ctx:
        notifications.notify_contributors(
            consolidation=item.consolidation, kind="approved", message=Msg("x")
        )
    assert len(ctx.captured_queries) == 3
    assert Notification.objects.count() == 4
    assert {n.submission.agency_id for n in Notification.objects.all()} >= {agency_b.pk}

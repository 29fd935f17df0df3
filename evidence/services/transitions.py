"""Submission transitions: submit, start review, approve, return, reopen, the council's final points.

Every service here:

1. checks the actor's role with the ``evidence.rules`` permissions (``NotAllowed`` → 403);
2. locks the row (``select_for_update``), refuses a stale ``version`` or a transition the current
   state does not allow (``Conflict`` → 409), validates its input (``ValidationFailed`` → 400);
3. runs the django-fsm-2 ``@transition`` method of ``Submission`` and bumps ``version``;
4. writes exactly one ``SubmissionTransition`` (actor, role, agency, from, to, reason code and
   comment, request id, data such as the appraised points) in the same transaction;
5. notifies the people concerned and sends ``scores_invalidated`` after commit.

The returned ``Submission`` is the freshly locked and saved row (the caller's object is stale).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import rules
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_fsm import can_proceed

from agencies.models import User
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from indicators.scoring_rules.base import Msg

from ..models import Submission, SubmissionTransition
from . import notifications
from .periods import item_is_open
from .transition_steps import (
    _lock,
    _missing_required,
    _parse_points,
    _record,
    _require,
    _require_consolidation_explained,
    _require_reason,
    _run,
)

State = Submission.State


#: The choices live on their model; these names are what the services and views import.
ReturnReason = SubmissionTransition.ReturnReason
Action = SubmissionTransition.Action


def is_lead_submission(submission: Submission) -> bool:
    """The lead agency's (consolidated) submission, or an item without a lead: goes to the Sở."""
    lead_id = submission.indicator.lead_agency_id
    return submission.is_consolidation or lead_id is None or lead_id == submission.agency_id


def reason_label(code: str) -> str:
    try:
        return str(ReturnReason(code).label)
    except ValueError:
        return code


def reason_msg(code: str) -> Msg | str:
    """A return reason's label as a message (its msgid is the Vietnamese label); an unknown
    code as it is."""
    try:
        label = ReturnReason(code).label
    except ValueError:
        return code
    with translation.override("vi"):  # the source language: the lazy label gives its msgid
        return Msg(str(label))


# --- services ---------------------------------------------------------------------------------


@transaction.atomic
def submission_submit(*, submission: Submission, actor: User, version: int | None) -> Submission:
    """Agency staff send a draft or returned item: a coordinating agency's contribution goes to
    the lead agency (``submitted_to_lead``); the lead's consolidation goes to the Sở
    (``submitted``). A draft cannot be sent once the period is locked (unless the item was
    extended); a returned item can always be resubmitted. Required measures must be filled, and
    the lead's consolidated values follow saving's rule: when they differ from the coordinators'
    combined contributions (``lead_proposal``), an adjustment reason must be stored.
    """
    _require("evidence.submit_submission", actor, submission)
    locked = _lock(submission, version, actor)
    to_lead = not is_lead_submission(locked)
    method = locked.submit_to_lead if to_lead else locked.submit_to_reviewer
    if locked.state == State.DRAFT and not item_is_open(
        locked.period, indicator_id=locked.indicator_id, agency_id=locked.agency_id
    ):
        raise Conflict(
            _("Kỳ báo cáo đã khóa (quá hạn %(deadline)s); không thể gửi báo cáo mới.")
            % {"deadline": locked.period.deadline.strftime("%d/%m/%Y")},
            code="period_locked",
        )
    if not can_proceed(method):
        _run(locked, method)  # raises the 409 with the current state
    missing = _missing_required(locked)
    if missing:
        msg = _("Chưa nhập đủ số liệu bắt buộc: %(list)s.") % {"list": ", ".join(missing)}
        raise ValidationFailed(msg, errors={"values": [msg]})
    if not to_lead:
        _require_consolidation_explained(locked)
    resubmission = locked.state == State.RETURNED
    from_state = _run(locked, method)
    locked.submitted_at = timezone.now()
    locked.updated_by = actor
    if to_lead:
        action = Action.SUBMIT_TO_LEAD
    else:
        action = Action.RESUBMIT if resubmission else Action.SUBMIT
    _record(
        locked=locked,
        actor=actor,
        action=action,
        from_state=from_state,
        data={"self_points": None if locked.self_points is None else str(locked.self_points)},
        update_fields=["submitted_at", "updated_by"],
    )
    agency = locked.agency.display_name
    if to_lead:
        notifications.notify(
            recipients=notifications.agency_recipients(locked.indicator.lead_agency_id),  # type: ignore[arg-type]
            kind=notifications.Kind.SUBMITTED_TO_LEAD,
            message=Msg(
                gettext_noop(
                    "%(agency)s đã gửi phần phối hợp chỉ số %(item)s cho cơ quan chủ trì."
                ),
                agency=agency,
                item=notifications.item_msg(locked),
            ),
            link=notifications.submission_link(locked, for_reviewer=False),
            submission=locked,
        )
    else:
        text = (
            gettext_noop("%(agency)s đã gửi lại chỉ số %(item)s sau khi giải trình, bổ sung.")
            if resubmission
            else gettext_noop("%(agency)s đã gửi chỉ số %(item)s đến Sở KH&CN để thẩm định.")
        )
        notifications.notify(
            recipients=notifications.reviewer_recipients(),
            kind=notifications.Kind.RESUBMITTED if resubmission else notifications.Kind.SUBMITTED,
            message=Msg(text, agency=agency, item=notifications.item_msg(locked)),
            link=notifications.submission_link(locked, for_reviewer=True),
            submission=locked,
        )
    return locked


@transaction.atomic
def submission_start_review(
    *, submission: Submission, actor: User, version: int | None = None
) -> Submission:
    """A reviewer takes a submitted item (``submitted`` → ``under_review``)."""
    _require("evidence.review_submission", actor, submission)
    locked = _lock(submission, version, actor)
    from_state = _run(locked, locked.start_review)
    _record(locked=locked, actor=actor, action=Action.START_REVIEW, from_state=from_state)
    return locked


@transaction.atomic
def submission_approve(
    *,
    submission: Submission,
    actor: User,
    version: int | None,
    appraised_points: Decimal | str | None = None,
    reason: str = "",
) -> Submission:
    """A reviewer approves a submitted or under-review item with the appraised points.

    ``appraised_points`` defaults to the self-assessed points; 0 ≤ points ≤ the sub-indicator's
    max; a reason is required when it differs from the self-assessed points.
    """
    _require("evidence.review_submission", actor, submission)
    locked = _lock(submission, version, actor)
    if not can_proceed(locked.approve):
        _run(locked, locked.approve)
    max_points = locked.indicator.max_points
    if appraised_points is None or str(appraised_points).strip() == "":
        if locked.self_points is None:
            msg = _("Chưa có điểm tự chấm: hãy nhập điểm thẩm định.")
            raise ValidationFailed(msg, errors={"appraised_points": [msg]})
        points = Decimal(locked.self_points).quantize(Decimal("0.0001"))
    else:
        points = _parse_points(
            appraised_points, field_name="appraised_points", max_points=max_points
        )
    reason = (reason or "").strip()
    if locked.self_points is not None and points != Decimal(locked.self_points):
        _require_reason(reason, _("Cần nêu lý do khi điểm thẩm định khác điểm tự chấm."))
    from_state = _run(locked, locked.approve)
    locked.appraised_points = points
    locked.appraisal_reason = reason
    locked.reviewed_at = timezone.now()
    locked.reviewed_by = actor
    _record(
        locked=locked,
        actor=actor,
        action=Action.APPROVE,
        from_state=from_state,
        reason=reason,
        data={
            "appraised_points": str(points),
            "self_points": None if locked.self_points is None else str(locked.self_points),
        },
        update_fields=["appraised_points", "appraisal_reason", "reviewed_at", "reviewed_by"],
    )
    notifications.notify(
        recipients=notifications.agency_recipients(locked.agency_id),
        kind=notifications.Kind.APPROVED,
        message=Msg(
            gettext_noop(
                "Chỉ số %(item)s đã được Sở KH&CN duyệt, điểm thẩm định %(points)s/%(max)s."
            ),
            item=notifications.item_msg(locked),
            points=notifications.points_arg(points),
            max=notifications.points_arg(max_points),
        ),
        link=notifications.submission_link(locked, for_reviewer=False),
        submission=locked,
    )
    if locked.is_consolidation:
        notifications.notify_contributors(
            consolidation=locked,
            kind=notifications.Kind.APPROVED,
            message=Msg(
                gettext_noop(
                    "Chỉ số %(item)s, có phần phối hợp của cơ quan bạn, đã được Sở KH&CN duyệt "
                    "(cơ quan chủ trì: %(lead)s)."
                ),
                item=notifications.item_msg(locked),
                lead=locked.agency.display_name,
            ),
        )
    return locked


def _validate_reason_code(reason_code: str) -> str:
    code = (reason_code or "").strip()
    if code not in ReturnReason.values:
        msg = _("Hãy chọn lý do trả lại.")
        raise ValidationFailed(msg, errors={"reason_code": [msg]})
    return code


@transaction.atomic
def submission_return(
    *,
    submission: Submission,
    actor: User,
    version: int | None,
    reason_code: str,
    reason: str,
) -> Submission:
    """Sends an item back with a reason code and a comment (giải trình, bổ sung minh chứng).

    A reviewer returns a submitted or under-review item to its agency; the lead agency returns a
    coordinating agency's contribution (``submitted_to_lead``).
    """
    by_lead = not rules.has_perm("evidence.review_submission", actor, submission)
    if by_lead:
        _require("evidence.return_contribution", actor, submission)
    locked = _lock(submission, version, actor)
    method = locked.return_to_contributor if by_lead else locked.return_for_explanation
    if not can_proceed(method):
        _run(locked, method)
    code = _validate_reason_code(reason_code)
    comment = _require_reason(reason, _("Cần ghi rõ nội dung cần giải trình, bổ sung."))
    from_state = _run(locked, method)
    fields = ["updated_by"]
    locked.updated_by = actor
    if not by_lead:
        locked.reviewed_at = timezone.now()
        locked.reviewed_by = actor
        fields += ["reviewed_at", "reviewed_by"]
    _record(
        locked=locked,
        actor=actor,
        action=Action.RETURN_CONTRIBUTION if by_lead else Action.RETURN,
        from_state=from_state,
        reason_code=code,
        reason=comment,
        update_fields=fields,
    )
    who = locked.indicator.lead_agency if by_lead else None
    sender = who.display_name if who is not None else Msg(gettext_noop("Sở KH&CN"))
    notifications.notify(
        recipients=notifications.agency_recipients(locked.agency_id),
        kind=notifications.Kind.RETURNED,
        message=Msg(
            gettext_noop("%(sender)s trả lại chỉ số %(item)s: %(reason)s — %(comment)s"),
            sender=sender,
            item=notifications.item_msg(locked),
            reason=reason_msg(code),
            comment=comment,
        ),
        link=notifications.submission_link(locked, for_reviewer=False),
        submission=locked,
    )
    return locked


@transaction.atomic
def submission_reopen(
    *,
    submission: Submission,
    actor: User,
    reason: str,
    version: int | None = None,
    reason_code: str = "",
) -> Submission:
    """Only a reviewer reopens an approved item, with a reason; it goes back to the agency as
    returned, so it changes again only through submit → review (audited). Its final points, if
    the council set them, are cleared (the audit row keeps them)."""
    _require("evidence.review_submission", actor, submission)
    locked = _lock(submission, version, actor)
    if not can_proceed(locked.reopen):
        _run(locked, locked.reopen)
    code = _validate_reason_code(reason_code) if reason_code else ""
    comment = _require_reason(reason, _("Cần nêu lý do mở lại."))
    from_state = _run(locked, locked.reopen)
    # The council's final points judged the item as it was: the reopened item changes (values,
    # appraised points), so they are dropped (kept in the audit row) and never come back over a
    # later appraisal; the council confirms the item again once it is re-approved.
    previous_final = locked.final_points
    locked.final_points = None
    locked.final_reason = ""
    _record(
        locked=locked,
        actor=actor,
        action=Action.REOPEN,
        from_state=from_state,
        reason_code=code,
        reason=comment,
        data={
            "appraised_points": None
            if locked.appraised_points is None
            else str(locked.appraised_points),
            "previous_final_points": None if previous_final is None else str(previous_final),
            "final_points": None,
        },
        update_fields=["final_points", "final_reason"],
    )
    notifications.notify(
        recipients=notifications.agency_recipients(locked.agency_id),
        kind=notifications.Kind.REOPENED,
        message=Msg(
            gettext_noop("Sở KH&CN đã mở lại chỉ số %(item)s để điều chỉnh: %(reason)s"),
            item=notifications.item_msg(locked),
            reason=comment,
        ),
        link=notifications.submission_link(locked, for_reviewer=False),
        submission=locked,
    )
    return locked


@transaction.atomic
def submission_set_final(
    *,
    submission: Submission,
    actor: User,
    final_points: Decimal | str,
    reason: str,
    version: int | None = None,
) -> Submission:
    """The appraisal council (a member, or a reviewer recording its minutes) confirms or adjusts
    an approved item's final points; a reason is required when they differ from the appraised
    points."""
    _require("evidence.set_final", actor, submission)
    locked = _lock(submission, version, actor)
    if not can_proceed(locked.set_final):
        _run(locked, locked.set_final)
    points = _parse_points(
        final_points, field_name="final_points", max_points=locked.indicator.max_points
    )
    basis = locked.appraised_points if locked.appraised_points is not None else locked.self_points
    reason = (reason or "").strip()
    if basis is not None and points != Decimal(basis):
        _require_reason(reason, _("Cần nêu lý do khi điểm cuối cùng khác điểm thẩm định."))
    from_state = _run(locked, locked.set_final)
    previous = locked.final_points
    locked.final_points = points
    locked.final_reason = reason
    _record(
        locked=locked,
        actor=actor,
        action=Action.SET_FINAL,
        from_state=from_state,
        reason=reason,
        data={
            "final_points": str(points),
            "previous_final_points": None if previous is None else str(previous),
            "appraised_points": None if basis is None else str(basis),
        },
        update_fields=["final_points", "final_reason"],
    )
    notifications.notify(
        recipients=notifications.agency_recipients(locked.agency_id),
        kind=notifications.Kind.FINAL,
        message=Msg(
            gettext_noop("Hội đồng thẩm định chốt điểm cuối cùng chỉ số %(item)s: %(points)s."),
            item=notifications.item_msg(locked),
            points=notifications.points_arg(points),
        ),
        link=notifications.submission_link(locked, for_reviewer=False),
        submission=locked,
    )
    return locked


@dataclass
class BulkApproveResult:
    approved: list[Submission] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (submission id, message)


def submission_bulk_approve(
    *, actor: User, items: Sequence[tuple[int, int | None]], visible: Any
) -> BulkApproveResult:
    """Approves each ``(submission id, version seen)`` with its self-assessed points, each in its
    own transaction (each audited). Stale, not-approvable or invalid ones are skipped and
    reported; ``visible`` is the actor's scoped Submission queryset (others are skipped as not
    found)."""
    if not rules.has_perm("evidence.review_submission", actor, None):
        raise NotAllowed(_("Bạn không có quyền thực hiện thao tác này với báo cáo."))
    result = BulkApproveResult()
    subs = visible.select_related("indicator", "agency", "period").in_bulk([pk for pk, _v in items])
    for pk, version in items:
        sub = subs.get(pk)
        if sub is None:
            result.skipped.append((pk, _("Không tìm thấy báo cáo.")))
            continue
        try:
            result.approved.append(submission_approve(submission=sub, actor=actor, version=version))
        except (Conflict, ValidationFailed, NotAllowed) as exc:
            result.skipped.append((pk, f"{sub.indicator.code} · {sub.agency}: {exc.message}"))
    return result

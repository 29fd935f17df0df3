"""The steps every submission transition is made of (``transitions`` composes them): the role
check, the row lock with the stale-version guard, the fsm call, the audited save, and the parsing
of the points and reasons a reviewer types."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import rules
from django.db import transaction
from django.utils import formats
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from agencies.models import User
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed

from ..models import Submission, SubmissionTransition
from ..signals import scores_invalidated
from .audit import current_request_id
from .submissions import (
    consolidation_reason_message,
    consolidation_unexplained,
    last_changed_by_id,
    lead_proposal,
)
from .values import NumberError, parse_number


def _require(perm: str, actor: User, submission: Submission) -> None:
    if not rules.has_perm(perm, actor, submission):
        raise NotAllowed(_("Bạn không có quyền thực hiện thao tác này với báo cáo."))


def _lock(submission: Submission, version: int | None, actor: User | None = None) -> Submission:
    """The row, locked until the end of the transaction; refuses a stale version (409). When
    ``actor`` made the last change (another tab or window), the message does not blame
    "người khác"."""
    locked = (
        Submission.objects.select_for_update(of=("self",))
        .select_related("indicator", "agency", "period")
        .get(pk=submission.pk)
    )
    if version is not None and int(version) != locked.version:
        if actor is not None and last_changed_by_id(locked) == actor.pk:
            text = _(
                "Báo cáo đã được cập nhật ở một phiên làm việc khác của bạn (phiên bản hiện tại "
                "%(current)s, bạn đang xem phiên bản %(seen)s). Vui lòng tải lại trang."
            )
        else:
            text = _(
                "Báo cáo đã được người khác thay đổi (phiên bản hiện tại %(current)s, bạn đang "
                "xem phiên bản %(seen)s). Vui lòng tải lại trang."
            )
        raise Conflict(text % {"current": locked.version, "seen": version}, code="stale_version")
    return locked


def _run(locked: Submission, method: Callable[[], None]) -> str:
    """Runs the fsm transition; a state that does not allow it → 409. Returns the old state."""
    if not can_proceed(method):
        raise Conflict(
            _("Không thể thực hiện thao tác ở trạng thái hiện tại (%(state)s).")
            % {"state": locked.get_state_display()},  # type: ignore[attr-defined]
            code="invalid_state",
        )
    from_state = str(locked.state)
    method()
    return from_state


def _record(
    *,
    locked: Submission,
    actor: User,
    action: str,
    from_state: str,
    reason_code: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    update_fields: Sequence[str] = (),
) -> SubmissionTransition:
    """Saves the row (version + 1, simple-history with the reason) and writes the audit row."""
    locked.version += 1
    locked._history_user = actor  # type: ignore[attr-defined]
    locked._change_reason = f"{action}: {reason}"[:100] if reason else action  # type: ignore[attr-defined]
    locked.save(update_fields=["state", "version", "updated_at", *update_fields])
    row = SubmissionTransition.objects.create(
        submission=locked,
        action=action,
        from_state=from_state,
        to_state=str(locked.state),
        actor=actor,
        actor_role=actor.role,
        actor_agency_id=actor.agency_id,
        reason_code=reason_code,
        reason=reason,
        data=data or {},
        request_id=current_request_id(),
    )
    framework_id, period_id = locked.indicator.framework_id, locked.period_id
    transaction.on_commit(
        lambda: scores_invalidated.send(
            sender=Submission, framework_id=framework_id, period_id=period_id
        )
    )
    return row


def _label(sub: Submission) -> str:
    return f"{sub.indicator.code} ({sub.period})"


def _fmt(points: Decimal | None) -> str:
    return "—" if points is None else formats.number_format(points, decimal_pos=2, use_l10n=True)


def _parse_points(value: Any, *, field_name: str, max_points: Decimal) -> Decimal:
    """Points typed by a reviewer or the council, read by ``values.parse_number`` (the portal's
    one number reader: ``7,5``, ``7.5``, no exponent, at most 6 decimals), then 0 ≤ points ≤
    ``max_points``; kept to 4 decimals."""
    try:
        points = parse_number(value)
    except NumberError as exc:
        message = (
            _("Điểm phải là một số.")
            if exc.reason == NumberError.INVALID
            else exc.message(_("Điểm"))
        )
        raise ValidationFailed(_("Điểm không hợp lệ."), errors={field_name: [message]}) from None
    if points < 0 or points > max_points:
        raise ValidationFailed(
            _("Điểm không hợp lệ."),
            errors={
                field_name: [
                    _("Điểm phải từ 0 đến %(max)s.") % {"max": _fmt(max_points)},
                ]
            },
        )
    return points.quantize(Decimal("0.0001"))


def _require_reason(reason: str, message: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(message, errors={"reason": [message]})
    return reason


def _missing_required(sub: Submission) -> list[str]:
    """The required measures left blank, as people read them: the label (with its unit), never
    the measure's code or kind."""
    missing = []
    for measure in sub.indicator.measures.filter(required=True).order_by("position", "id"):
        value = (sub.values or {}).get(measure.code)
        if value is None or str(value).strip() == "":
            missing.append(f"{measure.label} ({measure.unit})" if measure.unit else measure.label)
    return missing


def _require_consolidation_explained(sub: Submission) -> None:
    """Saving's consolidation rule, checked again on the send (the stored values may predate
    the coordinators' latest contributions): the lead's consolidated values differ from the
    combined proposal (with the lead's stored own part) and no adjustment reason is stored →
    400 on ``consolidation_reason``."""
    if not sub.is_consolidation:
        return
    proposal = lead_proposal(indicator=sub.indicator, period=sub.period, own_values=sub.own_values)
    if proposal and consolidation_unexplained(
        values=sub.values or {}, proposal=proposal, reason=sub.consolidation_reason
    ):
        message = consolidation_reason_message()
        raise ValidationFailed(message, errors={"consolidation_reason": [message]})

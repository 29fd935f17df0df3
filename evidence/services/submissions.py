"""Submissions: create/update with optimistic locking, carry-over from the previous quarter, and
the lead agency's consolidation proposal. Values and points: :mod:`.values`.

State changes (submit, approve, return, reopen) live in ``transitions`` (review issue).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from agencies.models import Agency, User
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from indicators.models import Indicator, Measure
from indicators.scoring_rules import round_display

from ..models import ItemExtension, ReportingPeriod, Submission
from ..signals import scores_invalidated
from .periods import item_deadline, item_is_open, period_is_locked, today_vn
from .values import (
    MAX_TEXT,
    clean_values,
    combined_proposal,
    compute_points,
    display_value,
    own_share_measures,
)

# --- scope and writes ----------------------------------------------------------------------


def measures_of(indicator: Indicator) -> list[Measure]:
    cached = getattr(indicator, "_prefetched_objects_cache", {}).get("measures")
    if cached is not None:
        return sorted(cached, key=lambda m: (m.position, m.pk))
    return list(indicator.measures.order_by("position", "id"))


def agency_role_for(indicator: Indicator, agency: Agency) -> str | None:
    """ "lead", "coordinator" or None (not assigned); groups expand by kind or explicit member."""
    if indicator.lead_agency_id == agency.pk:
        return "lead"
    if indicator.coordinating_agencies.filter(pk=agency.pk).exists():
        return "coordinator"
    from ..selectors import groups_of_agency

    if indicator.coordinating_groups.filter(pk__in=groups_of_agency(agency)).exists():
        return "coordinator"
    return None


def _require_agency_writer(actor: User) -> Agency:
    if not actor.is_agency_staff or actor.agency_id is None:
        raise NotAllowed(_("Chỉ cán bộ đầu mối của cơ quan được nhập số liệu báo cáo."))
    assert actor.agency is not None
    return actor.agency


def assert_item_open(*, period: ReportingPeriod, indicator: Indicator, agency: Agency) -> None:
    """Refuses writes after the deadline (or once closed), unless the item was reopened (409
    ``period_locked``: the period's state, not the role, forbids it, as for a submit).

    Items the Sở returned for explanation stay editable (callers skip this check for them), as
    the review issue's ``submission_submit`` lets them be resubmitted after the deadline.
    """
    today = today_vn()
    if not period_is_locked(period, today=today):
        return  # every item of an open period is open: no extension to look up
    ext = ItemExtension.objects.filter(period=period, indicator=indicator, agency=agency).first()
    if not item_is_open(
        period, indicator_id=indicator.pk, agency_id=agency.pk, today=today, extension=ext
    ):
        deadline = item_deadline(period, ext)
        raise Conflict(
            _(
                "Kỳ báo cáo %(period)s đã khóa (hạn %(deadline)s): không thể thay đổi số liệu "
                "hay tài liệu. Liên hệ Sở KH&CN nếu cần mở lại chỉ số này."
            )
            % {"period": period, "deadline": deadline.strftime("%d/%m/%Y")},
            code="period_locked",
        )


def last_changed_by_id(sub: Submission) -> int | None:
    """Who made the row's latest change (a save or a transition): its latest history record's
    user, else ``updated_by`` (a change made outside a request). Only read on a conflict."""
    user_id = (
        sub.history.order_by("-history_date", "-history_id")  # type: ignore[attr-defined]
        .values_list("history_user_id", flat=True)
        .first()
    )
    return user_id if user_id is not None else sub.updated_by_id


def _conflict(sub: Submission, actor: User) -> Conflict:
    """A stale save of an item still editable: the current values, and who changed them in
    neutral words (the same user in another tab or window is no "người khác")."""
    measures = measures_of(sub.indicator)
    shown = "; ".join(
        f"{m.label} = {display_value(m, sub.values.get(m.code))}"
        for m in measures
        if m.code in sub.values
    )
    if last_changed_by_id(sub) == actor.pk:
        text = _(
            "Báo cáo đã được cập nhật ở một phiên làm việc khác của bạn (phiên bản %(version)s) "
            "trong lúc bạn sửa. Giá trị hiện tại: %(values)s. Hãy xem lại và nhập lại thay đổi "
            "của bạn."
        )
    else:
        text = _(
            "Báo cáo đã được người khác cập nhật (phiên bản %(version)s) trong lúc bạn sửa. "
            "Giá trị hiện tại: %(values)s. Hãy xem lại và nhập lại thay đổi của bạn."
        )
    return Conflict(
        text % {"version": sub.version, "values": shown or "—"},
        errors={"current": _current(sub)},
        code="stale_version",
    )


def _current(sub: Submission) -> dict[str, Any]:
    """What a conflict answer carries of the stored item (the client shows it back)."""
    return {"version": sub.version, "values": sub.values, "note": sub.note, "state": sub.state}


def _already_sent(sub: Submission) -> Conflict:
    """A save reaching an item that was sent meanwhile (not editable: only a return by the
    lead or the Sở reopens it); nothing to save again."""
    return Conflict(
        _(
            "Báo cáo đã được gửi (trạng thái “%(state)s”) nên không sửa được nữa; số liệu bạn "
            "vừa nhập chưa được lưu."
        )
        % {"state": sub.get_state_display()},  # type: ignore[attr-defined]
        errors={"current": _current(sub)},
        code="wrong_state",
    )


def _validate_for(
    *,
    indicator: Indicator,
    values: Mapping[str, Any],
    note: str,
    is_lead: bool,
    period: ReportingPeriod,
    consolidation_reason: str,
    own_values: Mapping[str, Any],
) -> tuple[dict[str, str], dict[str, str]]:
    """The cleaned ``(values, own_values)``, or ValidationFailed with every field's errors.

    The lead's own part is checked like values (only the measures it may state, see
    ``own_share_measures``); a coordinating agency has no own part to state (its whole report is
    its part). The lead's values are then checked against the proposal (``lead_proposal``) that
    includes its own part."""
    measures = measures_of(indicator)
    clean, errors = clean_values(measures, values)
    field_errors: dict[str, Any] = {}
    if errors:
        field_errors["values"] = errors
    own_clean: dict[str, str] = {}
    if is_lead:
        own_clean, own_errors = clean_values(own_share_measures(indicator, measures), own_values)
        if own_errors:
            field_errors["own_values"] = own_errors
    elif any(str(v).strip() for v in own_values.values() if v is not None):
        field_errors["own_values"] = {
            "__all__": _("Chỉ cơ quan chủ trì ghi phần số liệu riêng của mình.")
        }
    if len(note) > MAX_TEXT:
        field_errors["note"] = [_("Giải trình quá dài (tối đa %(n)s ký tự).") % {"n": MAX_TEXT}]
    if is_lead and not field_errors:
        proposal = lead_proposal(indicator=indicator, period=period, own_values=own_clean)
        if proposal and consolidation_unexplained(
            values=clean, proposal=proposal, reason=consolidation_reason
        ):
            field_errors["consolidation_reason"] = [consolidation_reason_message()]
    if field_errors:
        raise ValidationFailed(_("Số liệu chưa hợp lệ, chưa lưu."), errors=field_errors)
    return clean, own_clean


def consolidation_unexplained(
    *, values: Mapping[str, Any], proposal: Mapping[str, str], reason: str
) -> bool:
    """The lead's consolidated ``values`` differ from the coordinators' combined ``proposal``
    and no adjustment reason is given (saving and sending both refuse it)."""
    differs = any(values.get(code) != value for code, value in proposal.items())
    return differs and not (reason or "").strip()


def consolidation_reason_message() -> str:
    return _("Số liệu tổng hợp khác với tổng các cơ quan phối hợp: cần ghi lý do điều chỉnh.")


def lead_proposal(
    *,
    indicator: Indicator,
    period: ReportingPeriod,
    own_values: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Combined values of the coordinators' contributions sent to the lead (not drafts, and not
    those the lead returned: their figures were refused and are being corrected; the evidence
    pack and the notifications leave them out too), together with the lead agency's own part
    (``own_values``, cleaned; the consolidation stores it as ``Submission.own_values``).

    Empty while no coordinator has sent a contribution (whatever the own part): the lead's
    values are then its own, or provisional, and need no adjustment reason."""
    contributions = Submission.objects.filter(
        indicator=indicator, period=period, is_consolidation=False
    ).exclude(state__in=[Submission.State.DRAFT, Submission.State.RETURNED])
    if indicator.lead_agency_id:
        contributions = contributions.exclude(agency_id=indicator.lead_agency_id)
    parts: list[Mapping[str, str]] = [c.values for c in contributions]
    if parts and own_values:
        parts.append({k: str(v) for k, v in own_values.items() if v not in (None, "")})
    return combined_proposal(indicator, measures_of(indicator), parts)


def _invalidate(sub: Submission) -> None:
    framework_id, period_id = sub.period.framework_id, sub.period_id
    transaction.on_commit(
        lambda: scores_invalidated.send(
            sender=Submission, framework_id=framework_id, period_id=period_id
        )
    )


@transaction.atomic
def submission_create(
    *,
    actor: User,
    indicator: Indicator,
    period: ReportingPeriod,
    values: Mapping[str, Any],
    note: str = "",
    consolidation_reason: str = "",
    own_values: Mapping[str, Any] | None = None,
) -> Submission:
    """Creates the caller's agency's submission for (indicator, period) as a draft.

    The agency is always the actor's; the agency must be assigned (lead or coordinator). A lead
    agency may state its own part (``own_values``) of the consolidated figures.
    """
    agency = _require_agency_writer(actor)
    if indicator.level != Indicator.Level.SUB or indicator.framework_id != period.framework_id:
        raise ValidationFailed(
            _("Chỉ số không thuộc bộ chỉ số của kỳ báo cáo."),
            errors={"indicator": [_("Chỉ số không thuộc bộ chỉ số của kỳ báo cáo.")]},
        )
    role = agency_role_for(indicator, agency)
    if role is None:
        raise ValidationFailed(
            _("Cơ quan của bạn không được giao chỉ số này."),
            errors={"indicator": [_("Cơ quan của bạn không được giao chỉ số này.")]},
        )
    assert_item_open(period=period, indicator=indicator, agency=agency)
    is_lead = role == "lead"
    clean, own_clean = _validate_for(
        indicator=indicator,
        values=values,
        note=note,
        is_lead=is_lead,
        period=period,
        consolidation_reason=consolidation_reason,
        own_values=own_values or {},
    )
    preview = compute_points(indicator, measures_of(indicator), clean)
    sub = Submission(
        indicator=indicator,
        agency=agency,
        period=period,
        is_consolidation=is_lead,
        values=clean,
        note=note.strip(),
        consolidation_reason=consolidation_reason.strip() if is_lead else "",
        own_values=own_clean,
        self_points=round_display(preview.points, 4),
        created_by=actor,
        updated_by=actor,
    )
    try:
        with transaction.atomic():
            sub.save()
    except IntegrityError as exc:
        current = Submission.objects.get(indicator=indicator, agency=agency, period=period)
        if not current.is_editable_state:
            raise _already_sent(current) from exc
        raise _conflict(current, actor) from exc
    _invalidate(sub)
    return sub


@transaction.atomic
def submission_update(
    *,
    submission: Submission,
    actor: User,
    version: int,
    values: Mapping[str, Any] | None = None,
    note: str | None = None,
    consolidation_reason: str | None = None,
    own_values: Mapping[str, Any] | None = None,
) -> Submission:
    """Saves new values/note (and the lead's own part) of a draft or returned submission
    carrying the ``version`` seen; an argument left None keeps what is stored.

    A stale version → Conflict (409) with the current values; nothing merged.
    """
    agency = _require_agency_writer(actor)
    sub = (
        Submission.objects.select_for_update(of=("self",))  # not the shared period row
        .select_related("indicator", "period")
        .get(pk=submission.pk)
    )
    if sub.agency_id != agency.pk:
        raise NotAllowed(_("Bạn chỉ được sửa báo cáo của cơ quan mình."))
    # The state first: a save from a tab opened before the item was sent is not an editing
    # conflict to resolve by saving again, the item is read-only now.
    if not sub.is_editable_state:
        raise _already_sent(sub)
    if int(version) != sub.version:
        raise _conflict(sub, actor)
    if sub.state != Submission.State.RETURNED:  # a returned item is answered after the deadline
        assert_item_open(period=sub.period, indicator=sub.indicator, agency=agency)
    new_values = dict(values) if values is not None else dict(sub.values)
    new_note = note if note is not None else sub.note
    reason = consolidation_reason if consolidation_reason is not None else sub.consolidation_reason
    clean, own_clean = _validate_for(
        indicator=sub.indicator,
        values=new_values,
        note=new_note,
        is_lead=sub.is_consolidation,
        period=sub.period,
        consolidation_reason=reason,
        own_values=dict(own_values) if own_values is not None else dict(sub.own_values or {}),
    )
    sub.values = clean
    sub.own_values = own_clean
    sub.note = new_note.strip()
    sub.consolidation_reason = reason.strip() if sub.is_consolidation else ""
    sub.self_points = round_display(
        compute_points(sub.indicator, measures_of(sub.indicator), clean).points, 4
    )
    sub.version += 1
    sub.updated_by = actor
    sub.save()
    _invalidate(sub)
    return sub


def previous_period(period: ReportingPeriod) -> ReportingPeriod | None:
    """The quarter before ``period`` in the same framework (Q1 → the previous year's Q4)."""
    if period.quarter is None:
        return (
            ReportingPeriod.objects.filter(
                framework_id=period.framework_id, year=period.year, quarter__isnull=False
            )
            .order_by("-quarter")
            .first()
        )
    year, quarter = (
        (period.year, period.quarter - 1) if period.quarter > 1 else (period.year - 1, 4)
    )
    return ReportingPeriod.objects.filter(
        framework_id=period.framework_id, year=year, quarter=quarter
    ).first()


def carry_over_values(
    *, actor: User, indicator: Indicator, period: ReportingPeriod
) -> dict[str, str]:
    """The actor's agency's values for ``indicator`` in the previous quarter ({} when none)."""
    agency = _require_agency_writer(actor)
    prev = previous_period(period)
    if prev is None:
        return {}
    sub = Submission.objects.filter(indicator=indicator, agency=agency, period=prev).first()
    return dict(sub.values) if sub else {}


@transaction.atomic
def submission_carry_over(
    *, actor: User, indicator: Indicator, period: ReportingPeriod, version: int | None = None
) -> Submission:
    """Copies the previous quarter's values (and note; a lead's own part too) into this
    period's draft."""
    agency = _require_agency_writer(actor)
    prev = previous_period(period)
    source = (
        Submission.objects.filter(indicator=indicator, agency=agency, period=prev).first()
        if prev
        else None
    )
    if source is None:
        raise ValidationFailed(
            _("Quý trước không có số liệu để chép sang."),
            errors={"values": [_("Quý trước không có số liệu để chép sang.")]},
        )
    existing = Submission.objects.filter(indicator=indicator, agency=agency, period=period).first()
    # A lead's own part, as long as the agency was the lead then too.
    own = dict(source.own_values or {}) if source.is_consolidation else None
    if existing is None:
        return submission_create(
            actor=actor,
            indicator=indicator,
            period=period,
            values=source.values,
            note=source.note,
            consolidation_reason=source.consolidation_reason,
            own_values=own,
        )
    return submission_update(
        submission=existing,
        actor=actor,
        version=existing.version if version is None else version,
        values=source.values,
        note=source.note,
        consolidation_reason=source.consolidation_reason,
        own_values=own,
    )

"""Submissions: values validation, self-assessed points, create/update with optimistic locking,
carry-over from the previous quarter, and the lead agency's consolidation proposal.

State changes (submit, approve, return, reopen) live in ``transitions`` (review issue).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from agencies.models import Agency, User
from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from indicators.models import Indicator, Measure
from indicators.scoring_rules import combine_values, evaluate_rule, round_display

from ..models import ItemExtension, ReportingPeriod, Submission
from ..signals import scores_invalidated
from .periods import item_deadline, item_is_open, period_is_locked, today_vn

NUMERIC_KINDS = {
    Measure.Kind.NUMBER,
    Measure.Kind.NUMERATOR,
    Measure.Kind.DENOMINATOR,
    Measure.Kind.COUNT,
    Measure.Kind.PERCENT,
}
TRUE_WORDS = {"1", "true", "yes", "có", "co", "x", "đạt", "dat"}
FALSE_WORDS = {"0", "false", "no", "không", "khong"}
MAX_TEXT = 4000


# --- values --------------------------------------------------------------------------------


def parse_decimal(raw: Any) -> Decimal:
    """Parses a number typed by a person or read from JSON/Excel.

    Accepts ``12.5``, ``12,5`` and the Vietnamese ``1.000,5`` (dots group thousands when a comma
    is present). Raises ``ValueError`` for anything else (including NaN/Infinity).
    """
    if isinstance(raw, bool):
        raise ValueError("boolean")
    if isinstance(raw, int | Decimal):
        value = Decimal(raw)
    elif isinstance(raw, float):
        value = Decimal(str(raw))
    else:
        text = str(raw).strip().replace("\u00a0", "").replace(" ", "")
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError("not finite")
    return value


def decimal_to_str(value: Decimal) -> str:
    """Canonical storage form: no exponent, no trailing zeros ("12.5", "3")."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def level_keys(measure: Measure) -> list[str]:
    keys = []
    for choice in measure.choices or []:
        if isinstance(choice, Mapping):
            keys.append(str(choice.get("key", "")))
        else:
            keys.append(str(choice))
    return [k for k in keys if k]


def level_label(measure: Measure, key: str) -> str:
    for choice in measure.choices or []:
        if isinstance(choice, Mapping) and str(choice.get("key")) == key:
            return str(choice.get("label") or key)
    return key


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip() == "")


def clean_values(
    measures: Sequence[Measure], raw: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Validates ``raw`` (measure code → value) against the sub-indicator's measures.

    Returns ``(values, errors)``: canonical stored strings, and measure code → Vietnamese message.
    Rules: known codes only; required measures present; numbers non-negative decimals (counts
    whole, percentages ≤ 100); booleans yes/no; levels one of the keys; numerator ≤ denominator.
    """
    by_code = {m.code: m for m in measures}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for code in raw:
        if code not in by_code:
            errors[str(code)] = _("Không có số liệu “%(code)s” trong chỉ số này.") % {"code": code}
    for m in measures:
        value = raw.get(m.code)
        if is_blank(value):
            if m.required:
                errors[m.code] = _("“%(label)s” là bắt buộc.") % {"label": m.label}
            continue
        if m.kind in NUMERIC_KINDS:
            try:
                number = parse_decimal(value)
            except ValueError:
                errors[m.code] = _("“%(label)s” phải là một số.") % {"label": m.label}
                continue
            if number < 0:
                errors[m.code] = _("“%(label)s” không được âm.") % {"label": m.label}
                continue
            if m.kind == Measure.Kind.COUNT and number != number.to_integral_value():
                errors[m.code] = _("“%(label)s” phải là số nguyên.") % {"label": m.label}
                continue
            if m.kind == Measure.Kind.PERCENT and number > 100:
                errors[m.code] = _("“%(label)s” không được vượt quá 100%%.") % {"label": m.label}
                continue
            values[m.code] = decimal_to_str(number)
        elif m.kind == Measure.Kind.BOOLEAN:
            word = str(value).strip().lower() if not isinstance(value, bool) else str(int(value))
            if word in TRUE_WORDS:
                values[m.code] = "1"
            elif word in FALSE_WORDS:
                values[m.code] = "0"
            else:
                errors[m.code] = _("“%(label)s” chỉ nhận Có hoặc Không.") % {"label": m.label}
        elif m.kind == Measure.Kind.LEVEL:
            keys = level_keys(m)
            key = str(value).strip()
            if key not in keys:
                # Accept the label as typed in a workbook, too.
                by_label = {level_label(m, k).strip().lower(): k for k in keys}
                key = by_label.get(key.lower(), "")
            if not key:
                errors[m.code] = _("“%(label)s” phải là một trong các mức: %(keys)s.") % {
                    "label": m.label,
                    "keys": ", ".join(level_label(m, k) for k in keys),
                }
            else:
                values[m.code] = key
        else:  # text
            text = str(value).strip()
            if len(text) > MAX_TEXT:
                errors[m.code] = _("“%(label)s” quá dài (tối đa %(n)s ký tự).") % {
                    "label": m.label,
                    "n": MAX_TEXT,
                }
            else:
                values[m.code] = text
    nums = [m for m in measures if m.kind == Measure.Kind.NUMERATOR]
    dens = [m for m in measures if m.kind == Measure.Kind.DENOMINATOR]
    if len(nums) == 1 and len(dens) == 1:
        n, d = nums[0], dens[0]
        if (
            n.code in values
            and d.code in values
            and n.code not in errors
            and Decimal(values[n.code]) > Decimal(values[d.code])
        ):
            errors[n.code] = _("“%(num)s” không được lớn hơn “%(den)s”.") % {
                "num": n.label,
                "den": d.label,
            }
    return values, errors


def rule_values(
    measures: Iterable[Measure], values: Mapping[str, str]
) -> dict[str, Decimal | str | None]:
    """Stored strings → what ``evaluate_rule`` expects (decimals for numbers, keys/text as is)."""
    out: dict[str, Decimal | str | None] = {}
    for m in measures:
        raw = values.get(m.code)
        if raw is None or raw == "":
            out[m.code] = None
        elif m.kind in NUMERIC_KINDS or m.kind == Measure.Kind.BOOLEAN:
            try:
                out[m.code] = Decimal(str(raw))
            except InvalidOperation:
                out[m.code] = None
        else:
            out[m.code] = str(raw)
    return out


@dataclass(frozen=True)
class PointsPreview:
    points: Decimal
    max_points: Decimal
    complete: bool
    warnings: tuple[str, ...]
    explanation: str

    @property
    def text(self) -> str:
        """ "giá trị này cho 7,5/10 điểm" in the active locale's number format."""
        return _("giá trị này cho %(points)s/%(max)s điểm") % {
            "points": format_points(self.points),
            "max": format_points(self.max_points),
        }


def format_points(value: Decimal) -> str:
    """7.5 → "7,5"; 10.00 → "10"; at most 2 decimals, localized."""
    q = value.quantize(Decimal("0.01")).normalize()
    places = max(0, -q.as_tuple().exponent)  # type: ignore[operator]
    return number_format(q, decimal_pos=places, use_l10n=True, force_grouping=True)


def display_value(m: Measure, raw: Any) -> str:
    """A stored value as people read it: 1.234,5 for numbers, Có/Không, a level's label."""
    if raw is None or raw == "":
        return "—"
    if m.kind == Measure.Kind.BOOLEAN:
        return _("Có") if str(raw) == "1" else _("Không")
    if m.kind == Measure.Kind.LEVEL:
        return level_label(m, str(raw))
    if m.kind in NUMERIC_KINDS:
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            return str(raw)
        places = max(0, -value.normalize().as_tuple().exponent)  # type: ignore[operator]
        text = number_format(value, decimal_pos=places, use_l10n=True, force_grouping=True)
        return f"{text}%" if m.kind == Measure.Kind.PERCENT else text
    return str(raw)


def compute_points(indicator: Indicator, measures: Sequence[Measure], values: Mapping[str, str]):  # type: ignore[no-untyped-def]
    """Self-assessed points of ``values`` with the sub-indicator's rule (``PointsPreview``)."""
    rule = indicator.scoring_rule or {"type": "informational"}
    result = evaluate_rule(rule, rule_values(measures, values), indicator.max_points)
    return PointsPreview(
        points=result.points,
        max_points=indicator.max_points,
        complete=result.complete,
        warnings=tuple(result.warning_texts()),
        explanation=result.explanation_text(),
    )


def combined_proposal(
    indicator: Indicator, measures: Sequence[Measure], contributions: Sequence[Mapping[str, str]]
) -> dict[str, str]:
    """The lead's proposed consolidated values: ``combine_values`` over the contributions."""
    if not contributions:
        return {}
    kinds = {m.code: m.kind for m in measures}
    combined = combine_values(
        indicator.scoring_rule or {"type": "informational"},
        kinds,
        [rule_values(measures, c) for c in contributions],
    )
    out: dict[str, str] = {}
    for code, value in combined.items():
        if value is None:
            continue
        out[code] = decimal_to_str(value) if isinstance(value, Decimal) else str(value)
    return out


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
    """Refuses writes after the deadline (or once closed), unless the item was reopened.

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
        raise NotAllowed(
            _(
                "Kỳ báo cáo %(period)s đã khóa (hạn %(deadline)s): không thể thay đổi số liệu "
                "hay tài liệu. Liên hệ Sở KH&CN nếu cần mở lại chỉ số này."
            )
            % {"period": period, "deadline": deadline.strftime("%d/%m/%Y")},
            code="period_locked",
        )


def _conflict(sub: Submission) -> Conflict:
    measures = measures_of(sub.indicator)
    shown = "; ".join(
        f"{m.label} = {display_value(m, sub.values.get(m.code))}"
        for m in measures
        if m.code in sub.values
    )
    return Conflict(
        _(
            "Báo cáo đã được người khác cập nhật (phiên bản %(version)s) trong lúc bạn sửa. "
            "Giá trị hiện tại: %(values)s. Hãy xem lại và nhập lại thay đổi của bạn."
        )
        % {"version": sub.version, "values": shown or "—"},
        errors={
            "current": {
                "version": sub.version,
                "values": sub.values,
                "note": sub.note,
                "state": sub.state,
            }
        },
        code="stale_version",
    )


def _validate_for(
    *,
    indicator: Indicator,
    values: Mapping[str, Any],
    note: str,
    is_lead: bool,
    proposal: Mapping[str, str] | None,
    consolidation_reason: str,
) -> dict[str, str]:
    measures = measures_of(indicator)
    clean, errors = clean_values(measures, values)
    field_errors: dict[str, Any] = {}
    if errors:
        field_errors["values"] = errors
    if len(note) > MAX_TEXT:
        field_errors["note"] = [_("Giải trình quá dài (tối đa %(n)s ký tự).") % {"n": MAX_TEXT}]
    if is_lead and proposal and not errors:
        differs = any(clean.get(code) != value for code, value in proposal.items())
        if differs and not consolidation_reason.strip():
            field_errors["consolidation_reason"] = [
                _("Số liệu tổng hợp khác với tổng các cơ quan phối hợp: cần ghi lý do điều chỉnh.")
            ]
    if field_errors:
        raise ValidationFailed(_("Số liệu chưa hợp lệ, chưa lưu."), errors=field_errors)
    return clean


def lead_proposal(*, indicator: Indicator, period: ReportingPeriod) -> dict[str, str]:
    """Combined values of the coordinators' contributions sent to the lead (not drafts)."""
    contributions = Submission.objects.filter(
        indicator=indicator, period=period, is_consolidation=False
    ).exclude(state=Submission.State.DRAFT)
    if indicator.lead_agency_id:
        contributions = contributions.exclude(agency_id=indicator.lead_agency_id)
    return combined_proposal(indicator, measures_of(indicator), [c.values for c in contributions])


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
) -> Submission:
    """Creates the caller's agency's submission for (indicator, period) as a draft.

    The agency is always the actor's; the agency must be assigned (lead or coordinator).
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
    proposal = lead_proposal(indicator=indicator, period=period) if is_lead else None
    clean = _validate_for(
        indicator=indicator,
        values=values,
        note=note,
        is_lead=is_lead,
        proposal=proposal,
        consolidation_reason=consolidation_reason,
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
        self_points=round_display(preview.points, 4),
        created_by=actor,
        updated_by=actor,
    )
    try:
        with transaction.atomic():
            sub.save()
    except IntegrityError as exc:
        current = Submission.objects.get(indicator=indicator, agency=agency, period=period)
        raise _conflict(current) from exc
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
) -> Submission:
    """Saves new values/note of a draft or returned submission carrying the ``version`` seen.

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
    if int(version) != sub.version:
        raise _conflict(sub)
    if not sub.is_editable_state:
        raise Conflict(
            _("Báo cáo đang ở trạng thái “%(state)s”: không sửa được.")
            % {"state": sub.get_state_display()},  # type: ignore[attr-defined]
            code="wrong_state",
        )
    if sub.state != Submission.State.RETURNED:  # a returned item is answered after the deadline
        assert_item_open(period=sub.period, indicator=sub.indicator, agency=agency)
    new_values = dict(values) if values is not None else dict(sub.values)
    new_note = note if note is not None else sub.note
    reason = consolidation_reason if consolidation_reason is not None else sub.consolidation_reason
    proposal = (
        lead_proposal(indicator=sub.indicator, period=sub.period) if sub.is_consolidation else None
    )
    clean = _validate_for(
        indicator=sub.indicator,
        values=new_values,
        note=new_note,
        is_lead=sub.is_consolidation,
        proposal=proposal,
        consolidation_reason=reason,
    )
    sub.values = clean
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
    """Copies the previous quarter's values (and note) into this period's draft."""
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
    if existing is None:
        return submission_create(
            actor=actor,
            indicator=indicator,
            period=period,
            values=source.values,
            note=source.note,
            consolidation_reason=source.consolidation_reason,
        )
    return submission_update(
        submission=existing,
        actor=actor,
        version=existing.version if version is None else version,
        values=source.values,
        note=source.note,
        consolidation_reason=source.consolidation_reason,
    )

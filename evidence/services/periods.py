"""Reporting periods: create, extend, close/open, and single-item extensions (all audited).

Deadlines are calendar dates in Asia/Ho_Chi_Minh: a period is open for agencies up to and
including its deadline day; after it, or once closed, it is locked. An ``ItemExtension`` reopens
one sub-indicator for one agency until its own deadline.
"""

from __future__ import annotations

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.db.models import DateField, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from agencies.models import Agency, User
from agencies.services import audit
from dti_portal.errors import NotAllowed, ValidationFailed
from indicators.models import Framework, Indicator
from indicators.scoring_rules.base import Msg

from ..models import ItemExtension, ReportingPeriod, Submission
from . import notifications

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today_vn() -> datetime.date:
    """Today's date in Vietnam (deadlines are Vietnamese calendar days)."""
    return timezone.now().astimezone(VN_TZ).date()


def default_deadline(year: int, quarter: int | None) -> datetime.date:
    """25th of the quarter's last month (Plan 4636); annual round: 10 January of the next year.

    A date falling on a Saturday or Sunday moves to the following Monday, as a time limit ending
    on a weekend ends at the end of the next working day (Civil Code 2015, art. 148(5)). Public
    holidays are not known here: the Sở sets such a deadline itself when it opens the period.
    """
    day = (
        datetime.date(year + 1, 1, 10) if quarter is None else datetime.date(year, quarter * 3, 25)
    )
    while day.weekday() >= 5:  # Saturday, Sunday
        day += datetime.timedelta(days=1)
    return day


def period_is_locked(period: ReportingPeriod, *, today: datetime.date | None = None) -> bool:
    """Closed by a reviewer, or past its deadline (Vietnamese date)."""
    today = today or today_vn()
    return period.status == ReportingPeriod.Status.CLOSED or today > period.deadline


def earlier_periods_q(period: ReportingPeriod, *, prefix: str = "") -> Q:
    """Periods strictly before ``period`` in reporting order: by year, then quarter, a year's
    annual round after its Q4 (any framework: a file handed in last year counts).
    ``prefix``: the lookup path to the period (``"submission__period__"``)."""
    earlier_year = Q(**{f"{prefix}year__lt": period.year})
    if period.quarter is None:
        same_year = Q(**{f"{prefix}year": period.year, f"{prefix}quarter__isnull": False})
    else:
        same_year = Q(**{f"{prefix}year": period.year, f"{prefix}quarter__lt": period.quarter})
    return earlier_year | same_year


def item_deadline(period: ReportingPeriod, extension: ItemExtension | None) -> datetime.date:
    """The deadline that applies to one item: the extension's when there is one."""
    if extension is not None:
        return extension.deadline
    return period.deadline


def item_deadline_expr() -> Coalesce:
    """``item_deadline`` as a query expression on ``Submission`` rows: the item's extension
    deadline (its period, indicator and agency), else the period's. A correlated subquery, so a
    list annotated with it costs no extra query per row."""
    extension = ItemExtension.objects.filter(
        period_id=OuterRef("period_id"),
        indicator_id=OuterRef("indicator_id"),
        agency_id=OuterRef("agency_id"),
    ).values("deadline")[:1]
    return Coalesce(
        Subquery(extension, output_field=DateField()),
        F("period__deadline"),
        output_field=DateField(),
    )


def item_is_open(
    period: ReportingPeriod,
    *,
    indicator_id: int,
    agency_id: int,
    today: datetime.date | None = None,
    extension: ItemExtension | None | bool = False,
) -> bool:
    """Whether ``agency`` may still change its item ``indicator`` of ``period``.

    ``extension``: pass the already-loaded extension (or None) to avoid a query; ``False``
    (default) looks it up.
    """
    today = today or today_vn()
    if not period_is_locked(period, today=today):
        return True
    if extension is False:
        extension = ItemExtension.objects.filter(
            period=period, indicator_id=indicator_id, agency_id=agency_id
        ).first()
    return isinstance(extension, ItemExtension) and today <= extension.deadline


def _require_reviewer(actor: User) -> None:
    if not actor.is_reviewer:
        raise NotAllowed(_("Chỉ Sở KH&CN được quản lý kỳ báo cáo."))


@transaction.atomic
def period_create(
    *,
    actor: User,
    framework: Framework,
    year: int,
    quarter: int | None,
    deadline: datetime.date | None = None,
    request_id: str = "",
) -> ReportingPeriod:
    """Opens a quarter (1–4) or the annual round (``quarter=None``) of ``framework``.

    Only a published framework: a draft can still change (points, indicators, assignments)
    under the data agencies report against it, and an archived one is no longer in use.
    """
    _require_reviewer(actor)
    errors: dict[str, list[str]] = {}
    if framework.status != Framework.Status.PUBLISHED:
        errors["framework"] = [
            _("Chỉ mở kỳ báo cáo cho bộ chỉ số đã ban hành (bộ chỉ số này: %(status)s).")
            % {"status": framework.get_status_display()}
        ]
    if quarter is not None and not 1 <= quarter <= 4:
        errors["quarter"] = [_("Quý phải từ 1 đến 4 (để trống cho kỳ cả năm).")]
    if not 2000 <= year <= 2100:
        errors["year"] = [
            _("Năm %(year)s không hợp lệ (từ %(min)s đến %(max)s).")
            % {"year": year, "min": 2000, "max": 2100}
        ]
    if errors:
        raise ValidationFailed(_("Dữ liệu kỳ báo cáo không hợp lệ."), errors=errors)
    # SQLite ignores nulls_distinct=False: enforce one annual round per year here too.
    if ReportingPeriod.objects.filter(framework=framework, year=year, quarter=quarter).exists():
        label = _("cả năm") if quarter is None else _("quý %(q)s") % {"q": quarter}
        raise ValidationFailed(
            _("Kỳ báo cáo %(label)s năm %(year)s đã có.") % {"label": label, "year": year},
            errors={"quarter": [_("Kỳ báo cáo này đã tồn tại.")]},
        )
    try:
        with transaction.atomic():
            period = ReportingPeriod.objects.create(
                framework=framework,
                year=year,
                quarter=quarter,
                deadline=deadline or default_deadline(year, quarter),
            )
    except IntegrityError as exc:
        raise ValidationFailed(
            _("Kỳ báo cáo này đã tồn tại."), errors={"quarter": [_("Kỳ báo cáo này đã tồn tại.")]}
        ) from exc
    audit(
        actor=actor,
        action="period.create",
        obj=period,
        data={"deadline": period.deadline.isoformat(), "framework": framework.code},
        request_id=request_id,
    )
    return period


@transaction.atomic
def period_extend(
    *,
    actor: User,
    period: ReportingPeriod,
    deadline: datetime.date,
    reason: str = "",
    allow_past: bool = False,
    request_id: str = "",
) -> ReportingPeriod:
    """Moves the deadline of the whole period (and reopens it when it was closed).

    A deadline already past is refused (every agency would be locked out at once: closing the
    period is its own, explicit action); bringing the deadline forward needs a reason, since
    agencies planned on the old date. Extending later needs none. ``allow_past``: recording a
    past period's real deadline (the demo's history, an import), never from a page.
    """
    _require_reviewer(actor)
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    old = period.deadline
    if deadline < today_vn() and not allow_past:
        message = _(
            "Hạn mới %(date)s đã qua: mọi cơ quan sẽ bị khóa ngay. Nếu muốn khóa kỳ báo cáo, "
            "hãy dùng nút “Khóa”."
        ) % {"date": deadline.strftime("%d/%m/%Y")}
        raise ValidationFailed(message, errors={"deadline": [message]})
    if deadline < old and not reason.strip():
        message = _(
            "Rút ngắn hạn báo cáo (trước %(old)s) cần ghi lý do để báo cho các cơ quan."
        ) % {"old": old.strftime("%d/%m/%Y")}
        raise ValidationFailed(message, errors={"reason": [message]})
    period.deadline = deadline
    period.status = ReportingPeriod.Status.OPEN
    period.save(update_fields=["deadline", "status", "updated_at"])
    audit(
        actor=actor,
        action="period.extend",
        obj=period,
        data={"from": old.isoformat(), "to": deadline.isoformat(), "reason": reason},
        request_id=request_id,
    )
    return period


@transaction.atomic
def period_close(*, actor: User, period: ReportingPeriod, request_id: str = "") -> ReportingPeriod:
    """Locks the period for agencies now, whatever its deadline."""
    _require_reviewer(actor)
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    period.status = ReportingPeriod.Status.CLOSED
    period.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action="period.close", obj=period, request_id=request_id)
    return period


@transaction.atomic
def period_open(*, actor: User, period: ReportingPeriod, request_id: str = "") -> ReportingPeriod:
    """Reopens a closed period (agencies may write again until the deadline)."""
    _require_reviewer(actor)
    period = ReportingPeriod.objects.select_for_update().get(pk=period.pk)
    period.status = ReportingPeriod.Status.OPEN
    period.save(update_fields=["status", "updated_at"])
    audit(actor=actor, action="period.open", obj=period, request_id=request_id)
    return period


@transaction.atomic
def item_extension_grant(
    *,
    actor: User,
    period: ReportingPeriod,
    indicator: Indicator,
    agency: Agency,
    deadline: datetime.date,
    reason: str,
    request_id: str = "",
) -> ItemExtension:
    """Reopens one sub-indicator of ``period`` for one agency until ``deadline`` (audited), and
    tells the agency's staff.

    Refused (field errors): no reason; an indicator outside the period's framework; an agency
    not assigned to the indicator (neither its lead nor a coordinating agency, directly or
    through a group); a deadline already past (the item would stay locked).
    """
    from .submissions import agency_role_for  # submissions imports this module

    _require_reviewer(actor)
    errors: dict[str, list[str]] = {}
    if not reason.strip():
        errors["reason"] = [_("Cần ghi lý do gia hạn.")]
    if indicator.framework_id != period.framework_id or indicator.level != Indicator.Level.SUB:
        errors["indicator"] = [_("Chỉ số không thuộc bộ chỉ số của kỳ báo cáo.")]
    elif agency_role_for(indicator, agency) is None:
        errors["agency"] = [
            _("%(agency)s không được giao chỉ số %(code)s (không chủ trì, không phối hợp).")
            % {"agency": agency.display_name, "code": indicator.code}
        ]
    if deadline < today_vn():
        errors["deadline"] = [
            _("Hạn mới %(date)s đã qua: chỉ số sẽ vẫn bị khóa. Hãy chọn một ngày từ hôm nay.")
            % {"date": deadline.strftime("%d/%m/%Y")}
        ]
    if errors:
        raise ValidationFailed(_("Chưa mở lại được chỉ số."), errors=errors)
    # A second grant replaces the first one's deadline and reason: the audit keeps them.
    previous = (
        ItemExtension.objects.select_for_update()
        .filter(period=period, indicator=indicator, agency=agency)
        .values("deadline", "reason")
        .first()
    )
    ext, created = ItemExtension.objects.update_or_create(
        period=period,
        indicator=indicator,
        agency=agency,
        defaults={"deadline": deadline, "reason": reason.strip(), "granted_by": actor},
    )
    data: dict[str, Any] = {
        "period": period.pk,
        "indicator": indicator.code,
        "agency": agency.pk,
        "deadline": deadline.isoformat(),
        "reason": reason.strip(),
        "created": created,
    }
    if previous is not None:
        data["from"] = {
            "deadline": previous["deadline"].isoformat(),
            "reason": previous["reason"],
        }
    audit(
        actor=actor,
        action="period.item_extension",
        obj=ext,
        data=data,
        request_id=request_id,
        agency=agency,
    )
    _notify_extension(ext)
    return ext


def _notify_extension(ext: ItemExtension) -> None:
    """The agency's staff learn the item is open again for them, and until when."""
    submission = Submission.objects.filter(
        period=ext.period, indicator=ext.indicator, agency=ext.agency
    ).first()
    notifications.notify(
        recipients=notifications.agency_recipients(ext.agency_id),
        kind=notifications.Kind.EXTENDED,
        message=Msg(
            gettext_noop(
                "Sở KH&CN đã mở lại chỉ số %(item)s cho cơ quan của bạn, hạn mới đến hết ngày "
                "%(deadline)s: %(reason)s"
            ),
            item=Msg(
                "%(code)s (%(period)s)",
                code=ext.indicator.code,
                period=notifications.period_msg(ext.period),
            ),
            deadline=ext.deadline.strftime("%d/%m/%Y"),
            reason=ext.reason,
        ),
        link=reverse("evidence:submission_edit", args=[ext.period_id, ext.indicator_id]),
        submission=submission,
    )

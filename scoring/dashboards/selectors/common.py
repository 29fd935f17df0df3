"""Shared by the dashboard reads: constants, the framework and period chosen, scope."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, Prefetch
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyGroup
from dti_portal.errors import NotFound
from evidence.models import (
    ItemExtension,
    ReportingPeriod,
    Submission,
)
from indicators.models import Framework, Indicator

from ...models import ScoreKind, ScoreSnapshot
from ...selectors import score_frameworks

KINDS: tuple[str, ...] = tuple(ScoreKind.values)
ZERO = Decimal(0)
# States in which an item still waits for the agency (counts as overdue after the deadline).
WAITING_FOR_AGENCY = (Submission.State.DRAFT, Submission.State.RETURNED)
MAX_ID = 2**63  # larger ids cannot exist (and overflow the database driver)
# Newest period first, a year's annual round (quarter NULL) after its Q4, on every database
# (PostgreSQL and SQLite disagree on where NULL goes unless told).
LATEST_PERIOD_FIRST = (F("period__year").desc(), F("period__quarter").desc(nulls_first=True))
SUBMIT_STATES = (Submission.State.SUBMITTED_TO_LEAD, Submission.State.SUBMITTED)


def dec(value: Any) -> Decimal | None:
    """A decimal from a snapshot's decimal string (None stays None)."""
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


# --- framework and period -------------------------------------------------------------------


def frameworks_for_dashboard() -> list[Framework]:
    return list(Framework.objects.exclude(status=Framework.Status.DRAFT).order_by("-year", "code"))


def resolve_framework_period(
    *, user: Any, framework_code: str | None = None, period_id: Any = None
) -> tuple[Framework, ReportingPeriod | None]:
    """The framework and period asked for, or sensible defaults: the latest computed period.

    Only frameworks ``user`` may see are considered (``score_frameworks``: a draft is not found
    for anyone but reviewers and admins). Raises NotFound for an unknown or hidden framework code
    or a period of another framework.
    """
    visible = score_frameworks(user=user)
    fw: Framework | None
    if framework_code:
        fw = visible.filter(code=framework_code).first()
        if fw is None:
            raise NotFound(_("Không tìm thấy bộ chỉ số."))
    else:
        latest = (
            ScoreSnapshot.objects.filter(framework__in=visible)
            .select_related("framework")
            .order_by(*LATEST_PERIOD_FIRST, "-computed_at")
            .only("framework")
            .first()
        )
        fw = latest.framework if latest else None
        if fw is None:
            fw = (
                visible.exclude(status=Framework.Status.DRAFT).order_by("-year").first()
                or visible.order_by("-year").first()
            )
        if fw is None:
            raise NotFound(_("Chưa có bộ chỉ số nào."))
    period: ReportingPeriod | None
    if period_id not in (None, ""):
        try:
            pid = int(period_id)
        except (TypeError, ValueError) as exc:
            raise NotFound(_("Không tìm thấy kỳ báo cáo.")) from exc
        if not 0 < pid < MAX_ID:
            raise NotFound(_("Không tìm thấy kỳ báo cáo."))
        period = ReportingPeriod.objects.filter(pk=pid, framework=fw).first()
        if period is None:
            raise NotFound(_("Không tìm thấy kỳ báo cáo."))
    else:
        # Leadership opens the dashboard to see results: the latest period the Sở has appraised
        # something in, else the latest period computed at all (a new framework, nothing yet).
        snaps = ScoreSnapshot.objects.filter(framework=fw).select_related("period").only("period")
        snap = (
            snaps.filter(kind=ScoreKind.APPRAISED, total_points__gt=0)
            .order_by(*LATEST_PERIOD_FIRST)
            .first()
        ) or snaps.order_by(*LATEST_PERIOD_FIRST).first()
        period = snap.period if snap else None
        if period is None:
            all_periods = periods_of(fw)
            period = all_periods[-1] if all_periods else None
    return fw, period


def period_sort_key(p: ReportingPeriod) -> tuple[int, int]:
    """Chronological order: Q1..Q4 of a year, then its annual round."""
    return (p.year, p.quarter if p.quarter is not None else 5)


def extension_deadlines(period: ReportingPeriod) -> dict[tuple[int, int], datetime.date]:
    """(indicator id, agency id) → the extended deadline of that item in ``period`` (1 query)."""
    return {
        (indicator_id, agency_id): deadline
        for indicator_id, agency_id, deadline in ItemExtension.objects.filter(
            period=period
        ).values_list("indicator_id", "agency_id", "deadline")
    }


def periods_of(framework: Framework) -> list[ReportingPeriod]:
    return sorted(ReportingPeriod.objects.filter(framework=framework), key=period_sort_key)


def previous_period(period: ReportingPeriod, periods: Iterable[ReportingPeriod]):
    before = [p for p in periods if period_sort_key(p) < period_sort_key(period)]
    return before[-1] if before else None


# --- scope ------------------------------------------------------------------------------------


def group_contains(group: AgencyGroup, agency: Agency) -> bool:
    """Whether ``agency`` is a member of ``group`` (members prefetched)."""
    if agency.is_active and agency.kind in (group.kinds or []):
        return True
    return any(m.pk == agency.pk for m in group.members.all())


@dataclass
class SubInfo:
    indicator: Indicator
    coordinators: list[str]
    coordinator_agency_ids: set[int]
    coordinator_groups: list[AgencyGroup]

    @property
    def code(self) -> str:
        return self.indicator.code


def load_tree(framework: Framework) -> tuple[list[Indicator], list[SubInfo]]:
    """Main indices and sub-indicators (with lead, coordinating agencies and groups): 4 queries."""
    nodes = list(
        Indicator.objects.filter(
            framework=framework, level__in=[Indicator.Level.MAIN, Indicator.Level.SUB]
        )
        .select_related("lead_agency", "parent")
        .prefetch_related(
            Prefetch("coordinating_agencies", queryset=Agency.objects.order_by("name")),
            Prefetch(
                "coordinating_groups",
                queryset=AgencyGroup.objects.order_by("name").prefetch_related("members"),
            ),
        )
        .order_by("sort_key")
    )
    mains = [n for n in nodes if n.level == Indicator.Level.MAIN]
    subs = []
    for n in nodes:
        if n.level != Indicator.Level.SUB:
            continue
        groups = list(n.coordinating_groups.all())
        agencies = list(n.coordinating_agencies.all())
        subs.append(
            SubInfo(
                indicator=n,
                coordinators=[g.name for g in groups] + [a.display_name for a in agencies],
                coordinator_agency_ids={a.pk for a in agencies},
                coordinator_groups=groups,
            )
        )
    return mains, subs


def main_code_of(sub: Indicator, mains_by_id: Mapping[int, Indicator]) -> str:
    parent = mains_by_id.get(sub.parent_id) if sub.parent_id else None
    return parent.code if parent else ""


def is_lead_or_coordinator(info: SubInfo, agency: Agency) -> tuple[bool, bool]:
    lead = info.indicator.lead_agency_id == agency.pk
    coord = agency.pk in info.coordinator_agency_ids or any(
        group_contains(g, agency) for g in info.coordinator_groups
    )
    return lead, coord


def visible_codes(
    user: Any, subs: Iterable[SubInfo], reported: Mapping[int, set[int]] | None = None
) -> set[str] | None:
    """Codes of the sub-indicators ``user`` sees; None = all (province users).

    ``reported`` maps indicator id → agency ids with a submission in the period.
    """
    if getattr(user, "sees_province", False):
        return None
    agency = getattr(user, "agency", None)
    if agency is None:
        return set()
    out = set()
    for info in subs:
        lead, coord = is_lead_or_coordinator(info, agency)
        if lead or coord or agency.pk in (reported or {}).get(info.indicator.pk, set()):
            out.add(info.code)
    return out

"""Reads for evidence, already scoped to the user (one selector per model).

Scope: reviewers, admins and leaders see the province's submissions and evidence once sent (a
draft is its agency's work in progress: never in a reviewer's queue nor on a leader's screen);
agency staff see their agency's submissions and evidence, drafts included, plus — for
sub-indicators their agency leads — the coordinating agencies' contributions once they were sent
(never another agency's drafts). Everything else is simply not found (404).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from agencies.models import Agency, AgencyGroup
from indicators.models import Framework, Indicator

from .models import (
    EvidenceFile,
    ItemExtension,
    Notification,
    ReportingPeriod,
    Submission,
    SubmissionTransition,
)
from .services.evidence_reuse import reusable_evidence_q
from .services.periods import item_deadline, item_is_open, period_is_locked, today_vn


def notification_list(*, user: Any, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications (nobody sees another's), newest first.

    Agency staff see those about an item only while the item is still in their agency's scope
    (their agency's, or one it leads): a user moved to another agency keeps no window on the old
    agency's items (return reasons, reopen reasons) through the notifications they had received.
    """
    qs = Notification.objects.filter(recipient=user.pk)
    if not getattr(user, "sees_province", False):
        agency_id = getattr(user, "agency_id", None)
        qs = qs.filter(
            Q(submission__isnull=True)
            | Q(submission__agency_id=agency_id)
            | Q(submission__indicator__lead_agency_id=agency_id)
            if agency_id
            else Q(submission__isnull=True)
        )
    return qs.filter(read_at__isnull=True) if unread_only else qs


def notification_get(*, user: Any, pk: Any) -> Notification:
    """One of the user's own notifications; anyone else's is not found (404)."""
    try:
        return notification_list(user=user).get(pk=pk)
    except (Notification.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def notification_unread_count(*, user: Any) -> int:
    return notification_list(user=user, unread_only=True).count()


# --- assignment ------------------------------------------------------------------------------


def groups_of_agency(agency: Agency) -> list[int]:
    """Ids of the groups ``agency`` belongs to: by kind, or as an explicit member."""
    ids = []
    explicit = set(agency.groups.values_list("pk", flat=True)) if agency.pk else set()
    for pk, kinds in AgencyGroup.objects.values_list("pk", "kinds"):
        if pk in explicit or (agency.is_active and agency.kind in (kinds or [])):
            ids.append(pk)
    return ids


def assigned_indicators(*, agency: Agency, framework: Framework | int) -> QuerySet[Indicator]:
    """Sub-indicators of ``framework`` that ``agency`` leads or coordinates (directly or by group)."""
    fw_id = framework if isinstance(framework, int) else framework.pk
    return (
        Indicator.objects.filter(framework_id=fw_id, level=Indicator.Level.SUB)
        .filter(
            Q(lead_agency=agency)
            | Q(coordinating_agencies=agency)
            | Q(coordinating_groups__in=groups_of_agency(agency))
        )
        .distinct()
        .select_related("parent", "lead_agency")
        .prefetch_related("measures")
        .order_by("sort_key")
    )


def coordinator_ids(indicators: list[Indicator]) -> dict[int, set[int]]:
    """Ids of each sub-indicator's coordinating agencies, groups expanded, the lead left out.

    A fixed number of queries whatever the number of indicators or groups (none more when
    ``coordinating_agencies`` and ``coordinating_groups`` are prefetched): the groups' explicit
    members in one, the active agencies of the groups' kinds in another.
    """
    groups = {ind.pk: list(ind.coordinating_groups.all()) for ind in indicators}
    group_ids = {g.pk for gs in groups.values() for g in gs}
    kinds = {k for gs in groups.values() for g in gs for k in (g.kinds or [])}
    members: dict[int, set[int]] = {}
    if group_ids:
        for group_id, agency_id in AgencyGroup.members.through.objects.filter(
            agencygroup_id__in=group_ids
        ).values_list("agencygroup_id", "agency_id"):
            members.setdefault(group_id, set()).add(agency_id)
    by_kind: dict[str, set[int]] = {}
    if kinds:
        for pk, kind in Agency.objects.filter(kind__in=kinds, is_active=True).values_list(
            "pk", "kind"
        ):
            by_kind.setdefault(kind, set()).add(pk)
    out: dict[int, set[int]] = {}
    for ind in indicators:
        ids = {a.pk for a in ind.coordinating_agencies.all()}
        for g in groups[ind.pk]:
            ids |= members.get(g.pk, set())
            for kind in g.kinds or []:
                ids |= by_kind.get(kind, set())
        ids.discard(ind.lead_agency_id)  # type: ignore[arg-type]
        out[ind.pk] = ids
    return out


def coordinators_of(indicator: Indicator) -> list[Agency]:
    """The coordinating agencies of a sub-indicator, groups expanded, the lead left out."""
    ids = coordinator_ids([indicator])[indicator.pk]
    return list(Agency.objects.filter(pk__in=ids).order_by("name"))


# --- periods ---------------------------------------------------------------------------------


def period_list(
    *, user: Any, framework: Framework | int | None = None
) -> QuerySet[ReportingPeriod]:
    """Periods are not confidential: every signed-in user sees them."""
    qs = ReportingPeriod.objects.select_related("framework").order_by(
        "-year", "framework__code", F("quarter").asc(nulls_last=True)
    )
    if framework is not None:
        qs = qs.filter(framework=framework)
    return qs


def period_get(*, user: Any, pk: Any) -> ReportingPeriod:
    try:
        return period_list(user=user).get(pk=pk)
    except (ReportingPeriod.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def current_period(*, today: datetime.date | None = None) -> ReportingPeriod | None:
    """The open quarter with the nearest deadline still ahead, else the most recent period."""
    today = today or today_vn()
    qs = ReportingPeriod.objects.select_related("framework")
    upcoming = (
        qs.filter(status=ReportingPeriod.Status.OPEN, deadline__gte=today)
        .order_by("deadline", F("quarter").asc(nulls_last=True))
        .first()
    )
    return upcoming or qs.order_by("-deadline").first()


# --- submissions -----------------------------------------------------------------------------


def submission_list(*, user: Any) -> QuerySet[Submission]:
    """Submissions visible to ``user`` (see module docstring)."""
    qs = Submission.objects.select_related(
        "indicator", "indicator__lead_agency", "agency", "period", "period__framework"
    )
    if not getattr(user, "is_authenticated", False):
        return qs.none()
    if user.sees_province:
        return qs.exclude(state=Submission.State.DRAFT)
    if user.is_agency_staff and user.agency_id:
        return qs.filter(
            Q(agency_id=user.agency_id)
            | (
                Q(indicator__lead_agency_id=user.agency_id, is_consolidation=False)
                & ~Q(state=Submission.State.DRAFT)
            )
        )
    return qs.none()


def with_evidence_count(qs: QuerySet[Submission]) -> QuerySet[Submission]:
    """``qs`` with ``evidence_count``: a correlated subquery, not ``Count("evidence")``. A join
    and GROUP BY would group every visible row before the list is sorted and a page cut (the
    whole province for a reviewer); the subquery runs for the rows of the page only."""
    files = (
        EvidenceFile.objects.filter(submission=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))  # an aggregate without GROUP BY
        .values("n")
    )
    return qs.annotate(evidence_count=Subquery(files, output_field=IntegerField()))


def submission_get(*, user: Any, pk: Any, related: bool = True) -> Submission:
    """A submission visible to ``user`` (else 404). ``related=False``: the same check without
    loading the related rows, for a write that locks the row and loads them again."""
    qs = submission_list(user=user)
    if not related:
        qs = qs.select_related(None)
    try:
        return qs.get(pk=pk)
    except (Submission.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def own_submission(
    *, user: Any, indicator: Indicator, period: ReportingPeriod
) -> Submission | None:
    """The caller's agency's submission for (indicator, period), or None."""
    if not getattr(user, "agency_id", None):
        return None
    return (
        Submission.objects.select_related("indicator", "period", "agency")
        .filter(indicator=indicator, period=period, agency_id=user.agency_id)
        .first()
    )


def last_return(*, submission: Submission | None) -> SubmissionTransition | None:
    """Why a returned item came back: its latest return (by the Sở or, for a contribution, by
    the lead agency), with who and when; None unless the item is returned now."""
    if submission is None or submission.state != Submission.State.RETURNED:
        return None
    return (
        SubmissionTransition.objects.filter(
            submission=submission, to_state=Submission.State.RETURNED
        )
        .select_related("actor", "actor_agency")
        .order_by("-created_at", "-id")
        .first()
    )


def assigned_indicator_get(*, user: Any, period: ReportingPeriod, pk: Any) -> Indicator:
    """A sub-indicator the user's agency is assigned in ``period``'s framework (else 404)."""
    if not (getattr(user, "is_agency_staff", False) and user.agency_id):
        raise Http404
    try:
        return assigned_indicators(agency=user.agency, framework=period.framework_id).get(pk=pk)
    except (Indicator.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


@dataclass
class Contribution:
    agency: Agency
    submission: Submission | None

    @property
    def reported(self) -> bool:
        return self.submission is not None


def lead_item_already_sent(*, indicator: Indicator, period: ReportingPeriod) -> Submission | None:
    """The lead's consolidation of ``indicator`` in ``period`` when it has already reached the Sở
    (submitted, under review or approved): a coordinator's part sent again now has nobody to
    consolidate it until that item is returned or reopened."""
    return (
        Submission.objects.filter(
            indicator=indicator,
            period=period,
            is_consolidation=True,
            state__in=[
                Submission.State.SUBMITTED,
                Submission.State.UNDER_REVIEW,
                Submission.State.APPROVED,
            ],
        )
        .only("pk", "state")
        .first()
    )


def lead_contributions(
    *, user: Any, indicator: Indicator, period: ReportingPeriod
) -> list[Contribution]:
    """For the lead agency's staff: every coordinator with its sent contribution (or None).

    Drafts are not shown (a coordinator that has only a draft has not reported yet).
    """
    if not (user.sees_province or indicator.lead_agency_id == getattr(user, "agency_id", None)):
        raise Http404
    sent = {
        s.agency_id: s
        for s in Submission.objects.filter(
            indicator=indicator, period=period, is_consolidation=False
        )
        .exclude(state=Submission.State.DRAFT)
        .select_related("agency")
    }
    rows = [
        Contribution(agency=a, submission=sent.pop(a.pk, None)) for a in coordinators_of(indicator)
    ]
    # A contribution from an agency no longer in the assignment still shows.
    rows += [Contribution(agency=s.agency, submission=s) for s in sent.values()]
    return rows


# --- evidence --------------------------------------------------------------------------------


def evidence_list(*, user: Any) -> QuerySet[EvidenceFile]:
    return EvidenceFile.objects.filter(
        submission__in=submission_list(user=user).values("pk")
    ).select_related("submission", "uploaded_by")


def evidence_get(*, user: Any, pk: Any) -> EvidenceFile:
    try:
        return (
            evidence_list(user=user)
            .select_related("submission__agency", "submission__period", "submission__indicator")
            .get(pk=pk)
        )
    except (EvidenceFile.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def reusable_evidence(*, user: Any, submission: Submission) -> QuerySet[EvidenceFile]:
    """Earlier periods' sent files of the same agency that can be attached again (no
    re-upload); see :func:`reusable_evidence_q`."""
    if getattr(user, "agency_id", None) != submission.agency_id:
        return EvidenceFile.objects.none()
    return (
        EvidenceFile.objects.filter(reusable_evidence_q(submission))
        .exclude(sha256__in=submission.evidence.values("sha256"))
        .select_related("submission__period", "submission__indicator")
        .order_by("-created_at")
    )


# --- inbox -----------------------------------------------------------------------------------


@dataclass
class InboxItem:
    indicator: Indicator
    role: str  # "lead" | "coordinator"
    submission: Submission | None
    deadline: datetime.date
    is_open: bool
    return_reason: str = ""
    contributions_sent: int = 0
    contributions_expected: int = 0

    @property
    def days_left(self) -> int:
        return (self.deadline - today_vn()).days

    @property
    def informational(self) -> bool:
        """A 0-point sub-indicator (DOMAIN.md §3, §5): reported by the deadline like any other,
        but never overdue: it puts no points at risk (as the scoring engine and the dashboards
        count it)."""
        return not self.indicator.is_scored

    @property
    def days_overdue(self) -> int:
        """Days past the deadline (0 before it, and for an informational item): a returned item
        is answered after it."""
        return 0 if self.informational else max(0, -self.days_left)

    @property
    def state(self) -> str:
        return self.submission.state if self.submission else "missing"

    @property
    def is_returned(self) -> bool:
        return self.state == Submission.State.RETURNED


@dataclass
class Inbox:
    period: ReportingPeriod | None
    items: list[InboxItem] = field(default_factory=list)

    @property
    def due(self) -> list[InboxItem]:
        return [i for i in self.items if i.state in ("missing", "draft", "returned")]

    @property
    def returned(self) -> list[InboxItem]:
        return [i for i in self.items if i.is_returned]

    @property
    def locked(self) -> bool:
        return self.period is None or period_is_locked(self.period)


def agency_inbox(*, user: Any, period: ReportingPeriod | None = None) -> Inbox:
    """What the user's agency must do in ``period`` (default: the current one)."""
    period = period or current_period()
    if period is None or not (getattr(user, "is_agency_staff", False) and user.agency_id):
        return Inbox(period=period)
    agency = user.agency
    indicators = list(
        assigned_indicators(agency=agency, framework=period.framework_id).prefetch_related(
            "coordinating_agencies", "coordinating_groups"
        )
    )
    subs = {
        s.indicator_id: s
        for s in Submission.objects.filter(
            period=period, agency=agency, indicator__in=[i.pk for i in indicators]
        ).prefetch_related(
            Prefetch(
                "transitions",
                queryset=SubmissionTransition.objects.filter(
                    to_state=Submission.State.RETURNED
                ).order_by("-created_at"),
                to_attr="returns",
            )
        )
    }
    exts = {e.indicator_id: e for e in ItemExtension.objects.filter(period=period, agency=agency)}
    led = [i.pk for i in indicators if i.lead_agency_id == agency.pk]
    expected = coordinator_ids([i for i in indicators if i.lead_agency_id == agency.pk])
    sent_counts: dict[int, int] = {}
    # As in the lead's proposal: a contribution the lead returned is being corrected.
    for ind_id in (
        Submission.objects.filter(period=period, indicator__in=led, is_consolidation=False)
        .exclude(state__in=[Submission.State.DRAFT, Submission.State.RETURNED])
        .exclude(agency=agency)
        .values_list("indicator_id", flat=True)
    ):
        sent_counts[ind_id] = sent_counts.get(ind_id, 0) + 1
    items = []
    for ind in indicators:
        sub = subs.get(ind.pk)
        ext = exts.get(ind.pk)
        role = "lead" if ind.lead_agency_id == agency.pk else "coordinator"
        reason = ""
        if sub is not None and sub.state == Submission.State.RETURNED and sub.returns:  # type: ignore[attr-defined]
            reason = sub.returns[0].reason  # type: ignore[attr-defined]
        items.append(
            InboxItem(
                indicator=ind,
                role=role,
                submission=sub,
                deadline=item_deadline(period, ext),
                is_open=(sub is not None and sub.state == Submission.State.RETURNED)
                or item_is_open(period, indicator_id=ind.pk, agency_id=agency.pk, extension=ext),
                return_reason=reason,
                contributions_sent=sent_counts.get(ind.pk, 0),
                contributions_expected=len(expected.get(ind.pk, ())),
            )
        )
    return Inbox(period=period, items=items)


def home_context(*, user: Any) -> dict[str, Any]:
    """Context for the home page: agency staff get their work inbox panel."""
    if getattr(user, "is_agency_staff", False) and user.agency_id:
        return {
            "panels": ["evidence/reporting/_home_panel.html"],
            "inbox": agency_inbox(user=user),
        }
    return {}

"""The dashboard, its lists (overdue, returned), its trend and charts, and the drill-down."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dti_portal.errors import NotFound
from evidence.models import (
    EvidenceFile,
    ReportingPeriod,
    Submission,
    SubmissionTransition,
)
from evidence.selectors import submission_list
from evidence.services.values import display_value as reported_value
from indicators.models import Framework

from ...models import ScoreKind
from .common import (
    KINDS,
    WAITING_FOR_AGENCY,
    ZERO,
    extension_deadlines,
    is_lead_or_coordinator,
    periods_of,
)
from .national import last_official, national_comparison
from .table import ScoreTable, score_table
from .trends import earlier_versions, sub_indicator_history, trend

# --- the items of the scope: state, overdue, returned ------------------------------------------

#: Buckets of an item's state as the dashboard counts them (``overdue`` is counted on top: a draft
#: or a missing item can also be overdue; a returned one is returned, see ``item_flags``).
ITEM_BUCKETS: tuple[str, ...] = ("draft", "sent", "approved", "returned")
_SENT_STATES = (
    Submission.State.SUBMITTED_TO_LEAD,
    Submission.State.SUBMITTED,
    Submission.State.UNDER_REVIEW,
)


def item_flags(
    state: str, deadline: Any, today: Any, *, scored: bool = True
) -> tuple[str, bool, bool]:
    """(bucket, returned, overdue) of one item: the one definition of "returned" and "overdue".

    An item (one agency's submission for a sub-indicator, or ``missing`` when it has none) is
    **returned** when its submission is in the returned state, and **overdue** when it was never
    sent (missing or draft) after its deadline (the item's extension if any). A returned item is
    returned, not overdue: the Sở returns items after the deadline, and the engine's risk reasons
    count it once, as returned. An informational (0-point, not ``scored``) item is never overdue:
    it still has to be reported (its bucket says whether it was), but it puts no points at risk,
    and the engine never counts it at risk.
    """
    if state in _SENT_STATES:
        bucket = "sent"
    elif state == Submission.State.APPROVED:
        bucket = "approved"
    elif state == Submission.State.RETURNED:
        bucket = "returned"
    else:  # draft, or nothing started ("missing")
        bucket = "draft"
    never_sent = state in (Submission.State.DRAFT, "missing")
    overdue = scored and never_sent and deadline < today
    return bucket, state == Submission.State.RETURNED, overdue


def _item(*, code, name, agency, state, state_label, deadline, today, max_points, sid) -> dict:
    bucket, returned, overdue = item_flags(state, deadline, today, scored=max_points > 0)
    return {
        "submission_id": sid,
        "code": code,
        "name": name,
        "agency": agency,
        "state": state,
        "state_label": state_label,
        "bucket": bucket,
        "deadline": deadline,
        "overdue": overdue,
        "returned": returned,
        "max_points": max_points,
        "informational": not max_points > 0,
    }


def scope_items(
    *, user: Any, period: ReportingPeriod | None, table: ScoreTable
) -> list[dict[str, Any]]:
    """The items of the user's scope with their state bucket and overdue/returned flags (2
    queries), in the order of the appendix.

    Agency staff: their own items, one per sub-indicator they lead, coordinate or reported on
    (the consolidation or their own submission; ``missing`` when they lead or coordinate it and
    have started nothing). Province users: every returned submission and every sub-indicator
    whose lead agency has sent nothing (started nothing, or only a draft, which they do not
    see: ``missing``); only these can be overdue or returned.
    """
    if period is None:
        return []
    today = timezone.localdate()
    extensions = extension_deadlines(period)
    labels = dict(Submission.State.choices)
    missing_label = _("Chưa báo cáo")
    qs = (
        Submission.objects.filter(period=period, indicator__framework=table.framework)
        .select_related("indicator", "agency")
        .order_by("indicator__sort_key", "agency__name")
    )
    out: list[dict[str, Any]] = []
    if table.province_scope:
        # Through evidence's scoped selector: a draft is the agency's own (AC11), so only the
        # returned items show here, and a lead whose only start is a draft counts as missing.
        sent = submission_list(user=user).filter(
            period=period, indicator__framework=table.framework, state__in=WAITING_FOR_AGENCY
        )
        for s in sent.order_by("indicator__sort_key", "agency__name"):
            out.append(
                _item(
                    code=s.indicator.code,
                    name=s.indicator.name,
                    agency=s.agency.display_name,
                    state=s.state,
                    state_label=str(labels.get(s.state, s.state)),
                    deadline=extensions.get((s.indicator_id, s.agency_id), period.deadline),
                    today=today,
                    max_points=s.indicator.max_points,
                    sid=s.pk,
                )
            )
        for row in table.subs:
            # the lead agency (or a consolidation) has sent nothing yet
            if not row.state or row.state == Submission.State.DRAFT:
                deadline = extensions.get(
                    (row.indicator_id, row.lead_agency_id or 0), period.deadline
                )
                out.append(
                    _item(
                        code=row.code,
                        name=row.name,
                        agency=row.lead_agency,
                        state="missing",
                        state_label=missing_label,
                        deadline=deadline,
                        today=today,
                        max_points=row.max_points,
                        sid=None,
                    )
                )
        order = {row.code: i for i, row in enumerate(table.subs)}
        out.sort(key=lambda it: order.get(it["code"], len(order)))
        return out
    agency = getattr(user, "agency", None)
    if agency is None:
        return []
    own: dict[int, Submission] = {}
    for s in qs.filter(agency_id=agency.pk):
        if s.indicator_id not in own or s.is_consolidation:
            own[s.indicator_id] = s
    infos = {i.indicator.pk: i for i in table.sub_infos}
    for row in table.subs:
        sub = own.get(row.indicator_id)
        lead, coord = is_lead_or_coordinator(infos[row.indicator_id], agency)
        if sub is None and not (lead or coord):
            continue
        state = sub.state if sub is not None else "missing"
        out.append(
            _item(
                code=row.code,
                name=row.name,
                agency=agency.display_name,
                state=state,
                state_label=str(labels.get(state, missing_label)),
                deadline=extensions.get((row.indicator_id, agency.pk), period.deadline),
                today=today,
                max_points=row.max_points,
                sid=sub.pk if sub is not None else None,
            )
        )
    return out


def item_counts(items: list[dict[str, Any]]) -> dict[str, int]:
    """Items per state bucket, plus ``overdue`` and ``returned`` (from :func:`item_flags`) and
    ``total``: every counter the dashboard shows comes from here."""
    counts = dict.fromkeys(ITEM_BUCKETS, 0)
    for it in items:
        counts[it["bucket"]] += 1
    counts["overdue"] = sum(1 for it in items if it["overdue"])
    counts["returned"] = sum(1 for it in items if it["returned"])
    counts["total"] = len(items)
    return counts


def items_overdue_or_returned(
    *,
    user: Any,
    period: ReportingPeriod | None,
    table: ScoreTable,
    items: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """The items of :func:`scope_items` that are returned or overdue (2 queries, none when
    ``items`` is given)."""
    if items is None:
        items = scope_items(user=user, period=period, table=table)
    return [it for it in items if it["returned"] or it["overdue"]]


# --- the dashboard ----------------------------------------------------------------------------


def _percent(share: Decimal | None) -> Decimal | None:
    return None if share is None else share * 100


def headline_kind(table: ScoreTable) -> str:
    """The kind shown as the expected score: appraised when computed, else self-assessed."""
    for k in (ScoreKind.APPRAISED, ScoreKind.SELF_ASSESSED, ScoreKind.FINAL):
        if k in table.snapshots:
            return k
    return ScoreKind.APPRAISED


def dashboard(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod | None,
    top: int = 10,
    kind: str | None = None,
) -> dict[str, Any]:
    """Every figure of the province dashboard for ``user`` (a fixed number of queries).

    ``kind``: the score kind of the headline figures (default: appraised when computed).
    """
    table = score_table(user=user, framework=framework, period=period)
    periods = periods_of(framework)
    if kind not in table.snapshots:
        kind = headline_kind(table)
    total = table.totals.get(kind)
    target = Decimal(settings.DTI_TARGET_POINTS)
    official = last_official(framework) if table.province_scope else None
    losing = sorted(
        (s for s in table.subs if s.points.get(kind) is not None and s.max_points > 0),
        key=lambda s: (-(s.lost(kind) or ZERO), s.code),
    )
    losing_rows = [
        {
            "code": s.code,
            "name": s.name,
            "main_code": s.main_code,
            "lead_agency": s.lead_agency,
            "max_points": s.max_points,
            "points": s.points.get(kind),
            "lost": s.lost(kind),
            "state_label": s.state_label,
        }
        for s in losing
        if (s.lost(kind) or ZERO) > 0
    ][:top]
    at_risk_by_reason: dict[str, int] = defaultdict(int)
    for s in table.subs:
        if s.at_risk:
            at_risk_by_reason[s.risk_reason or "other"] += 1
    items = scope_items(user=user, period=period, table=table)
    overdue_returned = items_overdue_or_returned(user=user, period=period, table=table, items=items)
    province = table.province_scope
    trend_rows = trend(
        framework=framework,
        visible=table.visible,
        periods=periods,
        earlier=earlier_versions(framework=framework),
    )
    shares: dict[str, Decimal | None] | None = (
        None
        if province
        else {
            k: (t / table.max_total if (t is not None and table.max_total > 0) else None)
            for k, t in table.totals.items()
        }
    )
    return {
        "table": table,
        "framework": framework,
        "period": period,
        "periods": periods,
        "kind": kind,
        "kind_label": str(ScoreKind(kind).label),
        "province_scope": table.province_scope,
        "agency": None if table.province_scope else getattr(user, "agency", None),
        "total_points": total,
        # The DTI is the province's (total ÷ 1000): an agency's share of it means nothing, so
        # agency staff get their achieved share of what was assigned to them instead.
        "dti": table.dti(kind) if province else None,
        "totals": table.totals,
        "dtis": {k: table.dti(k) for k in KINDS} if province else dict.fromkeys(KINDS),
        "assigned_shares": shares,
        "assigned_percent": _percent(shares.get(kind) if shares else None),
        "max_total": table.max_total,
        "target_points": target if table.province_scope else None,
        "target_gap": (target - total) if (table.province_scope and total is not None) else None,
        "target_surplus": (total - target)
        if (table.province_scope and total is not None)
        else None,
        "official": official,
        "official_points": official.official_dti * 1000 if official else None,
        "official_gap": (total - official.official_dti * 1000)
        if (official and total is not None)
        else None,
        "points_at_risk": table.figure(kind, "points_at_risk"),
        "max_reachable": table.figure(kind, "max_reachable"),
        "at_risk_by_reason": dict(at_risk_by_reason),
        "trend": trend_rows,
        # The earlier versions the trend reaches back into (named under the table).
        "trend_versions": sorted(
            {f"{t['earlier'].name} ({t['earlier'].code})" for t in trend_rows if t["earlier"]}
        ),
        "losing": losing_rows,
        "overdue_returned": overdue_returned,
        # One set of counters for the whole page (see item_flags): the overdue/returned card
        # counts the same items as the agency's "items by state" card.
        "overdue_returned_counts": item_counts(overdue_returned),
        "item_counts": None if province else item_counts(items),
        "national": national_comparison(framework) if table.province_scope else None,
        "stale": table.stale,
        "computed_at": max((s.computed_at for s in table.snapshots.values()), default=None),
    }


def chart_data(dash: Mapping[str, Any]) -> dict[str, Any]:
    """Plain JSON for the Chart.js charts (rendered with ``json_script``)."""
    table: ScoreTable = dash["table"]

    def f(x: Decimal | None) -> float | None:
        return None if x is None else float(x)

    return {
        "mains": {
            "labels": [m.code for m in table.mains],
            "names": [m.name for m in table.mains],
            "max": [f(m.max_points) for m in table.mains],
            "self_assessed": [f(m.points.get(ScoreKind.SELF_ASSESSED)) for m in table.mains],
            "appraised": [f(m.points.get(ScoreKind.APPRAISED)) for m in table.mains],
        },
        "trend": {
            "labels": [t["label"] for t in dash["trend"]],
            **{k: [f(t.get(k)) for t in dash["trend"]] for k in KINDS},
            "target": f(dash["target_points"]),
        },
        # Intl.NumberFormat locale for ticks and tooltips: the page's language, so the charts
        # read 1.000,5 (vi) or 1,000.5 (en) like the tables beside them.
        "locale": get_language() or settings.LANGUAGE_CODE,
        "series_labels": {
            **{k: str(ScoreKind(k).label) for k in KINDS},
            "max": _("Điểm tối đa"),
            "target": _("Mục tiêu của tỉnh"),
        },
    }


# --- drill-down -------------------------------------------------------------------------------


def display_value(measure: Any, raw: Any) -> str:
    """A reported value as people read it (a level's label, Có/Không, 1.234,5 with every decimal
    the agency entered: a reported figure is never rounded or cut), "" when nothing was reported.
    The one reading of evidence (``evidence.services.values.display_value``)."""
    if raw is None or raw == "":
        return ""
    return reported_value(measure, raw)


def main_index_detail(*, user: Any, framework: Framework, period, code: str) -> dict[str, Any]:
    table = score_table(user=user, framework=framework, period=period)
    main = next((m for m in table.mains if m.code == code), None)
    if main is None:
        raise NotFound(_("Không tìm thấy chỉ số chính."))
    return {"table": table, "main": main, "framework": framework, "period": period}


def sub_indicator_detail(*, user: Any, framework: Framework, period, code: str) -> dict[str, Any]:
    """A sub-indicator: its points and lineage, the contributing agencies' submissions with values,
    evidence and transition history (scoped), and its points in every period."""
    table = score_table(user=user, framework=framework, period=period)
    row = next((s for s in table.subs if s.code == code), None)
    if row is None:
        raise NotFound(_("Không tìm thấy chỉ số thành phần."))
    indicator = next(i.indicator for i in table.sub_infos if i.code == code)
    measures = list(indicator.measures.all())
    # Scoped by evidence's one submission selector: the province roles see what was sent (never
    # a draft), agency staff their own and, as lead, the contributions sent to them.
    subs_qs = (
        submission_list(user=user)
        .filter(indicator_id=row.indicator_id, period=period)
        .prefetch_related(
            Prefetch("evidence", queryset=EvidenceFile.objects.order_by("created_at", "id")),
            Prefetch(
                "transitions",
                queryset=SubmissionTransition.objects.select_related(
                    "actor", "actor_agency"
                ).order_by("created_at", "id"),
            ),
        )
        .order_by("-is_consolidation", "agency__name")
    )
    labels = dict(Submission.State.choices)
    contributions = []
    for s in subs_qs if period is not None else []:
        contributions.append(
            {
                "submission": s,
                "agency": s.agency,
                "is_lead": s.agency_id == row.lead_agency_id or s.is_consolidation,
                "state_label": str(labels.get(s.state, s.state)),
                "values": [
                    {
                        "label": m.label,
                        "unit": m.unit,
                        "value": display_value(m, (s.values or {}).get(m.code)),
                    }
                    for m in measures
                ],
                "evidence": list(s.evidence.all()),
                "history": [
                    {
                        "at": t.created_at,
                        "actor": str(t.actor),
                        "agency": t.actor_agency.display_name if t.actor_agency else "",
                        "from": str(labels.get(t.from_state, t.from_state or "—")),
                        "to": str(labels.get(t.to_state, t.to_state)),
                        "reason": t.reason,
                    }
                    for t in s.transitions.all()
                ],
            }
        )
    history = sub_indicator_history(framework=framework, code=code)
    return {
        "table": table,
        "row": row,
        "explain": row.lineage.get(ScoreKind.APPRAISED)
        or row.lineage.get(ScoreKind.SELF_ASSESSED)
        or {},
        "indicator": indicator,
        "main": next((m for m in table.mains if m.code == row.main_code), None),
        "measures": measures,
        "contributions": contributions,
        "history": history,
        "framework": framework,
        "period": period,
    }

"""The agency league table (figures per agency and period, ranked)."""

from __future__ import annotations

import datetime
from collections import Counter, defaultdict
from typing import Any

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone

from agencies.models import Agency
from agencies.text import matches_search, search_words
from evidence.models import (
    ReportingPeriod,
    Submission,
)
from indicators.models import Framework

from ...models import ScoreKind, ScoreSnapshot
from .. import league as league_mod
from .common import (
    SUBMIT_STATES,
    ZERO,
    SubInfo,
    dec,
    extension_deadlines,
    is_lead_or_coordinator,
    load_tree,
    periods_of,
    previous_period,
)

# --- league table -----------------------------------------------------------------------------


def _deadline_end(day: datetime.date) -> datetime.datetime:
    """The end of a deadline day in the portal's time zone (aware)."""
    naive = datetime.datetime.combine(day, datetime.time.max)
    return timezone.make_aware(naive, timezone.get_default_timezone())


def agency_figures(
    *,
    framework: Framework,
    period: ReportingPeriod,
    sub_infos: list[SubInfo],
    agencies: list[Agency],
    kind: str,
) -> list[league_mod.AgencyFigures]:
    """Per-agency figures of one period (3 queries)."""
    snap = ScoreSnapshot.objects.filter(framework=framework, period=period, kind=kind).first()
    lineage = snap.lineage if snap else {}
    extensions = extension_deadlines(period)
    subs = (
        Submission.objects.filter(period=period, indicator__framework=framework)
        .annotate(
            first_submit=Min(
                "transitions__created_at", filter=Q(transitions__to_state__in=SUBMIT_STATES)
            ),
            n_returns=Count(
                "transitions", filter=Q(transitions__to_state=Submission.State.RETURNED)
            ),
        )
        .only("id", "indicator_id", "agency_id", "state", "submitted_at")
    )
    by_agency: dict[int, dict[int, Any]] = defaultdict(dict)
    for row in subs:
        by_agency[row.agency_id][row.indicator_id] = row
    out = []
    for agency in agencies:
        lead_max = lead_pts = coord_credit = ZERO
        lead_items = coord_items = coord_contributed = due = on_time = submitted = returns = 0
        own = by_agency.get(agency.pk, {})
        for info in sub_infos:
            ind = info.indicator
            lead, coord = is_lead_or_coordinator(info, agency)
            if not (lead or coord):
                continue
            due += 1
            s = own.get(ind.pk)
            done = s is not None and s.state not in (
                Submission.State.DRAFT,
                Submission.State.RETURNED,
            )
            if s is not None and s.first_submit is not None:  # type: ignore[attr-defined]
                submitted += 1
                deadline = extensions.get((ind.pk, agency.pk), period.deadline)
                if s.first_submit <= _deadline_end(deadline):  # type: ignore[attr-defined]
                    on_time += 1
            if lead:
                lead_items += 1
                if ind.max_points > 0:
                    lead_max += ind.max_points
                    lead_pts += dec((lineage.get(ind.code) or {}).get("points")) or ZERO
            else:
                coord_items += 1
                if done:
                    coord_contributed += 1
                    if ind.max_points > 0:
                        pts = dec((lineage.get(ind.code) or {}).get("points")) or ZERO
                        coord_credit += pts / ind.max_points
                    else:
                        coord_credit += 1
            if s is not None:
                returns += s.n_returns  # type: ignore[attr-defined]
        out.append(
            league_mod.AgencyFigures(
                agency_id=agency.pk,
                name=agency.display_name,
                lead_max_points=lead_max,
                lead_points=lead_pts,
                lead_items=lead_items,
                coord_items=coord_items,
                coord_contributed=coord_contributed,
                coord_credit=coord_credit,
                due_items=due,
                on_time=on_time,
                submitted=submitted,
                returns=returns,
            )
        )
    return out


def league_table(
    *,
    user: Any,
    framework: Framework,
    period: ReportingPeriod | None,
    kind: str = ScoreKind.APPRAISED,
    agency_kind: str = "",
    search: str = "",
) -> dict[str, Any]:
    """The agency league table of ``period`` with movement since the previous period.

    Province users see every agency; agency staff see their own row only (with its rank).
    ``ranked_rows`` / ``unranked_rows`` split ``rows``: unranked agencies (nothing assigned or
    nothing sent yet) are shown apart, last, without rank or movement; ``unranked_counts`` counts
    them by reason (``unassigned``, ``not_reported``).

    ``agency_kind`` (an ``Agency.Kind`` value) makes it the league of that unit type: the
    agencies of the type are ranked among themselves (communes against communes), movement
    compares those ranks, and each row's ``overall_rank`` keeps its province-wide rank.
    ``search`` keeps the rows whose agency's name, short name, code or an alias contains every
    word (ignoring case and diacritics, as the agency directory searches); it only hides rows,
    so a rank never changes with it. Without either (the exports): every agency.
    Queries: the tree, the agencies, the periods and 3 per period, whatever the filters.
    """
    if period is None:
        return {
            "rows": [],
            "ranked_rows": [],
            "unranked_rows": [],
            "unranked_counts": {},
            "period": None,
            "previous": None,
            "kind": kind,
        }
    _mains, sub_infos = load_tree(framework)
    agencies = list(Agency.objects.filter(is_active=True).order_by("name"))
    thresholds = settings.DTI_LEAGUE_BANDS
    periods = periods_of(framework)
    prev = previous_period(period, periods)
    figures = agency_figures(
        framework=framework, period=period, sub_infos=sub_infos, agencies=agencies, kind=kind
    )
    prev_figures = (
        agency_figures(
            framework=framework, period=prev, sub_infos=sub_infos, agencies=agencies, kind=kind
        )
        if prev is not None
        else []
    )

    def league_of(
        figs: list[league_mod.AgencyFigures],
        prev_figs: list[league_mod.AgencyFigures],
        overall: dict[int, int | None] | None = None,
    ) -> list[league_mod.LeagueRow]:
        prev_ranks = league_mod.ranks_by_agency(
            league_mod.build_league(prev_figs, thresholds=thresholds)
        )
        return league_mod.build_league(
            figs, thresholds=thresholds, previous=prev_ranks, overall=overall
        )

    rows = league_of(figures, prev_figures)
    if agency_kind:
        of_kind = {a.pk for a in agencies if a.kind == agency_kind}
        rows = league_of(
            [f for f in figures if f.agency_id in of_kind],
            [f for f in prev_figures if f.agency_id in of_kind],
            overall=league_mod.ranks_by_agency(rows),
        )
    own_agency = None if getattr(user, "sees_province", False) else getattr(user, "agency_id", None)
    if own_agency is not None:
        rows = [r for r in rows if r.figures.agency_id == own_agency]
    words = search_words(search)
    if words:
        search_text = {a.pk: a.search_text for a in agencies}
        rows = [r for r in rows if matches_search(search_text[r.figures.agency_id], words)]
    unranked = [r for r in rows if not r.ranked]
    return {
        "rows": rows,
        "ranked_rows": [r for r in rows if r.ranked],
        "unranked_rows": unranked,
        "unranked_counts": Counter(r.unranked_reason for r in unranked),
        "period": period,
        "previous": prev,
        "kind": kind,
        "kind_label": str(ScoreKind(kind).label),
        "agency_kind": agency_kind,
        "search": search,
        "thresholds": thresholds,
        "own_agency_id": own_agency,
        "province_scope": own_agency is None,
    }

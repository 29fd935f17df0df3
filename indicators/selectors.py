"""Reads on frameworks, already scoped to the user.

Reviewers and admins see every framework (drafts included); everyone else sees published and
archived ones only — a draft is simply not found (404) for them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from agencies.models import Agency, AgencyGroup, User
from dti_portal.errors import NotFound

from .models import Crosswalk, Framework, Indicator, Measure


def framework_queryset(*, user: User) -> QuerySet[Framework]:
    qs = Framework.objects.all()
    if not (user.is_authenticated and user.is_reviewer):
        qs = qs.filter(status__in=[Framework.Status.PUBLISHED, Framework.Status.ARCHIVED])
    return qs


def framework_list(*, user: User, code: str = "") -> QuerySet[Framework]:
    qs = framework_queryset(user=user).select_related("previous_version")
    if code:
        qs = qs.filter(code=code)
    return qs.order_by("-year", "code")


def framework_get(*, user: User, pk: int | str) -> Framework:
    try:
        return framework_queryset(user=user).get(pk=pk)
    except (Framework.DoesNotExist, ValueError) as exc:
        raise NotFound(_("Không tìm thấy bộ chỉ số.")) from exc


def current_framework(*, user: User) -> Framework | None:
    """The newest published framework (what agencies report against)."""
    return (
        framework_queryset(user=user)
        .filter(status=Framework.Status.PUBLISHED)
        .order_by("-year", "-published_at")
        .first()
    )


@dataclass
class TreeNode:
    """A node with its children (the whole tree is built from four queries)."""

    indicator: Indicator
    children: list[TreeNode] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.indicator, name)


def indicators_with_assignments(framework: Framework) -> QuerySet[Indicator]:
    return (
        Indicator.objects.filter(framework=framework)
        .select_related("lead_agency")
        .prefetch_related(
            Prefetch("measures", queryset=Measure.objects.order_by("position", "id")),
            Prefetch("coordinating_agencies", queryset=Agency.objects.order_by("name")),
            Prefetch("coordinating_groups", queryset=AgencyGroup.objects.order_by("name")),
        )
        .order_by("sort_key")
    )


def sub_indicators_with_assignments(*, framework: Framework) -> QuerySet[Indicator]:
    """The framework's sub-indicators in code order with their lead and coordinating agencies."""
    return indicators_with_assignments(framework).filter(level=Indicator.Level.SUB)


def subs_without_lead(*, framework: Framework) -> list[str]:
    """Codes of the sub-indicators nobody leads yet (nobody would report them)."""
    return [
        i.code
        for i in Indicator.objects.filter(
            framework=framework, level=Indicator.Level.SUB, lead_agency__isnull=True
        )
        .only("code")
        .order_by("sort_key")
    ]


def framework_tree(*, framework: Framework) -> list[TreeNode]:
    """Top-level nodes (groups, or main indices when there is no group level), each with its
    children in natural code order. A constant number of queries whatever the size."""
    nodes = {i.pk: TreeNode(i) for i in indicators_with_assignments(framework)}
    roots: list[TreeNode] = []
    for node in nodes.values():  # already in natural order
        parent = nodes.get(node.indicator.parent_id) if node.indicator.parent_id else None
        (parent.children if parent else roots).append(node)
    return roots


def main_indices(roots: list[TreeNode]) -> list[TreeNode]:
    """The main indices of a tree, flattening the optional group level."""
    out: list[TreeNode] = []
    for r in roots:
        if r.indicator.level == Indicator.Level.GROUP:
            out.extend(c for c in r.children if c.indicator.level == Indicator.Level.MAIN)
        elif r.indicator.level == Indicator.Level.MAIN:
            out.append(r)
    return out


def group_members() -> dict[int, list[Agency]]:
    """Every group's member agencies (by kind or explicitly; active only), in two queries."""
    agencies = list(Agency.objects.filter(is_active=True).order_by("name"))
    return {
        g.pk: [a for a in agencies if g.covers(a)]
        for g in AgencyGroup.objects.prefetch_related("members")
    }


def groups_of_agency(agency: Agency) -> list[AgencyGroup]:
    """The groups an agency belongs to (by kind or explicitly)."""
    groups = AgencyGroup.objects.prefetch_related("members")
    return [g for g in groups if g.covers(agency)]


@dataclass
class MyIndicators:
    framework: Framework | None
    led: list[Indicator] = field(default_factory=list)
    coordinated: list[Indicator] = field(default_factory=list)
    via_groups: dict[int, list[str]] = field(default_factory=dict)  # indicator id → group names


def my_indicators(*, user: User, framework: Framework | None) -> MyIndicators:
    """What the user's agency leads and what it coordinates (directly or through a group)."""
    result = MyIndicators(framework=framework)
    agency = user.agency if user.is_authenticated else None
    if framework is None or agency is None:
        return result
    groups = groups_of_agency(agency)
    group_ids = [g.pk for g in groups]
    qs = (
        indicators_with_assignments(framework)
        .filter(
            Q(lead_agency=agency)
            | Q(coordinating_agencies=agency)
            | Q(coordinating_groups__in=group_ids)
        )
        .distinct()
    )
    for ind in qs:
        if ind.lead_agency_id == agency.pk:
            result.led.append(ind)
            continue
        result.coordinated.append(ind)
        names = [g.name for g in ind.coordinating_groups.all() if g.pk in group_ids]
        if names and not any(a.pk == agency.pk for a in ind.coordinating_agencies.all()):
            result.via_groups[ind.pk] = names
        ind.via_group_names = result.via_groups.get(ind.pk, [])  # type: ignore[attr-defined]
    return result


def indicator_get(*, user: User, pk: int | str) -> Indicator:
    try:
        return Indicator.objects.select_related("framework").get(
            pk=pk, framework__in=framework_queryset(user=user)
        )
    except (Indicator.DoesNotExist, ValueError) as exc:
        raise NotFound(_("Không tìm thấy chỉ số.")) from exc


@dataclass
class CompareRow:
    left: Indicator | None
    right: Indicator | None
    mapped: bool  # by an explicit crosswalk row (False: same code, or no counterpart)
    note: str = ""


def compare_versions(*, left: Framework, right: Framework) -> list[CompareRow]:
    """Two versions side by side: pairs from the crosswalk (either direction), then the same code
    where no crosswalk row exists, then what has no counterpart."""
    lnodes = list(Indicator.objects.filter(framework=left).order_by("sort_key"))
    rnodes = list(Indicator.objects.filter(framework=right).order_by("sort_key"))
    rby = {n.code: n for n in rnodes}
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cw in Crosswalk.objects.filter(Q(source=left, target=right) | Q(source=right, target=left)):
        if cw.source_id == left.pk:
            pairs[cw.source_code].append((cw.target_code, cw.note))
        else:
            pairs[cw.target_code].append((cw.source_code, cw.note))
    rows: list[CompareRow] = []
    used_right: set[str] = set()
    for ln in lnodes:
        if ln.code in pairs:
            for rcode, note in pairs[ln.code]:
                rows.append(CompareRow(ln, rby.get(rcode), True, note))
                used_right.add(rcode)
        elif ln.code in rby and ln.code not in used_right:
            rows.append(CompareRow(ln, rby[ln.code], False))
            used_right.add(ln.code)
        else:
            rows.append(CompareRow(ln, None, False))
    for rn in rnodes:
        if rn.code not in used_right:
            rows.append(CompareRow(None, rn, False))
    return rows

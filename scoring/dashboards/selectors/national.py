"""The province among the published national results."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings

from agencies.text import normalize_name
from indicators.models import Framework, Indicator

from ...engine import competition_ranks
from ...models import NationalResult
from .common import dec

# --- national results -------------------------------------------------------------------------


def same_province(a: str, b: str) -> bool:
    """Province names compared without case or diacritics ("Khánh Hòa" = "Khánh Hoà")."""
    return normalize_name(a).replace("tinh ", "") == normalize_name(b).replace("tinh ", "")


def national_rows(framework: Framework | None = None) -> tuple[int | None, list[NationalResult]]:
    """The latest year's national table (of ``framework`` when it has one, else any), in the
    order of the official ranks (:attr:`NationalResult.official_rank`): 2 queries."""
    qs = NationalResult.objects.all()
    if framework is not None and qs.filter(framework=framework).exists():
        qs = qs.filter(framework=framework)
    year = qs.order_by("-year").values_list("year", flat=True).first()
    if year is None:
        return None, []
    rows = list(qs.filter(year=year).select_related("framework"))
    return year, sorted(rows, key=lambda r: (r.official_rank, r.province))


def own_row(rows: Iterable[NationalResult]) -> NationalResult | None:
    return next((r for r in rows if same_province(r.province, settings.PROVINCE_NAME)), None)


def rank_among(value: Decimal, others: Iterable[Decimal]) -> int:
    """Competition rank of ``value`` among ``others``: ties (equal at the 4 decimals the Ministry
    publishes) share the better rank, as :func:`scoring.engine.competition_ranks` counts them."""
    return competition_ranks([value, *others])[0]


def national_comparison(framework: Framework) -> dict[str, Any] | None:
    """Our published rank overall and per main index, main indices in the top 10 (Plan 4636)."""
    year, rows = national_rows(framework)
    if not rows:
        return None
    ours = own_row(rows)
    fw = rows[0].framework
    weights = {
        m.code: m.max_points
        for m in Indicator.objects.filter(framework=fw, level=Indicator.Level.MAIN).order_by(
            "sort_key"
        )
    }
    scored = [c for c, w in weights.items() if w > 0]
    mains: list[dict[str, Any]] = []
    if ours is not None:
        for code in scored:
            mine = dec((ours.main_values or {}).get(code))
            if mine is None:
                continue
            others = [
                v
                for r in rows
                if r.pk != ours.pk and (v := dec((r.main_values or {}).get(code))) is not None
            ]
            mains.append({"code": code, "value": mine, "rank": rank_among(mine, others)})
    return {
        "year": year,
        "framework": fw.code,
        "provinces": len(rows),
        "province": ours.province if ours else settings.PROVINCE_NAME,
        "found": ours is not None,
        "dti": ours.official_dti if ours else None,
        "rank": ours.official_rank if ours else None,
        "main_indices": mains,
        "top10": sum(1 for m in mains if m["rank"] <= 10),
        "top10_target": 4,
        "scored_main_count": len(scored),
        "rows": rows,
    }


def last_official(framework: Framework) -> NationalResult | None:
    """The province's latest published national result, whatever the framework (2 queries)."""
    years = NationalResult.objects.order_by("-year").values_list("year", flat=True).distinct()[:1]
    if not years:
        return None
    return own_row(NationalResult.objects.filter(year=years[0]))


def national_columns(frameworks: Iterable[Framework]) -> list[tuple[Framework, list[str]]]:
    """Each framework with the columns its national table has: ``province``, the codes of its
    scored main indices in order, then the optional ``dti`` and ``rank`` (1 query)."""
    frameworks = list(frameworks)
    codes: dict[int, list[str]] = {fw.pk: [] for fw in frameworks}
    mains = (
        Indicator.objects.filter(
            framework__in=frameworks, level=Indicator.Level.MAIN, max_points__gt=0
        )
        .order_by("framework_id", "sort_key")
        .values_list("framework_id", "code")
    )
    for framework_id, code in mains:
        codes[framework_id].append(code)
    return [(fw, ["province", *codes[fw.pk], "dti", "rank"]) for fw in frameworks]

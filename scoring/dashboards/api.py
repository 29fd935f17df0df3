"""API for the dashboard figures, the league table, what-if and the national comparison.

Serializers only parse and format; the figures come from ``scoring.dashboards.selectors`` (scoped
to the caller). Decimals are returned as strings at full precision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import ScoreKind
from . import selectors as sel
from . import whatif as whatif_mod

SELECTION_PARAMS = [
    OpenApiParameter("framework", OpenApiTypes.STR, description="Framework code"),
    OpenApiParameter("period", OpenApiTypes.INT, description="Reporting period id"),
]


def s(value: Any) -> str | None:
    """Decimal → string (full precision); None stays None."""
    return None if value is None else str(value)


def _selection(request: Request) -> tuple[Any, Any]:
    return sel.resolve_framework_period(
        user=request.user,
        framework_code=request.query_params.get("framework") or None,
        period_id=request.query_params.get("period") or None,
    )


def _points(d: dict[str, Decimal | None]) -> dict[str, str | None]:
    return {k: s(v) for k, v in d.items()}


MainSerializer = inline_serializer(
    "DashboardMainIndex",
    many=True,
    fields={
        "code": serializers.CharField(),
        "name": serializers.CharField(),
        "max_points": serializers.CharField(),
        "points": serializers.DictField(child=serializers.CharField(allow_null=True)),
        "values": serializers.DictField(child=serializers.CharField(allow_null=True)),
    },
)
DashboardSerializer = inline_serializer(
    "Dashboard",
    {
        "framework": serializers.CharField(),
        "period": serializers.IntegerField(allow_null=True),
        "scope": serializers.ChoiceField(choices=["province", "agency"]),
        "kind": serializers.CharField(),
        "total_points": serializers.CharField(allow_null=True),
        "dti": serializers.CharField(allow_null=True),
        "totals": serializers.DictField(child=serializers.CharField(allow_null=True)),
        "dtis": serializers.DictField(child=serializers.CharField(allow_null=True)),
        "max_total": serializers.CharField(),
        "target_points": serializers.CharField(allow_null=True),
        "target_gap": serializers.CharField(allow_null=True),
        "official": serializers.DictField(allow_null=True),
        "points_at_risk": serializers.CharField(allow_null=True),
        "max_reachable": serializers.CharField(allow_null=True),
        "main_indices": MainSerializer,
        "trend": serializers.ListField(child=serializers.DictField()),
        "losing": serializers.ListField(child=serializers.DictField()),
        "overdue_returned": serializers.ListField(child=serializers.DictField()),
        "national": serializers.DictField(allow_null=True),
        "stale": serializers.BooleanField(),
        "computed_at": serializers.DateTimeField(allow_null=True),
    },
)


def national_payload(nat: dict[str, Any] | None) -> dict[str, Any] | None:
    if nat is None:
        return None
    return {
        "year": nat["year"],
        "framework": nat["framework"],
        "provinces": nat["provinces"],
        "province": nat["province"],
        "found": nat["found"],
        "dti": s(nat["dti"]),
        "rank": nat["rank"],
        "main_indices": [
            {"code": m["code"], "value": s(m["value"]), "rank": m["rank"]}
            for m in nat["main_indices"]
        ],
        "top10": nat["top10"],
        "top10_target": nat["top10_target"],
        "scored_main_count": nat["scored_main_count"],
    }


class DashboardView(APIView):
    """The dashboard figures for the caller's scope (province, or their agency's part)."""

    @extend_schema(
        parameters=[
            *SELECTION_PARAMS,
            OpenApiParameter(
                "kind",
                OpenApiTypes.STR,
                enum=list(ScoreKind.values),
                description="Score kind of the headline figures (default: appraised)",
            ),
        ],
        responses=DashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        fw, period = _selection(request)
        d = sel.dashboard(
            user=request.user,
            framework=fw,
            period=period,
            kind=request.query_params.get("kind") or None,
        )
        table = d["table"]
        official = d["official"]
        return Response(
            {
                "framework": fw.code,
                "period": period.pk if period else None,
                "scope": "province" if d["province_scope"] else "agency",
                "kind": d["kind"],
                "total_points": s(d["total_points"]),
                "dti": s(d["dti"]),
                "totals": _points(d["totals"]),
                "dtis": _points(d["dtis"]),
                "max_total": s(d["max_total"]),
                "target_points": s(d["target_points"]),
                "target_gap": s(d["target_gap"]),
                "official": {
                    "year": official.year,
                    "dti": s(official.official_dti),
                    "rank": official.official_rank,
                    "total_points": s(d["official_points"]),
                }
                if official
                else None,
                "points_at_risk": s(d["points_at_risk"]),
                "max_reachable": s(d["max_reachable"]),
                "main_indices": [
                    {
                        "code": m.code,
                        "name": m.name,
                        "max_points": s(m.max_points),
                        "points": _points(m.points),
                        "values": _points(m.values),
                    }
                    for m in table.mains
                ],
                "trend": [
                    {
                        "period": t["period_id"],
                        "label": t["label"],
                        # The framework version the period belongs to (an earlier one mapped
                        # through the crosswalk when it is not the one asked for).
                        "framework": t["framework_code"],
                        "earlier_version": t["earlier"] is not None,
                        **_points({k: t.get(k) for k in sel.KINDS}),
                    }
                    for t in d["trend"]
                ],
                "losing": [
                    {
                        "code": x["code"],
                        "name": x["name"],
                        "main_code": x["main_code"],
                        "lead_agency": x["lead_agency"],
                        "max_points": s(x["max_points"]),
                        "points": s(x["points"]),
                        "lost": s(x["lost"]),
                    }
                    for x in d["losing"]
                ],
                "overdue_returned": [
                    {
                        "submission": x["submission_id"],
                        "code": x["code"],
                        "agency": x["agency"],
                        "state": x["state"],
                        "deadline": x["deadline"],
                        "overdue": x["overdue"],
                        "returned": x["returned"],
                    }
                    for x in d["overdue_returned"]
                ],
                "national": national_payload(d["national"]),
                "stale": d["stale"],
                "computed_at": d["computed_at"],
            }
        )


LeagueRowSerializer = inline_serializer(
    "LeagueRow",
    many=True,
    fields={
        "rank": serializers.IntegerField(allow_null=True),
        "agency": serializers.IntegerField(),
        "name": serializers.CharField(),
        "score": serializers.CharField(allow_null=True),
        "band": serializers.CharField(),
        "lead_points": serializers.CharField(),
        "lead_max_points": serializers.CharField(),
        "coord_items": serializers.IntegerField(),
        "coord_contributed": serializers.IntegerField(),
        "due_items": serializers.IntegerField(),
        "on_time": serializers.IntegerField(),
        "timeliness": serializers.CharField(allow_null=True),
        "returns": serializers.IntegerField(),
        "previous_rank": serializers.IntegerField(allow_null=True),
        "movement": serializers.IntegerField(allow_null=True),
    },
)


class LeagueView(APIView):
    """The agency league table (thi đua - khen thưởng); agency staff get their own row."""

    @extend_schema(
        parameters=[
            *SELECTION_PARAMS,
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(ScoreKind.values)),
        ],
        responses=inline_serializer(
            "League",
            {
                "period": serializers.IntegerField(allow_null=True),
                "previous_period": serializers.IntegerField(allow_null=True),
                "kind": serializers.CharField(),
                "results": LeagueRowSerializer,
            },
        ),
    )
    def get(self, request: Request) -> Response:
        fw, period = _selection(request)
        kind = request.query_params.get("kind") or ScoreKind.APPRAISED
        if kind not in ScoreKind.values:
            raise serializers.ValidationError({"kind": [_("Loại điểm không hợp lệ.")]})
        data = sel.league_table(user=request.user, framework=fw, period=period, kind=kind)
        return Response(
            {
                "period": period.pk if period else None,
                "previous_period": data["previous"].pk if data.get("previous") else None,
                "kind": kind,
                "results": [
                    {
                        "rank": r.rank,
                        "agency": r.figures.agency_id,
                        "name": r.figures.name,
                        "score": s(r.score),
                        "band": r.band,
                        "lead_points": s(r.figures.lead_points),
                        "lead_max_points": s(r.figures.lead_max_points),
                        "coord_items": r.figures.coord_items,
                        "coord_contributed": r.figures.coord_contributed,
                        "due_items": r.figures.due_items,
                        "on_time": r.figures.on_time,
                        "timeliness": s(r.timeliness),
                        "returns": r.figures.returns,
                        "previous_rank": r.previous_rank,
                        "movement": r.movement,
                    }
                    for r in data["rows"]
                ],
            }
        )


class WhatIfRequestSerializer(serializers.Serializer):
    framework = serializers.CharField(required=False)
    period = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    kind = serializers.ChoiceField(choices=ScoreKind.choices, default=ScoreKind.SELF_ASSESSED)
    overrides = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField(allow_blank=True, allow_null=True)),
        help_text='{"<sub-indicator code>": {"<measure code>": "value"}}',
    )


class WhatIfView(APIView):
    """Projects the score with hypothetical values; nothing is saved (leaders, the Sở)."""

    @extend_schema(
        request=WhatIfRequestSerializer,
        responses=inline_serializer(
            "WhatIf",
            {
                "total_points": serializers.CharField(),
                "dti": serializers.CharField(),
                "total_points_before": serializers.CharField(allow_null=True),
                "dti_before": serializers.CharField(allow_null=True),
                "rank": serializers.IntegerField(allow_null=True),
                "national_year": serializers.IntegerField(allow_null=True),
                "main_indices": serializers.ListField(child=serializers.DictField()),
                "changed": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def post(self, request: Request) -> Response:
        ser = WhatIfRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        fw, period = sel.resolve_framework_period(
            user=request.user, framework_code=data.get("framework"), period_id=data.get("period")
        )
        if period is None:
            raise serializers.ValidationError({"period": [_("Chưa có kỳ báo cáo.")]})
        p = whatif_mod.project(
            user=request.user,
            framework=fw,
            period=period,
            overrides=data["overrides"],
            kind=data["kind"],
        )
        return Response(
            {
                "framework": p["framework"],
                "period": p["period"],
                "kind": p["kind"],
                "total_points": s(p["total_points"]),
                "dti": s(p["dti"]),
                "total_points_before": s(p["total_points_before"]),
                "dti_before": s(p["dti_before"]),
                "rank": p["rank"],
                "national_year": p["national_year"],
                "main_indices": [
                    {
                        "code": m["code"],
                        "points": s(m["points"]),
                        "max_points": s(m["max_points"]),
                        "value": s(m["value"]),
                        "rank": m.get("rank"),
                    }
                    for m in p["main_indices"]
                ],
                "changed": [
                    {
                        "code": c["code"],
                        "points_before": s(c["points_before"]),
                        "points_after": s(c["points_after"]),
                        "explanation": c["explanation"],
                        "warnings": c["warnings"],
                    }
                    for c in p["changed"]
                ],
            }
        )


class NationalView(APIView):
    """Our published national rank overall and per main index (province users)."""

    @extend_schema(
        parameters=SELECTION_PARAMS[:1],
        responses=inline_serializer(
            "NationalComparison",
            {
                "year": serializers.IntegerField(),
                "rank": serializers.IntegerField(allow_null=True),
                "dti": serializers.CharField(allow_null=True),
                "main_indices": serializers.ListField(child=serializers.DictField()),
                "top10": serializers.IntegerField(),
                "top10_target": serializers.IntegerField(),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        from dti_portal.errors import NotAllowed, NotFound

        if not getattr(request.user, "sees_province", False):
            raise NotAllowed(_("Chỉ lãnh đạo và Sở KH&CN xem được so sánh toàn quốc."))
        fw, _period = _selection(request)
        payload = national_payload(sel.national_comparison(fw))
        if payload is None:
            raise NotFound(_("Chưa nhập kết quả công bố toàn quốc."))
        return Response(payload)

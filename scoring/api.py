"""Scoring API: ``scores/summary/`` (API.md). Serializers only parse and format."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors


class SummaryQuerySerializer(serializers.Serializer):
    framework = serializers.CharField(max_length=50)
    period = serializers.IntegerField(min_value=1)


class MainIndexScoreSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    points = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=True)
    max_points = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=True)
    value = serializers.DecimalField(max_digits=30, decimal_places=12, coerce_to_string=True)


class KindScoreSerializer(serializers.Serializer):
    total_points = serializers.CharField(allow_null=True, help_text="Full precision decimal")
    dti = serializers.CharField(allow_null=True, help_text="Null in an agency's partial view")
    main_indices = MainIndexScoreSerializer(many=True)
    points_at_risk = serializers.CharField(allow_null=True)
    max_reachable = serializers.CharField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField()


class ScoreSummarySerializer(serializers.Serializer):
    framework = serializers.CharField()
    period = serializers.IntegerField()
    scope = serializers.ChoiceField(choices=["province", "agency"])
    self_assessed = KindScoreSerializer()
    appraised = KindScoreSerializer()
    final = KindScoreSerializer()


class ScoreSummaryView(APIView):
    """The province's scores (self-assessed, appraised, final) for one framework and period."""

    @extend_schema(
        parameters=[
            OpenApiParameter("framework", str, required=True, description="Framework code"),
            OpenApiParameter("period", int, required=True, description="Reporting period id"),
        ],
        responses=ScoreSummarySerializer,
        summary="Score summary",
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = SummaryQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        framework = selectors.score_framework_get(
            user=request.user, code=query.validated_data["framework"]
        )
        period = selectors.score_period_get(
            user=request.user, framework=framework, period_id=query.validated_data["period"]
        )
        return Response(
            selectors.score_summary(user=request.user, framework=framework, period=period)
        )

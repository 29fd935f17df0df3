"""Agency directory API: ``agencies/?q=`` searches ignoring diacritics (API.md)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from . import selectors
from .models import Agency


class AgencySerializer(serializers.ModelSerializer):
    aliases: Any = serializers.SlugRelatedField(many=True, read_only=True, slug_field="alias")
    parent: Any = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = serializers.CharField(
        read_only=True, help_text="department | commune | party | police | enterprise | other"
    )

    class Meta:
        model = Agency
        fields = ["id", "code", "name", "short_name", "kind", "parent", "is_active", "aliases"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="Danh bạ cơ quan",
        parameters=[
            OpenApiParameter(
                "q",
                str,
                description="Tìm theo tên, tên viết tắt, mã, tên gọi khác (không phân biệt dấu)",
            ),
            OpenApiParameter(
                "kind",
                str,
                description="department | commune | party | police | enterprise | other",
            ),
        ],
    ),
    retrieve=extend_schema(summary="Cơ quan"),
)
class AgencyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AgencySerializer
    filter_backends: list = []

    def get_queryset(self) -> QuerySet[Agency]:
        params = self.request.query_params
        return selectors.agency_search(
            user=self.request.user,  # type: ignore[arg-type]
            q=params.get("q", ""),
            kind=params.get("kind", ""),
        ).prefetch_related("aliases")

    def get_object(self) -> Agency:
        return selectors.agency_get(user=self.request.user, pk=self.kwargs["pk"])  # type: ignore[arg-type]

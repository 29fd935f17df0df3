"""Reporting API: periods, submissions (create/PATCH with version), evidence upload/download.

Serializers only parse and format; every rule lives in the services and the scoped selectors.
State and points fields are read-only here: they change only through the transition actions.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from indicators.models import Framework, Indicator

from .. import selectors, services
from ..models import EvidenceFile, ReportingPeriod, Submission
from ..uploadhandlers import HashingTemporaryFileUploadHandler
from ..views.evidence_files import evidence_file_response

# --- periods ---------------------------------------------------------------------------------


class PeriodSerializer(serializers.ModelSerializer):
    framework = serializers.PrimaryKeyRelatedField(queryset=Framework.objects.all())
    quarter = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=4)
    deadline = serializers.DateField(required=False, allow_null=True)
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]
    is_locked = serializers.SerializerMethodField()

    class Meta:
        model = ReportingPeriod
        fields = ["id", "framework", "year", "quarter", "deadline", "status", "label", "is_locked"]
        read_only_fields = ["id", "status", "label", "is_locked"]

    def get_is_locked(self, obj: ReportingPeriod) -> bool:
        return services.period_is_locked(obj)


class PeriodFilter(django_filters.FilterSet):
    framework = django_filters.NumberFilter(field_name="framework_id")
    year = django_filters.NumberFilter()

    class Meta:
        model = ReportingPeriod
        fields = ["framework", "year", "status"]


@extend_schema_view(
    list=extend_schema(summary="Kỳ báo cáo", responses=PeriodSerializer(many=True)),
    retrieve=extend_schema(summary="Một kỳ báo cáo", responses=PeriodSerializer),
    create=extend_schema(
        summary="Mở kỳ báo cáo (Sở KH&CN)",
        request=PeriodSerializer,
        responses={201: PeriodSerializer, 403: OpenApiResponse(description="Không phải Sở KH&CN")},
    ),
)
class PeriodViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = PeriodSerializer
    filterset_class = PeriodFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.period_list(user=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        period = services.period_create(
            actor=request.user,  # type: ignore[arg-type]
            framework=data["framework"],
            year=data["year"],
            quarter=data.get("quarter"),
            deadline=data.get("deadline"),
            request_id=getattr(request._request, "request_id", ""),
        )
        return Response(self.get_serializer(period).data, status=status.HTTP_201_CREATED)


# --- submissions -----------------------------------------------------------------------------


class SubmissionSerializer(serializers.ModelSerializer):
    indicator_code = serializers.CharField(source="indicator.code", read_only=True)
    agency_name = serializers.CharField(source="agency.name", read_only=True)
    state = serializers.CharField(read_only=True)
    evidence_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Submission
        fields = [
            "id",
            "indicator",
            "indicator_code",
            "agency",
            "agency_name",
            "period",
            "state",
            "is_consolidation",
            "values",
            "note",
            "consolidation_reason",
            "own_values",
            "self_points",
            "appraised_points",
            "final_points",
            "version",
            "submitted_at",
            "created_at",
            "updated_at",
            "evidence_count",
        ]
        read_only_fields = [
            f
            for f in fields
            if f
            not in {
                "indicator",
                "period",
                "values",
                "note",
                "consolidation_reason",
                "own_values",
                "version",
            }
        ]


class SubmissionCreateSerializer(serializers.Serializer):
    indicator = serializers.PrimaryKeyRelatedField(
        queryset=Indicator.objects.filter(level=Indicator.Level.SUB)
    )
    period = serializers.PrimaryKeyRelatedField(queryset=ReportingPeriod.objects.all())
    values = serializers.DictField(child=serializers.JSONField(), required=False, default=dict)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    consolidation_reason = serializers.CharField(required=False, allow_blank=True, default="")
    own_values = serializers.DictField(
        child=serializers.JSONField(),
        required=False,
        default=dict,
        help_text="Lead agency only: its own part of the combinable measures (measure code → "
        "value), combined with the coordinators' contributions into the proposal.",
    )


class SubmissionPatchSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    values = serializers.DictField(child=serializers.JSONField(), required=False)
    note = serializers.CharField(required=False, allow_blank=True)
    consolidation_reason = serializers.CharField(required=False, allow_blank=True)
    own_values = serializers.DictField(child=serializers.JSONField(), required=False)


class SubmissionFilter(django_filters.FilterSet):
    period = django_filters.NumberFilter(field_name="period_id")
    indicator = django_filters.NumberFilter(field_name="indicator_id")
    agency = django_filters.NumberFilter(field_name="agency_id")
    framework = django_filters.NumberFilter(field_name="period__framework_id")
    state = django_filters.ChoiceFilter(choices=Submission.State.choices)

    class Meta:
        model = Submission
        fields = ["period", "indicator", "agency", "framework", "state", "is_consolidation"]


@extend_schema_view(
    list=extend_schema(summary="Báo cáo chỉ số trong phạm vi của người gọi"),
    retrieve=extend_schema(summary="Một báo cáo chỉ số"),
    create=extend_schema(
        summary="Tạo báo cáo (cơ quan của người gọi)",
        request=SubmissionCreateSerializer,
        responses={201: SubmissionSerializer},
    ),
    partial_update=extend_schema(
        summary="Sửa số liệu (kèm version; 409 khi đã cũ)",
        request=SubmissionPatchSerializer,
        responses={200: SubmissionSerializer, 409: OpenApiResponse(description="Phiên bản cũ")},
    ),
)
class SubmissionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SubmissionSerializer
    filterset_class = SubmissionFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):  # type: ignore[no-untyped-def]
        from django.db.models import F

        return selectors.with_evidence_count(
            selectors.submission_list(user=self.request.user)
        ).order_by(
            "period__year",
            F("period__quarter").asc(nulls_last=True),  # the annual round after Q4
            "indicator__sort_key",
            "agency__name",
            "pk",
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ser = SubmissionCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        sub = services.submission_create(
            actor=request.user,  # type: ignore[arg-type]
            indicator=data["indicator"],
            period=data["period"],
            values=data["values"],
            note=data["note"],
            consolidation_reason=data["consolidation_reason"],
            own_values=data["own_values"],
        )
        return Response(
            SubmissionSerializer(self.get_queryset().get(pk=sub.pk)).data,
            status=status.HTTP_201_CREATED,
        )

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        sub = self.get_object()
        ser = SubmissionPatchSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        sub = services.submission_update(
            submission=sub,
            actor=request.user,  # type: ignore[arg-type]
            version=data["version"],
            values=data.get("values"),
            note=data.get("note"),
            consolidation_reason=data.get("consolidation_reason"),
            own_values=data.get("own_values"),
        )
        return Response(SubmissionSerializer(self.get_queryset().get(pk=sub.pk)).data)


# --- evidence --------------------------------------------------------------------------------


class EvidenceSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True, help_text="file | link")
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = EvidenceFile
        fields = [
            "id",
            "submission",
            "kind",
            "original_name",
            "size",
            "sha256",
            "mime_type",
            "url",
            "doc_number",
            "doc_date",
            "issuer",
            "summary",
            "reused_from",
            "uploaded_by",
            "created_at",
            "download_url",
        ]
        read_only_fields = fields

    def get_download_url(self, obj: EvidenceFile) -> str | None:
        from django.urls import reverse

        if obj.kind != EvidenceFile.Kind.FILE:
            return None
        return reverse("api:evidence-download", args=[obj.pk])


class EvidenceUploadSerializer(serializers.Serializer):
    file = serializers.FileField(required=False)
    url = serializers.URLField(required=False, max_length=1000)
    doc_number = serializers.CharField(required=False, allow_blank=True, max_length=100)
    doc_date = serializers.DateField(required=False, allow_null=True)
    issuer = serializers.CharField(required=False, allow_blank=True, max_length=255)
    summary = serializers.CharField(required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("file") and not attrs.get("url"):
            raise serializers.ValidationError({"file": [_("Hãy chọn tệp hoặc nhập đường dẫn.")]})
        return attrs


class StreamingUploadMixin:
    """Multipart bodies stream to a temporary file on disk (never held in memory), hashed on the
    way in."""

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        if request.method == "POST":
            request.upload_handlers = [HashingTemporaryFileUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)  # type: ignore[misc]


class SubmissionEvidenceView(StreamingUploadMixin, APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Tài liệu kiểm chứng của một báo cáo", responses=EvidenceSerializer(many=True)
    )
    def get(self, request: Request, pk: int) -> Response:
        sub = selectors.submission_get(user=request.user, pk=pk)
        qs = selectors.evidence_list(user=request.user).filter(submission=sub)
        from rest_framework.pagination import PageNumberPagination

        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return paginator.get_paginated_response(EvidenceSerializer(page, many=True).data)

    @extend_schema(
        summary="Tải lên tài liệu kiểm chứng (multipart) hoặc thêm đường dẫn",
        request={"multipart/form-data": EvidenceUploadSerializer},
        responses={
            201: EvidenceSerializer,
            400: OpenApiResponse(description="Tệp bị từ chối (lý do bằng tiếng Việt)"),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        sub = selectors.submission_get(user=request.user, pk=pk, related=False)
        ser = EvidenceUploadSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        request_id = getattr(request._request, "request_id", "")
        upload = data.pop("file", None)
        url = data.pop("url", None)
        if upload is not None:
            ev = services.evidence_add_file(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                upload=upload,
                request_id=request_id,
                **data,
            )
        else:
            ev = services.evidence_add_link(
                submission=sub,
                actor=request.user,  # type: ignore[arg-type]
                url=url or "",
                request_id=request_id,
                **data,
            )
        return Response(EvidenceSerializer(ev).data, status=status.HTTP_201_CREATED)


class EvidenceDownloadView(APIView):
    @extend_schema(
        summary="Tải tài liệu kiểm chứng (tên gốc; ?inline=1 để xem PDF/ảnh)",
        parameters=[OpenApiParameter("inline", bool, required=False)],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(description="Nội dung tệp"),
            404: OpenApiResponse(description="Ngoài phạm vi"),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        ev = selectors.evidence_get(user=request.user, pk=pk)
        return evidence_file_response(request._request, ev, actor=request.user)

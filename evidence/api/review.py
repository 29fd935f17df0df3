"""Review API: ``submissions/{id}/submit|start-review|approve|return|reopen|final/`` and
``submissions/{id}/history/``.

Serializers only parse and format; the transition services decide (403 role, 409 state or stale
``version``, 400 input). The submission is looked up in the caller's scope first (404 outside).
``version`` is optional in every action body; when given, a stale one is refused with 409.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from agencies.models import User

from ..history import submission_history
from ..models import Submission
from ..selectors import submission_get
from ..services import (
    ReturnReason,
    audit_context,
    submission_approve,
    submission_reopen,
    submission_return,
    submission_set_final,
    submission_start_review,
    submission_submit,
)

ERRORS = {
    400: OpenApiResponse(description="Dữ liệu không hợp lệ (lỗi theo trường)."),
    403: OpenApiResponse(description="Vai trò của bạn không được thực hiện thao tác này."),
    404: OpenApiResponse(description="Không tìm thấy (ngoài phạm vi của bạn)."),
    409: OpenApiResponse(description="Sai trạng thái, hoặc phiên bản đã cũ."),
}


class SubmissionStateSerializer(serializers.ModelSerializer):
    """The submission after a transition."""

    class Meta:
        model = Submission
        fields = [
            "id",
            "state",
            "version",
            "self_points",
            "appraised_points",
            "appraisal_reason",
            "final_points",
            "final_reason",
            "submitted_at",
            "reviewed_at",
        ]
        read_only_fields = fields


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="Phiên bản người dùng đã xem."
    )


@extend_schema_field(
    {
        "oneOf": [{"type": "number"}, {"type": "string"}],
        "description": 'Điểm: số JSON, hoặc chuỗi như trên giao diện ("7,5").',
    }
)
class PointsField(serializers.Field):
    """Points as a JSON number or a string, passed as they are to the service, which reads them
    with ``parse_number`` like the review and council pages ("7,5" is 7.5; exponents, more than
    6 decimals and unreadable text refused on the field). A DecimalField would read them its own
    way (refusing "7,5", taking "1e1")."""

    default_error_messages = {"invalid": _("Điểm phải là một số.")}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        return data

    def to_representation(self, value: Any) -> str:
        return str(value)


class ApproveSerializer(VersionSerializer):
    appraised_points = PointsField(required=False, allow_null=True)
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class ReturnSerializer(VersionSerializer):
    reason_code = serializers.ChoiceField(
        choices=ReturnReason.choices, required=False, default=ReturnReason.OTHER
    )
    reason = serializers.CharField()


class ReopenSerializer(VersionSerializer):
    reason = serializers.CharField()
    reason_code = serializers.ChoiceField(
        choices=ReturnReason.choices, required=False, allow_blank=True, default=""
    )


class FinalSerializer(VersionSerializer):
    final_points = PointsField()
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class _ActionView(GenericAPIView):
    """POST an action on a submission in the caller's scope."""

    serializer_class: Any = VersionSerializer
    queryset = Submission.objects.none()  # the scoped lookup is submission_get
    pagination_class = None
    filter_backends: list[Any] = []

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        submission = submission_get(user=request.user, pk=pk)
        ser = self.get_serializer(data=request.data)
        ser.is_valid(raise_exception=True)
        with audit_context(request):
            result = self.act(submission, dict(ser.validated_data))
        return Response(SubmissionStateSerializer(result).data)


@extend_schema(
    tags=["review"],
    summary="Gửi báo cáo (cơ quan phối hợp → chủ trì; cơ quan chủ trì → Sở KH&CN)",
    request=VersionSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class SubmitView(_ActionView):
    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_submit(
            submission=submission, actor=self.actor, version=data.get("version")
        )


@extend_schema(
    tags=["review"],
    summary="Bắt đầu thẩm định",
    request=VersionSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class StartReviewView(_ActionView):
    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_start_review(
            submission=submission, actor=self.actor, version=data.get("version")
        )


@extend_schema(
    tags=["review"],
    summary="Duyệt, với điểm thẩm định (mặc định bằng điểm tự chấm)",
    request=ApproveSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class ApproveView(_ActionView):
    serializer_class = ApproveSerializer

    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_approve(
            submission=submission,
            actor=self.actor,
            version=data.get("version"),
            appraised_points=data.get("appraised_points"),
            reason=data.get("reason", ""),
        )


@extend_schema(
    tags=["review"],
    summary="Trả lại để giải trình, bổ sung (lý do bắt buộc)",
    request=ReturnSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class ReturnView(_ActionView):
    serializer_class = ReturnSerializer

    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_return(
            submission=submission,
            actor=self.actor,
            version=data.get("version"),
            reason_code=data["reason_code"],
            reason=data["reason"],
        )


@extend_schema(
    tags=["review"],
    summary="Mở lại một báo cáo đã duyệt (Sở KH&CN, lý do bắt buộc)",
    request=ReopenSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class ReopenView(_ActionView):
    serializer_class = ReopenSerializer

    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_reopen(
            submission=submission,
            actor=self.actor,
            version=data.get("version"),
            reason=data["reason"],
            reason_code=data.get("reason_code", ""),
        )


@extend_schema(
    tags=["review"],
    summary="Hội đồng thẩm định chốt điểm cuối cùng",
    request=FinalSerializer,
    responses={200: SubmissionStateSerializer, **ERRORS},
)
class FinalView(_ActionView):
    serializer_class = FinalSerializer

    def act(self, submission: Submission, data: dict[str, Any]) -> Submission:
        return submission_set_final(
            submission=submission,
            actor=self.actor,
            version=data.get("version"),
            final_points=data["final_points"],
            reason=data.get("reason", ""),
        )


class HistoryEvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="The evidence row (gone once removed)")
    kind = serializers.ChoiceField(choices=["file", "link"])
    name = serializers.CharField(help_text="The original file name, or the link's URL")
    reused_from = serializers.CharField(
        allow_null=True, help_text="The item a reused file came from: '1.1 · Quý 4/2025'"
    )


class HistoryEntrySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["transition", "change", "evidence"])
    at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    actor_role = serializers.CharField(allow_blank=True)
    actor_agency = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    action_label = serializers.CharField()
    from_state = serializers.CharField(source="from_", allow_blank=True)
    to_state = serializers.CharField(source="to", allow_blank=True)
    reason_code = serializers.CharField(allow_blank=True)
    reason = serializers.CharField(allow_blank=True)
    data = serializers.DictField()  # type: ignore[assignment]
    changes = serializers.ListField(child=serializers.DictField())
    request_id = serializers.CharField(allow_blank=True)
    evidence = HistoryEvidenceSerializer(
        allow_null=True, help_text="Evidence events (kind 'evidence'): the file or link"
    )


@extend_schema(
    tags=["review"],
    summary=(
        "Lịch sử: mọi lần chuyển trạng thái, thay đổi và thao tác với tài liệu kiểm chứng"
        " (ai, lúc nào, từ, sang, lý do)"
    ),
    responses={200: HistoryEntrySerializer(many=True), 404: ERRORS[404]},
)
class HistoryView(GenericAPIView):
    serializer_class = HistoryEntrySerializer
    queryset = Submission.objects.none()
    filter_backends: list[Any] = []

    def get(self, request: Request, pk: int) -> Response:
        submission = submission_get(user=request.user, pk=pk)
        entries = submission_history(submission=submission)
        page = self.paginate_queryset(entries)  # type: ignore[arg-type]
        if page is not None:
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        return Response(self.get_serializer(entries, many=True).data)

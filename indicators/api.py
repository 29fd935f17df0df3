"""Framework API: list/detail with the tree (API.md), import and publish for reviewers/admins."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from dti_portal.errors import NotAllowed

from . import selectors, services
from .models import Framework, Indicator


class AgencyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()


class MeasureSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    kind = serializers.CharField()
    unit = serializers.CharField()
    required = serializers.BooleanField()  # type: ignore[assignment]
    choices = serializers.JSONField()


class SubIndicatorSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    max_points = serializers.DecimalField(max_digits=9, decimal_places=2)
    scoring_method = serializers.CharField()
    scoring_rule = serializers.JSONField()
    measures = MeasureSerializer(many=True)
    lead_agency = AgencyRefSerializer(allow_null=True)
    coordinating_agencies = AgencyRefSerializer(many=True)
    coordinating_groups = AgencyRefSerializer(many=True)
    is_ministry_measured = serializers.BooleanField()
    evidence_guidance = serializers.CharField()
    criteria = serializers.ListField(child=serializers.DictField())


class MainIndexSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    max_points = serializers.DecimalField(max_digits=9, decimal_places=2)
    group = serializers.CharField(allow_null=True)
    sub_indicators = SubIndicatorSerializer(many=True)


class FrameworkSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="draft | published | archived")
    unit_type = serializers.CharField(read_only=True, help_text="province | department | commune")

    class Meta:
        model = Framework
        fields = [
            "id",
            "code",
            "name",
            "year",
            "decision",
            "unit_type",
            "total_points",
            "status",
            "published_at",
            "previous_version",
        ]
        read_only_fields = fields


class FrameworkDetailSerializer(FrameworkSerializer):
    tree = serializers.SerializerMethodField()

    class Meta(FrameworkSerializer.Meta):
        fields = [*FrameworkSerializer.Meta.fields, "tree"]
        read_only_fields = fields

    @extend_schema_field(MainIndexSerializer(many=True))
    def get_tree(self, obj: Framework) -> list[dict[str, Any]]:
        return framework_tree_data(obj)


def _ref(obj: Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "code": obj.code, "name": obj.name}


def _sub(node: selectors.TreeNode, members: dict[int, list[Any]]) -> dict[str, Any]:
    """A sub-indicator. ``coordinating_agencies``: every agency that reports on it besides the
    lead, i.e. the named ones plus the members of its coordinating groups (``members``: group
    id → member agencies); ``coordinating_groups`` says which groups they came from."""
    ind: Indicator = node.indicator
    coordinating = {a.pk: a for a in ind.coordinating_agencies.all()}
    for g in ind.coordinating_groups.all():
        for a in members.get(g.pk, []):
            coordinating.setdefault(a.pk, a)
    coordinating.pop(ind.lead_agency_id or 0, None)
    return {
        "id": ind.pk,
        "code": ind.code,
        "name": ind.name,
        "max_points": str(ind.max_points),
        "scoring_method": ind.scoring_method,
        "scoring_rule": ind.scoring_rule,
        "measures": [
            {
                "code": m.code,
                "label": m.label,
                "kind": m.kind,
                "unit": m.unit,
                "required": m.required,
                "choices": m.choices,
            }
            for m in ind.measures.all()
        ],
        "lead_agency": _ref(ind.lead_agency),
        "coordinating_agencies": [
            _ref(a) for a in sorted(coordinating.values(), key=lambda a: a.name)
        ],
        "coordinating_groups": [_ref(g) for g in ind.coordinating_groups.all()],
        "is_ministry_measured": ind.is_ministry_measured,
        "evidence_guidance": ind.evidence_guidance,
        "criteria": [
            {
                "id": c.indicator.pk,
                "code": c.indicator.code,
                "name": c.indicator.name,
                "max_points": str(c.indicator.max_points),
            }
            for c in node.children
        ],
    }


def framework_tree_data(framework: Framework) -> list[dict[str, Any]]:
    """API.md's tree: main indices (groups flattened, each keeps its group code) with their
    sub-indicators."""
    roots = selectors.framework_tree(framework=framework)
    members = selectors.group_members()
    group_of = {
        c.indicator.pk: r.indicator.code
        for r in roots
        if r.indicator.level == Indicator.Level.GROUP
        for c in r.children
    }
    return [
        {
            "id": m.indicator.pk,
            "code": m.indicator.code,
            "name": m.indicator.name,
            "max_points": str(m.indicator.max_points),
            "group": group_of.get(m.indicator.pk),
            "sub_indicators": [_sub(s, members) for s in m.children],
        }
        for m in selectors.main_indices(roots)
    ]


class FrameworkFilter(filters.FilterSet):
    code = filters.CharFilter(field_name="code")
    status = filters.CharFilter(field_name="status", help_text="draft | published | archived")
    year = filters.NumberFilter()

    class Meta:
        model = Framework
        fields = ["code", "status", "year"]


class ImportRequestSerializer(serializers.Serializer):
    file = serializers.FileField()
    code = serializers.SlugField(max_length=50)
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    name = serializers.CharField(required=False, allow_blank=True, default="")
    unit_type = serializers.ChoiceField(
        choices=Framework.UnitType.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text="province | department | commune (mặc định: theo tệp, nếu không thì province)",
    )
    dry_run = serializers.BooleanField(required=False, default=False)
    create_unknown_agencies = serializers.BooleanField(required=False, default=False)
    agency_mapping = serializers.JSONField(
        required=False,
        binary=True,
        default=dict,
        help_text='{"<tên trong tệp>": "<id cơ quan>" | "create" | "create:<loại>"}',
    )

    def validate_agency_mapping(self, value: Any) -> dict[str, str]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) for k, v in value.items()
        ):
            raise serializers.ValidationError(
                _("Phải là một đối tượng JSON tên → id hoặc “create”.")
            )
        return {k: str(v) for k, v in value.items()}


class ImportReportSerializer(serializers.Serializer):
    layout = serializers.CharField()
    code = serializers.CharField()
    name = serializers.CharField()
    unit_type = serializers.CharField()
    total_points = serializers.CharField()
    main_indices = serializers.ListField(child=serializers.DictField())
    sub_count = serializers.IntegerField()
    scored_sub_count = serializers.IntegerField()
    agencies_matched = serializers.ListField(child=serializers.CharField())
    unknown_agencies = serializers.ListField(child=serializers.DictField())
    created_agencies = serializers.ListField(child=serializers.CharField())
    errors = serializers.ListField(child=serializers.CharField())  # type: ignore[assignment]
    dry_run = serializers.BooleanField()
    framework_id = serializers.IntegerField(allow_null=True)


@extend_schema_view(
    list=extend_schema(
        summary="Bộ chỉ số",
        parameters=[OpenApiParameter("code", str, description="Mã bộ chỉ số")],
    ),
    retrieve=extend_schema(summary="Bộ chỉ số và cây chỉ số"),
)
class FrameworkViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Frameworks visible to the caller (agency staff and leaders: published and archived)."""

    filterset_class = FrameworkFilter

    def get_queryset(self) -> QuerySet[Framework]:
        return selectors.framework_list(user=self.request.user)  # type: ignore[arg-type]

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "retrieve":
            return FrameworkDetailSerializer
        return FrameworkSerializer

    def get_object(self) -> Framework:
        return selectors.framework_get(user=self.request.user, pk=self.kwargs["pk"])  # type: ignore[arg-type]

    @extend_schema(request=None, responses=FrameworkSerializer, summary="Ban hành bộ chỉ số")
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str | None = None) -> Response:
        if not request.user.is_reviewer:  # type: ignore[union-attr]
            raise NotAllowed(_("Chỉ Sở KH&CN hoặc quản trị viên được ban hành bộ chỉ số."))
        fw = services.framework_publish(
            actor=request.user,  # type: ignore[arg-type]
            framework=self.get_object(),
            request_id=getattr(request, "request_id", ""),
        )
        return Response(FrameworkSerializer(fw).data)

    @extend_schema(
        request={"multipart/form-data": ImportRequestSerializer},
        responses={
            201: ImportReportSerializer,
            200: ImportReportSerializer,
            400: ImportReportSerializer,
        },
        summary="Nhập bộ chỉ số từ tệp .xlsx",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        if not request.user.is_reviewer:  # type: ignore[union-attr]
            raise NotAllowed(_("Chỉ Sở KH&CN hoặc quản trị viên được nhập bộ chỉ số."))
        ser = ImportRequestSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        upload = data["file"]
        try:
            report = services.framework_import(
                actor=request.user,  # type: ignore[arg-type]
                data=upload.read(),
                code=data["code"],
                year=data["year"],
                name=data["name"],
                unit_type=data["unit_type"],
                file_name=upload.name,
                dry_run=data["dry_run"],
                create_unknown_agencies=data["create_unknown_agencies"],
                agency_mapping=data["agency_mapping"],
                request_id=getattr(request, "request_id", ""),
            )
        except services.ImportFailed as exc:
            return Response(exc.report.as_dict(), status=status.HTTP_400_BAD_REQUEST)
        code = status.HTTP_200_OK if report.dry_run else status.HTTP_201_CREATED
        return Response(report.as_dict(), status=code)

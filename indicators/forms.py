"""Forms of the framework pages (parse input only; the services decide)."""

from __future__ import annotations

import datetime
import json
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.models import Agency, AgencyGroup

from .models import Framework, Indicator


class FrameworkImportForm(forms.Form):
    file = forms.FileField(
        label=_("Tệp Excel (.xlsx)"),
        help_text=_(
            "Phụ lục phân công theo mẫu của tỉnh, hoặc tệp mẫu của cổng (xuất từ một bộ chỉ số)."
        ),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )
    code = forms.SlugField(
        label=_("Mã bộ chỉ số"), max_length=50, help_text=_("Ví dụ: dti-2025-tinh")
    )
    year = forms.IntegerField(label=_("Năm"), min_value=2000, max_value=2100)
    name = forms.CharField(label=_("Tên bộ chỉ số"), required=False, max_length=255)
    unit_type = forms.ChoiceField(
        label=_("Đối tượng đánh giá"),
        choices=Framework.UnitType.choices,
        initial=Framework._meta.get_field("unit_type").default,
        # Left out (an API-style post), the file's own metadata or the model default applies.
        required=False,
        help_text=_(
            "Cấp tỉnh, cấp sở, ban, ngành hoặc cấp xã: xu hướng qua các phiên bản chỉ nối các bộ "
            "chỉ số cùng đối tượng."
        ),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"]
        if Framework.objects.filter(code=code).exists():
            raise forms.ValidationError(
                _("Mã này đã được dùng cho một bộ chỉ số khác; hãy chọn mã khác.")
            )
        return code


class CrosswalkForm(forms.Form):
    source_code = forms.ChoiceField(label=_("Mã ở phiên bản bên trái"))
    target_code = forms.ChoiceField(label=_("Mã ở phiên bản bên phải"))
    note = forms.CharField(label=_("Ghi chú"), required=False, max_length=255)

    def __init__(self, *args: Any, left: Framework, right: Framework, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

        def choices(fw: Framework) -> list[tuple[str, str]]:
            return [
                (c, f"{c}. {n[:60]}")
                for c, n in Indicator.objects.filter(framework=fw)
                .order_by("sort_key")
                .values_list("code", "name")
            ]

        self.fields["source_code"].choices = choices(left)  # type: ignore[attr-defined]
        self.fields["target_code"].choices = choices(right)  # type: ignore[attr-defined]


class IndicatorEditForm(forms.Form):
    name = forms.CharField(label=_("Tên"), widget=forms.Textarea(attrs={"rows": 2}))
    max_points = forms.DecimalField(
        label=_("Điểm tối đa"), min_value=0, max_digits=9, decimal_places=2
    )
    scoring_method = forms.CharField(
        label=_("Phương pháp tính điểm (nguyên văn)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    evidence_guidance = forms.CharField(
        label=_("Hướng dẫn tài liệu kiểm chứng"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    is_ministry_measured = forms.BooleanField(label=_("Bộ KH&CN tự đo"), required=False)
    lead_agency = forms.ModelChoiceField(
        label=_("Cơ quan chủ trì"), queryset=Agency.objects.filter(is_active=True), required=False
    )
    coordinating_agencies = forms.ModelMultipleChoiceField(
        label=_("Cơ quan phối hợp"), queryset=Agency.objects.filter(is_active=True), required=False
    )
    coordinating_groups = forms.ModelMultipleChoiceField(
        label=_("Nhóm phối hợp"), queryset=AgencyGroup.objects.all(), required=False
    )
    measures = forms.CharField(
        label=_("Số liệu báo cáo (JSON)"),
        required=False,
        help_text=_('Danh sách {"code", "label", "kind", "unit", "required", "choices"}.'),
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    scoring_rule = forms.CharField(
        label=_("Quy tắc tính điểm (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    # When the node was loaded (its ``updated_at``, ISO with microseconds): a save made on a
    # page older than the node is refused by the service. Left out (an older page): no check.
    seen_updated_at = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, instance_indicator: Indicator, **kwargs: Any) -> None:
        ind = instance_indicator
        kwargs.setdefault(
            "initial",
            {
                "seen_updated_at": ind.updated_at.isoformat(),
                "name": ind.name,
                "max_points": ind.max_points,
                "scoring_method": ind.scoring_method,
                "evidence_guidance": ind.evidence_guidance,
                "is_ministry_measured": ind.is_ministry_measured,
                "lead_agency": ind.lead_agency_id,
                "coordinating_agencies": list(
                    ind.coordinating_agencies.values_list("pk", flat=True)
                ),
                "coordinating_groups": list(ind.coordinating_groups.values_list("pk", flat=True)),
                "measures": json.dumps(
                    [
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
                    ensure_ascii=False,
                    indent=1,
                ),
                "scoring_rule": json.dumps(ind.scoring_rule, ensure_ascii=False, indent=1)
                if ind.scoring_rule
                else "",
            },
        )
        super().__init__(*args, **kwargs)
        if ind.level != Indicator.Level.SUB:
            del self.fields["scoring_rule"]
            del self.fields["measures"]

    def clean_seen_updated_at(self) -> datetime.datetime | None:
        text = (self.cleaned_data.get("seen_updated_at") or "").strip()
        if not text:
            return None
        try:
            seen = datetime.datetime.fromisoformat(text)
        except ValueError as exc:
            raise forms.ValidationError(_("Hãy tải lại trang rồi sửa lại.")) from exc
        return seen if timezone.is_aware(seen) else None

    def clean_measures(self) -> list[dict[str, Any]] | None:
        text = (self.cleaned_data.get("measures") or "").strip()
        if not text:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Không phải JSON hợp lệ.")) from exc
        if not isinstance(data, list):
            raise forms.ValidationError(_("Phải là một danh sách JSON."))
        return data

    def clean_scoring_rule(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("scoring_rule") or "").strip()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Không phải JSON hợp lệ.")) from exc
        if not isinstance(data, dict):
            raise forms.ValidationError(_("Quy tắc phải là một đối tượng JSON."))
        return data

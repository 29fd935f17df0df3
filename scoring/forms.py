"""scoring forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from indicators.models import Framework

#: A national table has one row per province (34 since 2025, 63 before): a few kilobytes.
NATIONAL_MAX_BYTES = 2 * 1024 * 1024


class NationalImportForm(forms.Form):
    """The published national table: framework, year, file (.csv or .xlsx)."""

    framework = forms.ModelChoiceField(
        label=_("Bộ chỉ số"),
        queryset=Framework.objects.none(),
        to_field_name="code",
        empty_label=None,
    )
    year = forms.IntegerField(label=_("Năm công bố"), min_value=2018, max_value=2100)
    file = forms.FileField(
        label=_("Tệp kết quả (.csv hoặc .xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["framework"]
        # Published or archived: a year's table belongs to the framework of that year.
        field.queryset = Framework.objects.exclude(  # type: ignore[attr-defined]
            status=Framework.Status.DRAFT
        ).order_by("-year", "code")
        self.fields["year"].initial = timezone.localdate().year - 1

    def clean_year(self) -> int:
        year = int(self.cleaned_data["year"])
        if year > timezone.localdate().year:
            raise forms.ValidationError(_("Năm công bố không được sau năm hiện tại."))
        return year

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > NATIONAL_MAX_BYTES:
            raise forms.ValidationError(
                _("Tệp quá lớn (tối đa %(mb)s MB).") % {"mb": NATIONAL_MAX_BYTES // (1024 * 1024)}
            )
        if not upload.name.lower().endswith((".csv", ".xlsx")):
            raise forms.ValidationError(_("Chỉ nhận tệp .csv hoặc .xlsx."))
        return upload

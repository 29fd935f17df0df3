"""Forms of the agencies pages (parse input only; the services decide)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from .models import Agency, User

# An accounts or directory file is a few hundred rows (a province has ~200 agencies and a few
# hundred accounts); the upload waits in the session between preview and confirm, so it is kept
# small (the spreadsheet reader's own limit, 10 MB, is meant for the framework appendix).
IMPORT_MAX_BYTES = 1024 * 1024
IMPORT_EXTENSIONS = (".xlsx", ".csv")


class TableUploadForm(forms.Form):
    """One .xlsx or .csv table (accounts or the agency directory)."""

    file = forms.FileField(
        label=_("Tệp .xlsx hoặc .csv (UTF-8)"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".xlsx,.csv,application/vnd.openxmlformats-officedocument"
                ".spreadsheetml.sheet,text/csv"
            }
        ),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        name = (upload.name or "").lower()
        if not name.endswith(IMPORT_EXTENSIONS):
            raise forms.ValidationError(_("Chỉ nhận tệp .csv hoặc .xlsx."))
        if (upload.size or 0) > IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("Tệp quá lớn (tối đa %(mb)s MB).") % {"mb": IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload


class AccountFilterForm(forms.Form):
    """Filters of the accounts list; an unknown value is ignored, never an error page."""

    agency = forms.ModelChoiceField(
        label=_("Cơ quan"),
        queryset=Agency.objects.order_by("name").only("id", "name"),
        required=False,
        empty_label=_("Tất cả"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    role = forms.ChoiceField(
        label=_("Vai trò"), required=False, widget=forms.Select(attrs={"class": "form-select"})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("Tất cả")), *User.Role.choices]  # type: ignore[attr-defined]

    def filters(self) -> dict[str, Any]:
        """The valid filters only (a stale link with a removed agency shows every account)."""
        self.is_valid()
        return {name: self.cleaned_data.get(name) for name in ("agency", "role")}

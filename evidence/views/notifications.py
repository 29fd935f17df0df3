"""The in-app inbox of notifications, marking them read, and the email preference."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import selectors
from ..services import notification_mark_read, user_set_email_notifications


@require_GET
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first (``?unread=1``: unread only)."""
    unread_only = request.GET.get("unread") == "1"
    qs = selectors.notification_list(user=request.user, unread_only=unread_only).select_related(
        "submission__indicator", "submission__period"
    )
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "evidence/review/notifications.html",
        {"page": page, "unread_only": unread_only},
    )


@require_POST
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Marks one of the user's notifications read and follows its (internal) link."""
    note = selectors.notification_get(user=request.user, pk=pk)
    notification_mark_read(user=request.user, notification_ids=[note.pk])  # type: ignore[arg-type]
    if note.link and url_has_allowed_host_and_scheme(note.link, allowed_hosts=None):
        return HttpResponseRedirect(note.link)
    return redirect("evidence:notifications")


@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    n = notification_mark_read(user=request.user)  # type: ignore[arg-type]
    messages.info(request, _("Đã đánh dấu %(n)s thông báo là đã đọc.") % {"n": n})
    return redirect("evidence:notifications")


class EmailPreferenceForm(forms.Form):
    email_notifications = forms.BooleanField(
        label=gettext_lazy("Nhận thông báo và thư nhắc hạn qua email"), required=False
    )


@require_http_methods(["GET", "POST"])
def notification_settings(request: HttpRequest) -> HttpResponse:
    """The user's choice: notification and reminder emails on or off (in-app always on)."""
    user = request.user
    if request.method == "POST":
        form = EmailPreferenceForm(request.POST)
        if form.is_valid():
            user_set_email_notifications(
                user=user,  # type: ignore[arg-type]
                enabled=form.cleaned_data["email_notifications"],
            )
            messages.success(request, _("Đã lưu lựa chọn nhận email."))
            return redirect(reverse("evidence:notification_settings"))
    else:
        form = EmailPreferenceForm(
            initial={"email_notifications": user.email_notifications}  # type: ignore[union-attr]
        )
    return render(request, "evidence/review/notification_settings.html", {"form": form})

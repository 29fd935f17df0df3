"""Reads on agencies and accounts.

The agency directory is public inside the portal (every signed-in user may look up who is who);
accounts are visible to reviewers and admins only.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from dti_portal.errors import NotFound

from .models import Agency, AgencyAlias, AgencyGroup, User
from .text import search_words


def agency_search(
    *, user: User, q: str = "", kind: str = "", active_only: bool = True
) -> QuerySet[Agency]:
    """Agencies whose name, short name, code or an alias contains every word of ``q``, ignoring
    case and diacritics ("so khoa hoc" finds "Sở Khoa học và Công nghệ"). Uses the stored,
    normalised ``search_text``, so the filtering runs in the database."""
    qs = Agency.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    if kind:
        qs = qs.filter(kind=kind)
    words = search_words(q)
    if words:
        qs = qs.filter(*[Q(search_text__contains=word) for word in words])
    return qs.order_by("name")


def agency_get(*, user: User, pk: int | str) -> Agency:
    try:
        return Agency.objects.prefetch_related(
            Prefetch("aliases", queryset=AgencyAlias.objects.order_by("alias"))
        ).get(pk=pk)
    except (Agency.DoesNotExist, ValueError) as exc:
        raise NotFound(_("Không tìm thấy cơ quan.")) from exc


def group_list(*, user: User) -> QuerySet[AgencyGroup]:
    return AgencyGroup.objects.prefetch_related("members", "aliases").order_by("name")


def account_list(*, user: User) -> QuerySet[User]:
    """Every account with its agency (reviewers and admins only; others see nothing)."""
    if not (user.is_authenticated and user.is_reviewer):
        return User.objects.none()
    return User.objects.select_related("agency").order_by("agency__name", "username")


def account_search(*, user: User, agency: Agency | None = None, role: str = "") -> QuerySet[User]:
    """The accounts page: ``account_list`` narrowed to one agency and/or one role (an unknown
    role matches nothing). The agency comes joined, so a page of rows is one query."""
    qs = account_list(user=user)
    if agency is not None:
        qs = qs.filter(agency=agency)
    if role:
        qs = qs.filter(role=role)
    return qs


def agency_user_counts() -> dict[int, int]:
    rows = Agency.objects.annotate(n=Count("users", filter=Q(users__is_active=True))).values_list(
        "id", "n"
    )
    return dict(rows)


@dataclass(frozen=True)
class MfaStatus:
    """What the account page says about the user's MFA: a confirmed TOTP device, and how many
    unused backup codes are left (never the codes themselves)."""

    enrolled: bool
    backup_codes_left: int


def mfa_status(*, user: User) -> MfaStatus:
    from django_otp.plugins.otp_static.models import StaticToken
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return MfaStatus(
        enrolled=TOTPDevice.objects.filter(user=user, confirmed=True).exists(),
        backup_codes_left=StaticToken.objects.filter(
            device__user=user, device__confirmed=True
        ).count(),
    )

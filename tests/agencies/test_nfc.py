"""Vietnamese text is stored in one Unicode form (NFC) whatever its source: a file written on
macOS or typed with Unikey's "tổ hợp" mode carries decomposed (NFD) letters, which must neither
be stored as such nor slip past a uniqueness check as a different name."""

from __future__ import annotations

import io
import unicodedata

import pytest
from django.urls import reverse
from openpyxl import Workbook

from agencies.accounts_io import read_account_rows
from agencies.directory import agency_directory_import, read_directory_rows
from agencies.models import Agency, AgencyAlias, AgencyGroup, AuditEvent, User
from agencies.services import accounts_import, agency_alias_add, agency_create
from agencies.text import to_nfc
from dti_portal.errors import ValidationFailed
from tests.factories import AgencyFactory, UserFactory
from tests.nfc import nfd, run_data_migration

pytestmark = pytest.mark.django_db

NAME = "Sở Tài chính"


def is_nfc(text: str) -> bool:
    return unicodedata.is_normalized("NFC", text)


def test_nfd_really_differs_from_nfc():
    """The premise: the two forms look alike but are different strings."""
    assert nfd(NAME) != NAME and is_nfc(NAME) and not is_nfc(nfd(NAME))


def test_to_nfc_walks_json_values_and_leaves_other_values():
    value = {nfd("Mức"): [nfd("Đạt"), 1, None, (nfd("ở"),)], "n": 2.5}
    assert to_nfc(value) == {"Mức": ["Đạt", 1, None, ("ở",)], "n": 2.5}
    assert to_nfc(None) is None and to_nfc(3) == 3


def test_a_model_saved_with_nfd_text_stores_nfc():
    """Whatever path reaches ``save`` (a view reading POST, a service, the admin)."""
    agency = Agency.objects.create(code="so-tc", name=nfd(NAME), short_name=nfd("Sở TC"))
    user = UserFactory(username="ke.toan", full_name=nfd("Nguyễn Thị Hường"), agency=agency)
    agency.refresh_from_db()
    user.refresh_from_db()
    assert agency.name == NAME and agency.short_name == "Sở TC"
    assert user.full_name == "Nguyễn Thị Hường"


# --- imports ------------------------------------------------------------------------------------


def _xlsx(rows: list[list[str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("filename", ["co_quan.csv", "co_quan.xlsx"])
def test_directory_import_of_an_nfd_file_stores_nfc(filename):
    rows = [
        ["type", "code", "name", "short_name", "kind", "aliases", "members"],
        ["agency", "so-tc", nfd(NAME), nfd("Sở TC"), "department", nfd("Sở Tài chánh"), ""],
        ["group", "cac-so", nfd("Các sở, ban, ngành"), "", "department", nfd("Sở ngành"), ""],
    ]
    if filename.endswith(".csv"):
        data = "\n".join(",".join(f'"{c}"' for c in r) for r in rows).encode()
    else:
        data = _xlsx(rows)
    result = agency_directory_import(actor=None, rows=read_directory_rows(data, filename))
    assert result.ok, result.errors
    agency = Agency.objects.get(code="so-tc")
    assert (agency.name, agency.short_name) == (NAME, "Sở TC")
    assert AgencyAlias.objects.get().alias == "Sở Tài chánh"
    group = AgencyGroup.objects.get(code="cac-so")
    assert group.name == "Các sở, ban, ngành"
    assert group.aliases.get().alias == "Sở ngành"


@pytest.mark.parametrize("filename", ["tai_khoan.csv", "tai_khoan.xlsx"])
def test_account_import_of_an_nfd_file_stores_nfc(filename):
    AgencyFactory(code="so-tc", name=NAME)
    rows = [
        ["username", "full_name", "email", "agency", "role", "password"],
        [
            nfd("hường.nt"),
            nfd("Nguyễn Thị Hường"),
            "h@example.gov.vn",
            nfd(NAME),
            "agency_staff",
            "Mật-khẩu-123!",
        ],
    ]
    if filename.endswith(".csv"):
        data = "\n".join(",".join(rows_) for rows_ in rows).encode()
    else:
        data = _xlsx(rows)
    result = accounts_import(actor=None, rows=read_account_rows(data, filename))
    assert result.ok, result.errors
    user = User.objects.get()
    assert user.username == "hường.nt" and user.full_name == "Nguyễn Thị Hường"
    assert user.agency.code == "so-tc"


def test_an_imported_password_is_kept_as_typed():
    """A password is a secret, not a name: checked byte for byte, never rewritten."""
    AgencyFactory(code="so-tc", name=NAME)
    password = nfd("Mật-khẩu-123!")
    data = (
        "username,full_name,email,agency,role,password\n"
        f"tc1,A,a@example.gov.vn,so-tc,agency_staff,{password}\n"
    ).encode()
    rows = read_account_rows(data, "tai_khoan.csv")
    assert rows[0]["password"] == password
    assert accounts_import(actor=None, rows=rows).ok
    assert User.objects.get(username="tc1").check_password(password)


# --- uniqueness ---------------------------------------------------------------------------------


def test_nfd_duplicate_of_an_agency_name_is_refused():
    AgencyFactory(code="so-tc", name=NAME)
    with pytest.raises(ValidationFailed):
        agency_create(actor=None, name=nfd(NAME))
    rows = read_directory_rows(
        (
            "type,code,name,short_name,kind,aliases,members\n"
            f"agency,so-tc-2,{nfd(NAME)},,department,,\n"
        ).encode(),
        "co_quan.csv",
    )
    result = agency_directory_import(actor=None, rows=rows)
    assert not result.ok and "so-tc" in " ".join(result.errors)
    assert Agency.objects.count() == 1


def test_nfd_username_of_an_existing_account_updates_it():
    agency = AgencyFactory(code="so-tc", name=NAME)
    UserFactory(username="hường.nt", agency=agency, full_name="Cũ")
    data = (
        "username,full_name,email,agency,role,password\n"
        f"{nfd('hường.nt')},{nfd('Mới')},,so-tc,agency_staff,\n"
    ).encode()
    result = accounts_import(actor=None, rows=read_account_rows(data, "tai_khoan.csv"))
    assert result.ok and [r.action for r in result.rows] == ["update"]
    assert User.objects.get().full_name == "Mới"


# --- forms --------------------------------------------------------------------------------------


def test_admin_form_with_nfd_input_stores_nfc(admin_user, client_as):
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_add"),
        {
            "code": "so-tc",
            "name": nfd(NAME),
            "short_name": nfd("Sở TC"),
            "kind": "department",
            "head_email": "",
            "is_active": "on",
            "aliases-TOTAL_FORMS": "1",
            "aliases-INITIAL_FORMS": "0",
            "aliases-0-alias": nfd("Sở Tài chánh"),
        },
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    agency = Agency.objects.get(code="so-tc")
    assert (agency.name, agency.short_name) == (NAME, "Sở TC")
    assert agency.aliases.get().alias == "Sở Tài chánh"


# --- data migration -----------------------------------------------------------------------------


def test_migration_normalises_stored_names():
    agency = AgencyFactory(code="so-tc", name=NAME, short_name="Sở TC")
    AgencyAlias.objects.create(agency=agency, alias="Sở Tài chánh")
    user = UserFactory(username="tc1", agency=agency, full_name="Nguyễn Thị Hường")
    # Rows stored before the fix: written below ``save``, as an old import left them.
    Agency.objects.filter(pk=agency.pk).update(name=nfd(NAME), short_name=nfd("Sở TC"))
    AgencyAlias.objects.update(alias=nfd("Sở Tài chánh"))
    User.objects.filter(pk=user.pk).update(full_name=nfd("Nguyễn Thị Hường"))
    run_data_migration("agencies.migrations.0005_text_nfc")
    agency.refresh_from_db()
    user.refresh_from_db()
    assert (agency.name, agency.short_name) == (NAME, "Sở TC")
    assert AgencyAlias.objects.get().alias == "Sở Tài chánh"
    assert user.full_name == "Nguyễn Thị Hường"


def test_migration_refuses_to_merge_two_rows_that_become_equal():
    """Two accounts "hường" (one NFD, one NFC) would become one username: the migration stops
    and names them rather than picking one."""
    agency = AgencyFactory(code="so-tc", name=NAME)
    a = UserFactory(username="hường", agency=agency)
    b = UserFactory(username="huong-tmp", agency=agency)
    User.objects.filter(pk=b.pk).update(username=nfd("hường"))
    with pytest.raises(RuntimeError) as exc:
        run_data_migration("agencies.migrations.0005_text_nfc")
    message = str(exc.value)
    assert "agencies.User" in message and "username" in message
    assert str(a.pk) in message and str(b.pk) in message
    assert User.objects.get(pk=b.pk).username == nfd("hường")  # nothing written


def test_admin_refuses_an_nfd_duplicate_of_an_agency_name(admin_user, client_as):
    AgencyFactory(code="so-tc", name=NAME)
    resp = client_as(admin_user).post(
        reverse("admin:agencies_agency_add"),
        {
            "code": "so-tc-2",
            "name": nfd(NAME),
            "kind": "department",
            "aliases-TOTAL_FORMS": "0",
            "aliases-INITIAL_FORMS": "0",
        },
    )
    assert resp.status_code == 200
    assert "đã có" in resp.content.decode()
    assert Agency.objects.count() == 1


def test_audit_quotes_typed_text_in_nfc():
    agency = AgencyFactory(code="so-tc", name=NAME)
    agency_alias_add(actor=None, agency=agency, alias=nfd("Sở Tài chánh"))
    event = AuditEvent.objects.get(action="agency.alias_add")
    assert event.data == {"alias": "Sở Tài chánh"}

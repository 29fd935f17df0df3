"""Acceptance 5: accounts in bulk (command and admin with preview), export, and ending sessions
when a user is deactivated or moved."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from knox.models import AuthToken
from openpyxl import Workbook, load_workbook

from agencies.models import AuditEvent, User
from agencies.services import user_deactivate, user_move_agency
from dti_portal.errors import NotAllowed
from tests.factories import UserFactory

HEADER = "username,full_name,email,agency,role,password\n"


def _csv(tmp_path, body: str):
    p = tmp_path / "accounts.csv"
    p.write_text(HEADER + body, encoding="utf-8")
    return p


def test_import_accounts_csv(khanh_hoa, tmp_path):
    p = _csv(
        tmp_path,
        "nv_khcn,Nguyễn Văn A,a@khanhhoa.gov.vn,Sở KH&CN,agency_staff,\n"
        "nv_congan,Trần B,,cong-an,agency_staff,Mat-khau-dai-123\n"
        "nv_vp,Lê C,,van phong ubnd tinh,reviewer,\n"
        "ld,Lãnh đạo,,,leader,\n",
    )
    out = StringIO()
    call_command("import_accounts", str(p), stdout=out)
    a = User.objects.get(username="nv_khcn")
    assert a.agency.code == "so-khcn" and a.role == "agency_staff" and a.must_change_password
    generated = [line for line in out.getvalue().splitlines() if "nv_khcn" in line][0]
    password = generated.split("mật khẩu tạm: ")[1].split(" ")[0]
    assert a.check_password(password)
    b = User.objects.get(username="nv_congan")
    assert (
        b.agency.code == "cong-an"
        and b.check_password("Mat-khau-dai-123")
        and not b.must_change_password
    )
    assert User.objects.get(username="nv_vp").agency.code == "vp-ubnd"
    assert User.objects.get(username="ld").agency is None
    assert AuditEvent.objects.filter(action="user.import_create").count() == 4


def test_import_accounts_xlsx_and_update(khanh_hoa, tmp_path):
    UserFactory(username="cu", agency=khanh_hoa["so-noi-vu"])
    wb = Workbook()
    ws = wb.active
    ws.append(["username", "full_name", "email", "agency", "role", "password"])
    ws.append(["cu", "Người Cũ", "", "Sở Tài chính", "agency_staff", ""])
    ws.append(["moi", "Người Mới", "", "STC", "agency_staff", ""])
    p = tmp_path / "a.xlsx"
    wb.save(p)
    call_command("import_accounts", str(p), stdout=StringIO())
    assert User.objects.get(username="cu").agency.code == "so-tai-chinh"
    assert User.objects.get(username="moi").agency.code == "so-tai-chinh"


def test_bad_row_rejects_the_whole_file(khanh_hoa, tmp_path):
    p = _csv(
        tmp_path,
        "ok1,A,,Sở KH&CN,agency_staff,\n"
        "bad1,B,,Sở Không Tồn Tại,agency_staff,\n"
        "bad2,C,not-an-email,Sở KH&CN,superuser,\n"
        "bad3,D,,,agency_staff,\n"
        "ok1,E,,Sở KH&CN,agency_staff,\n",
    )
    before = User.objects.count()
    err = StringIO()
    with pytest.raises(CommandError, match="không tài khoản nào được ghi"):
        call_command("import_accounts", str(p), stdout=StringIO(), stderr=err)
    text = err.getvalue()
    assert "Dòng 3: không tìm thấy cơ quan “Sở Không Tồn Tại”" in text
    assert "Dòng 4: vai trò “superuser” không hợp lệ" in text
    assert "Dòng 4: email “not-an-email” không hợp lệ" in text
    assert "Dòng 5: cán bộ đầu mối phải thuộc một cơ quan" in text
    assert "Dòng 6: tên đăng nhập “ok1” lặp lại" in text
    assert User.objects.count() == before


def test_missing_column(khanh_hoa, tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("username,role\nx,leader\n", encoding="utf-8")
    with pytest.raises(CommandError, match="thiếu cột"):
        call_command("import_accounts", str(p), stdout=StringIO())


def test_generated_password_must_be_changed_at_first_login(khanh_hoa, tmp_path, client):
    p = _csv(tmp_path, "moi,Mới,,Sở KH&CN,agency_staff,\n")
    out = StringIO()
    call_command("import_accounts", str(p), stdout=out)
    password = out.getvalue().split("mật khẩu tạm: ")[1].split(" ")[0]
    resp = client.post(reverse("login"), {"username": "moi", "password": password})
    assert resp.status_code == 302
    resp = client.get(reverse("indicators:framework_list"))
    assert resp.status_code == 302 and resp.headers["Location"] == reverse("password_change")


def test_export_accounts(khanh_hoa, tmp_path):
    UserFactory(username="xuat", agency=khanh_hoa["so-khcn"], full_name="Xuất Thử")
    p = tmp_path / "out.xlsx"
    call_command("export_accounts", str(p), stdout=StringIO())
    rows = list(load_workbook(p).active.iter_rows(values_only=True))
    assert rows[0][:6] == ("username", "full_name", "email", "agency_code", "agency", "role")
    assert rows[1][:2] == ("xuat", "Xuất Thử") or any(
        r[0] == "xuat" and r[3] == "so-khcn" for r in rows
    )


def _login_everywhere(client_as, user):
    c = client_as(user)
    c.get(reverse("home"))
    AuthToken.objects.create(user=user)
    return c


def test_deactivate_ends_sessions_and_tokens(khanh_hoa, reviewer, client_as):
    u = UserFactory(username="nghi", agency=khanh_hoa["so-khcn"])
    other = UserFactory(username="van_lam", agency=khanh_hoa["so-khcn"])
    _login_everywhere(client_as, u)
    _login_everywhere(client_as, other)
    assert Session.objects.count() == 2
    user_deactivate(actor=reviewer, user=u)
    assert AuthToken.objects.filter(user=u).count() == 0
    assert AuthToken.objects.filter(user=other).count() == 1
    remaining = [s.get_decoded().get("_auth_user_id") for s in Session.objects.all()]
    assert remaining == [str(other.pk)]
    assert AuditEvent.objects.filter(action="user.sessions_ended", object_id=str(u.pk)).exists()


def test_move_agency_ends_sessions(khanh_hoa, reviewer, client_as):
    u = UserFactory(username="chuyen", agency=khanh_hoa["so-khcn"])
    c = _login_everywhere(client_as, u)
    user_move_agency(actor=reviewer, user=u, agency=khanh_hoa["so-tai-chinh"])
    assert not AuthToken.objects.filter(user=u).exists()
    resp = c.get(reverse("indicators:framework_list"))
    assert resp.status_code == 302  # logged out
    ev = AuditEvent.objects.get(action="user.move_agency", object_id=str(u.pk))
    assert ev.data == {"from": khanh_hoa["so-khcn"].pk, "to": khanh_hoa["so-tai-chinh"].pk}


def test_only_reviewers_deactivate(khanh_hoa, user_a, user_b):
    with pytest.raises(NotAllowed):
        user_deactivate(actor=user_a, user=user_b)


def test_admin_deactivation_ends_sessions(khanh_hoa, admin_user, client_as):
    u = UserFactory(username="qua_admin", agency=khanh_hoa["so-khcn"])
    _login_everywhere(client_as, u)
    admin = client_as(admin_user)
    resp = admin.get(reverse("admin:agencies_user_change", args=[u.pk]))
    assert resp.status_code == 200
    form = resp.context["adminform"].form
    data = {
        k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)
    }
    data.update(
        {
            "username": u.username,
            "role": u.role,
            "agency": str(u.agency_id),
            "date_joined_0": u.date_joined.strftime("%d/%m/%Y"),
            "date_joined_1": u.date_joined.strftime("%H:%M:%S"),
        }
    )
    data.pop("is_active", None)
    data.pop("password", None)
    resp = admin.post(reverse("admin:agencies_user_change", args=[u.pk]), data)
    assert resp.status_code == 302, resp.context["adminform"].form.errors if resp.context else resp
    assert not User.objects.get(pk=u.pk).is_active
    assert not AuthToken.objects.filter(user=u).exists()
    assert AuditEvent.objects.filter(action="user.deactivate", object_id=str(u.pk)).exists()


def test_admin_import_with_preview(khanh_hoa, admin_user, client_as):
    c = client_as(admin_user)
    url = reverse("admin:agencies_user_import")
    assert c.get(url).status_code == 200
    body = (HEADER + "qa1,Q A,,Sở KH&CN,agency_staff,\n").encode()
    resp = c.post(url, {"file": SimpleUploadedFile("a.csv", body)})
    assert resp.status_code == 200
    assert "Xác nhận nhập" in resp.content.decode()
    assert not User.objects.filter(username="qa1").exists()  # preview writes nothing
    resp = c.post(url, {"action": "confirm"})
    assert resp.status_code == 200
    user = User.objects.get(username="qa1")
    assert user.must_change_password and user.agency.code == "so-khcn"
    # Bad file in the admin: errors shown, nothing written.
    bad = (HEADER + "qa2,Q,,Không Có,agency_staff,\n").encode()
    resp = c.post(url, {"file": SimpleUploadedFile("b.csv", bad)})
    assert "Dòng 2: không tìm thấy cơ quan" in resp.content.decode()
    assert not User.objects.filter(username="qa2").exists()


def test_xlsx_reader_refuses_non_xlsx(khanh_hoa, tmp_path):
    p = tmp_path / "fake.xlsx"
    p.write_bytes(b"username,role\n")
    with pytest.raises(CommandError, match="không phải bảng tính Excel"):
        call_command("import_accounts", str(p), stdout=StringIO())


def test_reviewer_deactivates_from_the_directory_page(khanh_hoa, reviewer, user_a, client_as):
    u = UserFactory(username="khoa_trang", agency=khanh_hoa["so-noi-vu"])
    _login_everywhere(client_as, u)
    url = reverse("agencies:agency_detail", args=[khanh_hoa["so-noi-vu"].pk])
    assert client_as(user_a).post(url, {"action": "deactivate", "user": u.pk}).status_code == 403
    assert User.objects.get(pk=u.pk).is_active
    # A user of another agency cannot be reached through this agency's page.
    other = UserFactory(username="khac", agency=khanh_hoa["so-tai-chinh"])
    resp = client_as(reviewer).post(url, {"action": "deactivate", "user": other.pk})
    assert resp.status_code == 404 and User.objects.get(pk=other.pk).is_active
    resp = client_as(reviewer).post(url, {"action": "deactivate", "user": u.pk})
    assert resp.status_code == 302
    assert not User.objects.get(pk=u.pk).is_active
    assert not AuthToken.objects.filter(user=u).exists()
    assert not [
        s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(u.pk)
    ]


@pytest.mark.django_db
def test_a_reviewer_cannot_import_their_way_to_admin(reviewer, admin_user):
    """The service refuses, for a reviewer, a row creating an administrator or touching an
    existing administrator's account; an administrator (or the console) may."""
    from agencies.services import accounts_import

    rows = [
        {"username": "moi_qt", "role": "admin", "password": "", "_row": "2"},
        {"username": admin_user.username, "role": "reviewer", "password": "", "_row": "3"},
    ]
    result = accounts_import(actor=reviewer, rows=rows)
    assert not result.ok and len(result.errors) == 2
    assert all("chỉ quản trị viên" in e for e in result.errors)
    assert not User.objects.filter(username="moi_qt").exists()
    admin_user.refresh_from_db()
    assert admin_user.role == User.Role.ADMIN
    assert accounts_import(actor=admin_user, rows=rows[:1]).ok


@pytest.mark.django_db
def test_a_password_set_through_the_portal_is_temporary_and_audited(reviewer, leader, client):
    """A reviewer's import that sets the leader's password does not leave the reviewer holding
    a working password to the leader's account unnoticed: the leader's next login must choose
    a new one, and the audit entry says a password was set, and by whom (never the password)."""
    from agencies.services import accounts_import

    rows = [
        {
            "username": leader.username,
            "full_name": leader.full_name,
            "role": "leader",
            "password": "Mat-khau-cua-so-2025",
            "_row": "2",
        }
    ]
    assert accounts_import(actor=reviewer, rows=rows).ok
    leader.refresh_from_db()
    assert leader.check_password("Mat-khau-cua-so-2025") and leader.must_change_password
    event = AuditEvent.objects.get(action="user.import_update")
    assert event.actor == reviewer and event.data["password_set"] is True
    assert "Mat-khau" not in str(event.data)
    client.post(
        "/accounts/login/", {"username": leader.username, "password": "Mat-khau-cua-so-2025"}
    )
    resp = client.get("/scores/")  # logged in, but sent to choose a new password first
    assert resp.status_code == 302 and resp["Location"].startswith("/accounts/password/")


@pytest.mark.parametrize("kind", ["huge_csv_field", "truncated_sheet"])
def test_unreadable_table_is_a_clear_refusal(kind):
    """A CSV field beyond the csv module's limit, or a sheet whose XML breaks off (read-only
    openpyxl parses it only while reading rows): a SpreadsheetError, never a 500."""
    import io
    import zipfile

    from agencies.spreadsheets import SpreadsheetError, read_table

    if kind == "huge_csv_field":
        data = ("username,full_name\nx," + "a" * 200_000 + "\n").encode()
        name = "a.csv"
    else:
        wb = Workbook()
        wb.active.append(["username", "full_name"])
        for i in range(50):
            wb.active.append([f"u{i}", "Nguyễn Văn A"])
        buf = io.BytesIO()
        wb.save(buf)
        src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as dst:
            for item in src.infolist():
                content = src.read(item.filename)
                if item.filename == "xl/worksheets/sheet1.xml":
                    content = content[: len(content) // 2]  # the XML breaks off
                dst.writestr(item, content)
        data, name = out.getvalue(), "a.xlsx"
    with pytest.raises(SpreadsheetError):
        read_table(data, name, ["username", "full_name"])


def test_own_password_change_is_audited(khanh_hoa, client):
    u = UserFactory(username="doi_mk", agency=khanh_hoa["so-khcn"])
    client.force_login(u)
    resp = client.post(
        reverse("password_change"),
        {
            "old_password": "pass12345",
            "new_password1": "Khanh-Hoa-2025-moi",
            "new_password2": "Khanh-Hoa-2025-moi",
        },
    )
    assert resp.status_code == 302
    event = AuditEvent.objects.get(action="user.password_change", object_id=str(u.pk))
    assert event.actor == u and "Khanh-Hoa" not in str(event.data)


def _admin_change_data(form, u, **changes):
    data = {
        k: v for k, v in form.initial.items() if v is not None and not isinstance(v, list | tuple)
    }
    data.update(
        {
            "username": u.username,
            "role": u.role,
            "agency": str(u.agency_id or ""),
            "is_active": "on",
            "date_joined_0": u.date_joined.strftime("%d/%m/%Y"),
            "date_joined_1": u.date_joined.strftime("%H:%M:%S"),
        }
    )
    data.pop("password", None)
    data.update(changes)
    return data


def test_admin_account_creation_role_change_and_password_set_are_audited(
    khanh_hoa, admin_user, client_as
):
    admin = client_as(admin_user)
    resp = admin.post(
        reverse("admin:agencies_user_add"),
        {
            "username": "tao_moi",
            "password1": "Khanh-Hoa-2025-moi",
            "password2": "Khanh-Hoa-2025-moi",
            "usable_password": "true",
            "full_name": "Tạo Mới",
            "agency": str(khanh_hoa["so-khcn"].pk),
            "role": User.Role.AGENCY_STAFF,
        },
    )
    assert resp.status_code == 302, resp.context["adminform"].form.errors if resp.context else resp
    u = User.objects.get(username="tao_moi")
    assert AuditEvent.objects.filter(
        action="user.create", object_id=str(u.pk), actor=admin_user
    ).exists()

    assert u.agency == khanh_hoa["so-khcn"] and u.full_name == "Tạo Mới"
    url = reverse("admin:agencies_user_change", args=[u.pk])
    form = admin.get(url).context["adminform"].form
    resp = admin.post(url, _admin_change_data(form, u, role=User.Role.REVIEWER))
    assert resp.status_code == 302, resp.context["adminform"].form.errors if resp.context else resp
    event = AuditEvent.objects.get(action="user.role_change", object_id=str(u.pk))
    assert event.actor == admin_user
    assert event.data == {"from": User.Role.AGENCY_STAFF, "to": User.Role.REVIEWER}

    resp = admin.post(
        reverse("admin:auth_user_password_change", args=[u.pk]),
        {"password1": "Mat-khau-moi-2025", "password2": "Mat-khau-moi-2025"},
    )
    assert resp.status_code == 302
    assert AuditEvent.objects.filter(
        action="user.password_set", object_id=str(u.pk), actor=admin_user
    ).exists()


def test_admin_agency_staff_without_agency_is_a_field_error_in_words(
    khanh_hoa, admin_user, client_as
):
    """The add page used to answer 500 (the database constraint), the change page Django's
    English "Constraint … is violated"."""
    admin = client_as(admin_user)
    resp = admin.post(
        reverse("admin:agencies_user_add"),
        {
            "username": "khong_co_quan",
            "password1": "Khanh-Hoa-2025-moi",
            "password2": "Khanh-Hoa-2025-moi",
            "usable_password": "true",
            "role": User.Role.AGENCY_STAFF,
        },
    )
    assert resp.status_code == 200
    assert resp.context["adminform"].form.errors["agency"] == [
        "Cán bộ đầu mối phải thuộc một cơ quan."
    ]
    assert not User.objects.filter(username="khong_co_quan").exists()
    u = UserFactory(username="co_co_quan", agency=khanh_hoa["so-khcn"])
    url = reverse("admin:agencies_user_change", args=[u.pk])
    form = admin.get(url).context["adminform"].form
    resp = admin.post(url, _admin_change_data(form, u, agency=""))
    assert resp.status_code == 200
    errors = resp.context["adminform"].form.errors
    assert errors["agency"] == ["Cán bộ đầu mối phải thuộc một cơ quan."]
    assert "Constraint" not in str(errors)


def test_account_values_too_long_for_their_columns_are_refused_by_row(khanh_hoa, tmp_path):
    long_email = "a" * 64 + "@" + ("b" * 63 + ".") * 3 + "vn"
    p = _csv(
        tmp_path,
        f"{'u' * 151},A,,Sở KH&CN,agency_staff,\n"
        f"ok2,{'Â' * 151},,Sở KH&CN,agency_staff,\n"
        f"ok3,C,{long_email},Sở KH&CN,agency_staff,\n",
    )
    before = User.objects.count()
    err = StringIO()
    with pytest.raises(CommandError, match="không tài khoản nào được ghi"):
        call_command("import_accounts", str(p), stdout=StringIO(), stderr=err)
    text = err.getvalue()
    assert "Dòng 2: tên đăng nhập dài quá 150 ký tự" in text
    assert "Dòng 3: họ và tên dài quá 150 ký tự" in text
    assert "Dòng 4: email dài quá 254 ký tự" in text
    assert User.objects.count() == before


def test_vietnamese_username_in_nfd_is_stored_as_typed_at_login(khanh_hoa, tmp_path, client):
    """A file saved on a Mac holds decomposed (NFD) Vietnamese; the login form normalises
    what is typed (NFKC), so the account must be stored the same way to be reachable."""
    import unicodedata

    nfd = unicodedata.normalize("NFD", "nguyễn.văn.an")
    p = _csv(
        tmp_path,
        f"{nfd},{unicodedata.normalize('NFD', 'Nguyễn Văn An')},,Sở KH&CN,"
        "agency_staff,Mat-khau-dai-123\n",
    )
    call_command("import_accounts", str(p), stdout=StringIO())
    user = User.objects.get(username="nguyễn.văn.an")
    assert user.full_name == "Nguyễn Văn An"
    resp = client.post(
        reverse("login"), {"username": "nguyễn.văn.an", "password": "Mat-khau-dai-123"}
    )
    assert resp.status_code == 302
    # The same name again, composed this time, updates that account instead of making another.
    p = _csv(tmp_path, "nguyễn.văn.an,Nguyễn Văn An,,Sở Tài chính,agency_staff,\n")
    call_command("import_accounts", str(p), stdout=StringIO())
    assert User.objects.get(username="nguyễn.văn.an").agency.code == "so-tai-chinh"


@pytest.mark.parametrize("value", ["abc", "²", "9" * 30])
def test_deactivating_a_malformed_user_id_is_404(khanh_hoa, reviewer, client_as, value):
    url = reverse("agencies:agency_detail", args=[khanh_hoa["so-noi-vu"].pk])
    resp = client_as(reviewer).post(url, {"action": "deactivate", "user": value})
    assert resp.status_code == 404


def test_an_account_updated_by_import_audits_what_it_replaced(khanh_hoa, tmp_path):
    """An import that changes an existing account's role or agency keeps, in its audit entry,
    the role and agency it replaced (from → to), like the admin's role change."""
    cu = UserFactory(username="cu", agency=khanh_hoa["so-noi-vu"], role=User.Role.AGENCY_STAFF)
    call_command(
        "import_accounts",
        str(_csv(tmp_path, "cu,Người Cũ,,Sở Tài chính,reviewer,\nmoi,Mới,,STC,agency_staff,\n")),
        stdout=StringIO(),
    )
    update = AuditEvent.objects.get(action="user.import_update")
    assert update.data["from"] == {
        "role": User.Role.AGENCY_STAFF,
        "agency": khanh_hoa["so-noi-vu"].pk,
        "is_staff": False,
    }
    assert update.data["role"] == User.Role.REVIEWER and update.object_id == str(cu.pk)
    assert "from" not in AuditEvent.objects.get(action="user.import_create").data

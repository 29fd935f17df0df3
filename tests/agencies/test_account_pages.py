"""The accounts page and the bulk imports in the portal (DOMAIN §2: the Sở creates and hands out
accounts in bulk and manages agencies): list with filters, upload → preview (dry run, nothing
written) → confirm, generated passwords shown once, the directory file the same way."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from agencies.models import Agency, AgencyGroup, AuditEvent, User
from agencies.views import PENDING_KEY
from tests.factories import AgencyFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = "username,full_name,email,agency,role,password\n"
DIR_HEADER = "type,code,name,short_name,kind,aliases,members\n"


def _csv(body: str, name: str = "tai-khoan.csv", header: str = HEADER):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, (header + body).encode("utf-8"), "text/csv")


def _xlsx(rows: list[list[str]], name: str = "tai-khoan.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return SimpleUploadedFile(name, buf.getvalue())


def _token(resp) -> str:
    match = re.search(r'name="token" value="([^"]+)"', resp.content.decode())
    assert match, "the preview has a confirm form"
    return match.group(1)


def _state() -> tuple:
    """What an import could change."""
    return (
        list(User.objects.order_by("pk").values_list("username", "role", "agency_id", "password")),
        list(Agency.objects.order_by("pk").values_list("code", "name")),
        AgencyGroup.objects.count(),
        AuditEvent.objects.count(),
    )


# --- who may -----------------------------------------------------------------------------------

ROUTES = [
    ("get", "agencies:account_list", None),
    ("get", "agencies:accounts_import", None),
    ("post", "agencies:accounts_import", "accounts"),
    ("post", "agencies:accounts_import_confirm", "confirm"),
    ("get", "agencies:directory_export", None),
    ("get", "agencies:directory_import", None),
    ("post", "agencies:directory_import", "directory"),
    ("post", "agencies:directory_import_confirm", "confirm"),
]


def _data(kind: str | None) -> dict:
    if kind == "accounts":
        return {"file": _csv("moi,Người Mới,,so-a,agency_staff,\n")}
    if kind == "directory":
        return {"file": _csv("agency,so-moi,Sở Mới,,department,,\n", "dm.csv", DIR_HEADER)}
    if kind == "confirm":
        return {"token": "x", "action": "confirm"}
    return {}


@pytest.mark.parametrize(("method", "name", "kind"), ROUTES)
def test_agency_staff_leader_and_anonymous_are_refused(
    method, name, kind, user_a, leader, client_as, client
):
    url = reverse(name)
    before = _state()
    resp = getattr(client, method)(url, _data(kind))
    assert resp.status_code == 302 and "/accounts/login/" in resp["Location"]
    for user in (user_a, leader):
        resp = getattr(client_as(user), method)(url, _data(kind))
        assert resp.status_code == 403, (name, user.username)
    assert _state() == before


@pytest.mark.parametrize(("method", "name", "kind"), ROUTES)
def test_reviewer_and_admin_may(method, name, kind, agency_a, reviewer, admin_user, client_as):
    for user in (reviewer, admin_user):
        c = client_as(user)
        resp = getattr(c, method)(reverse(name), _data(kind))
        if kind == "confirm":  # no preview in this session: back to the upload page
            assert resp.status_code == 302 and "/import/" in resp["Location"]
        else:
            assert resp.status_code == 200, (name, user.username)


def test_the_nav_and_the_agencies_page_offer_the_pages_to_reviewers_only(
    user_a, reviewer, client_as
):
    accounts = reverse("agencies:account_list")
    page = client_as(reviewer).get(reverse("agencies:agency_list")).content.decode()
    assert f'href="{accounts}"' in page
    assert reverse("agencies:directory_export") in page
    assert f'action="{reverse("agencies:directory_import")}"' in page
    page = client_as(user_a).get(reverse("agencies:agency_list")).content.decode()
    assert accounts not in page and reverse("agencies:directory_import") not in page


# --- the accounts list -------------------------------------------------------------------------


def test_account_list_columns_and_local_time(agency_a, reviewer, client_as):
    UserFactory(
        username="nv_a",
        full_name="Nguyễn Thị A",
        agency=agency_a,
        must_change_password=True,
        last_login=datetime.datetime(2026, 3, 1, 17, 30, tzinfo=datetime.UTC),
    )
    UserFactory(username="cu", agency=agency_a, is_active=False)
    html = client_as(reviewer).get(reverse("agencies:account_list")).content.decode()
    row = html[html.index("nv_a") : html.index("</tr>", html.index("nv_a"))]
    assert "Nguyễn Thị A" in row and "Sở Thử nghiệm A" in row and "Cán bộ đầu mối" in row
    assert "02/03/2026 00:30" in row  # 17:30 UTC is 00:30 the next day in Asia/Ho_Chi_Minh
    assert row.count("Có") == 2  # active, must change password
    cu = html[html.index(">cu<") : html.index("</tr>", html.index(">cu<"))]
    assert "Không" in cu and "Chưa đăng nhập" in cu
    assert reverse("agencies:accounts_export") in html


def test_account_list_filters_by_agency_and_role(agency_a, agency_b, reviewer, leader, client_as):
    UserFactory(username="nv_a", agency=agency_a)
    UserFactory(username="nv_b", agency=agency_b)
    url = reverse("agencies:account_list")
    c = client_as(reviewer)
    html = c.get(url, {"agency": agency_a.pk}).content.decode()
    assert "nv_a" in html and "nv_b" not in html
    html = c.get(url, {"role": "leader"}).content.decode()
    assert ">leader<" in html and "nv_a" not in html and "nv_b" not in html
    html = c.get(url, {"agency": agency_b.pk, "role": "reviewer"}).content.decode()
    assert "nv_b" not in html and "Không có tài khoản nào." in html
    # A stale or forged filter is ignored, never an error page.
    resp = c.get(url, {"agency": "999999", "role": "root", "page": "x"})
    assert resp.status_code == 200 and "nv_a" in resp.content.decode()


def test_account_list_is_paginated_and_keeps_the_filter(agency_a, reviewer, client_as):
    for i in range(55):
        UserFactory(username=f"nv{i:02d}", agency=agency_a)
    url = reverse("agencies:account_list")
    html = client_as(reviewer).get(url, {"agency": agency_a.pk}).content.decode()
    assert "nv00" in html and "nv54" not in html
    assert f"?agency={agency_a.pk}&amp;page=2" in html
    html = client_as(reviewer).get(url, {"agency": agency_a.pk, "page": 2}).content.decode()
    assert "nv54" in html and "nv00" not in html


@pytest.mark.parametrize("n", [3, 60])
def test_account_list_query_count_does_not_grow(
    n, reviewer, client_as, django_assert_max_num_queries
):
    for i in range(n):
        UserFactory(username=f"u{i:03d}", agency=AgencyFactory(code=f"co-quan-{i}"))
    c = client_as(reviewer)
    c.get(reverse("agencies:account_list"))  # warm the session
    with django_assert_max_num_queries(10):
        resp = c.get(reverse("agencies:account_list"))
    assert resp.status_code == 200


# --- accounts import: preview, confirm, errors -------------------------------------------------


def test_preview_writes_nothing_and_confirm_writes(agency_a, reviewer, client_as):
    UserFactory(username="cu", agency=agency_a, full_name="Tên cũ")
    c = client_as(reviewer)
    before = _state()
    resp = c.post(
        reverse("agencies:accounts_import"),
        {
            "file": _csv(
                "moi,Người Mới,moi@example.gov.vn,Sở A,agency_staff,\n"
                "cu,Tên mới,,so-a,agency_staff,Mat-khau-rat-dai-123\n"
            )
        },
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Chạy thử thành công" in html and "(sẽ được cấp)" in html
    assert "tạo mới" in html and "cập nhật" in html and "Cán bộ đầu mối" in html
    assert _state() == before  # the dry run wrote nothing, not even an audit row
    assert c.session[PENDING_KEY]["accounts"]["token"] == _token(resp)

    resp = c.post(
        reverse("agencies:accounts_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert resp.status_code == 200
    assert "no-store" in resp["Cache-Control"]
    moi = User.objects.get(username="moi")
    assert moi.agency == agency_a and moi.must_change_password
    shown = re.findall(r'<code class="generated-password">([^<]+)</code>', resp.content.decode())
    assert len(shown) == 1 and moi.check_password(shown[0])
    cu = User.objects.get(username="cu")
    assert cu.full_name == "Tên mới" and cu.check_password("Mat-khau-rat-dai-123")
    audits = AuditEvent.objects.filter(action__startswith="user.import_").order_by("pk")
    assert [(a.action, a.actor, a.object_repr) for a in audits] == [
        ("user.import_create", reviewer, str(moi)),
        ("user.import_update", reviewer, str(cu)),
    ]
    # Shown once: the uploaded file and the password are nowhere in the session, and neither
    # a second confirm nor the accounts page shows the password again.
    assert PENDING_KEY not in c.session
    assert shown[0] not in str(dict(c.session))
    again = c.post(
        reverse("agencies:accounts_import_confirm"), {"token": _token_of(resp), "action": "confirm"}
    )
    assert again.status_code == 302
    assert shown[0] not in c.get(again["Location"]).content.decode()
    assert shown[0] not in c.get(reverse("agencies:account_list")).content.decode()
    assert User.objects.filter(username="moi").count() == 1


def _token_of(resp) -> str:
    """The result page has no confirm form; reuse whatever token a client might replay."""
    match = re.search(r'name="token" value="([^"]*)"', resp.content.decode())
    return match.group(1) if match else "replayed"


def test_bad_file_lists_every_row_error_and_writes_nothing(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    before = _state()
    resp = c.post(
        reverse("agencies:accounts_import"),
        {
            "file": _csv(
                "ok,Được,,so-a,agency_staff,\n"
                "xau,Xấu,,khong-co,agency_staff,\n"
                "vai,Vai trò sai,,so-a,root,\n"
                "ngan,Mật khẩu ngắn,,so-a,agency_staff,123\n"
            )
        },
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Cơ sở dữ liệu không thay đổi" in html
    for n in (3, 4, 5):
        assert f"Dòng {n}:" in html
    assert "Dòng 2:" not in html
    assert 'name="token"' not in html  # nothing to confirm
    assert PENDING_KEY not in c.session
    assert _state() == before


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tk.xlsx", b"this is not a spreadsheet", "Tệp không phải bảng tính Excel"),
        ("tk.txt", b"username\n", "Chỉ nhận tệp .csv hoặc .xlsx."),
        ("tk.csv", b"username,role\nx,leader\n", "Dòng 1: thiếu cột"),
        ("tk.csv", "username".encode("utf-16"), "UTF-8"),
        ("tk.csv", b"a" * (1024 * 1024 + 1), "Tệp quá lớn"),
    ],
)
def test_unreadable_file_is_a_field_error(name, content, message, reviewer, client_as):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = _state()
    resp = client_as(reviewer).post(
        reverse("agencies:accounts_import"), {"file": SimpleUploadedFile(name, content)}
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert message in html
    # The error is tied to the input: aria-invalid and aria-describedby naming the message.
    field = re.search(r'<input[^>]*id="accounts-upload-file"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in field and "accounts-upload-error" in field
    assert 'id="accounts-upload-error"' in html
    assert _state() == before


def test_missing_file_is_a_field_error(reviewer, client_as):
    resp = client_as(reviewer).post(reverse("agencies:directory_import"), {})
    assert resp.status_code == 400
    assert 'id="directory-upload-error"' in resp.content.decode()


def test_xlsx_accounts_file(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    resp = c.post(
        reverse("agencies:accounts_import"),
        {
            "file": _xlsx(
                [
                    ["username", "full_name", "email", "agency", "role", "password"],
                    ["ld2", "Lãnh đạo 2", "", "", "leader", ""],
                ]
            )
        },
    )
    assert resp.status_code == 200 and not User.objects.filter(username="ld2").exists()
    c.post(
        reverse("agencies:accounts_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert User.objects.get(username="ld2").role == "leader"


def test_cancel_forgets_the_file_and_writes_nothing(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    resp = c.post(
        reverse("agencies:accounts_import"), {"file": _csv("moi,Mới,,so-a,agency_staff,\n")}
    )
    token = _token(resp)
    before = _state()
    resp = c.post(reverse("agencies:accounts_import_confirm"), {"token": token, "action": "cancel"})
    assert resp.status_code == 302 and resp["Location"] == reverse("agencies:account_list")
    assert PENDING_KEY not in c.session
    c.post(reverse("agencies:accounts_import_confirm"), {"token": token, "action": "confirm"})
    assert _state() == before


def test_confirm_needs_the_previewed_token(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    c.post(reverse("agencies:accounts_import"), {"file": _csv("moi,Mới,,so-a,agency_staff,\n")})
    before = _state()
    for guess in ("guessed", "đoán", ""):
        resp = c.post(
            reverse("agencies:accounts_import_confirm"), {"token": guess, "action": "confirm"}
        )
        assert resp.status_code == 302 and _state() == before


def test_another_session_cannot_confirm_a_preview(agency_a, reviewer, admin_user, client_as):
    resp = client_as(reviewer).post(
        reverse("agencies:accounts_import"), {"file": _csv("moi,Mới,,so-a,agency_staff,\n")}
    )
    before = _state()
    client_as(admin_user).post(
        reverse("agencies:accounts_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert _state() == before


def test_confirm_checks_the_file_again(agency_a, reviewer, client_as):
    """The database may change between preview and confirm: the real run re-checks, all or
    nothing, and the refused file has to be uploaded again."""
    temporary = AgencyFactory(code="so-tam", name="Sở Tạm")
    c = client_as(reviewer)
    resp = c.post(
        reverse("agencies:accounts_import"),
        {"file": _csv("moi,Mới,,so-a,agency_staff,\nhai,Hai,,so-tam,agency_staff,\n")},
    )
    token = _token(resp)
    temporary.delete()
    before = _state()
    resp = c.post(
        reverse("agencies:accounts_import_confirm"), {"token": token, "action": "confirm"}
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Dòng 3: không tìm thấy cơ quan" in html and "generated-password" not in html
    assert _state() == before and PENDING_KEY not in c.session


def test_reviewer_cannot_create_or_change_an_administrator(
    agency_a, reviewer, admin_user, client_as
):
    before = _state()
    resp = client_as(reviewer).post(
        reverse("agencies:accounts_import"),
        {
            "file": _csv(
                "moi,Mới,,so-a,agency_staff,\n"
                "sep,Sếp,,,admin,\n"
                f"{admin_user.username.upper()},Đổi mật khẩu,,,leader,Mat-khau-rat-dai-123\n"
            )
        },
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "Dòng 3: chỉ quản trị viên" in html and "Dòng 4: chỉ quản trị viên" in html
    assert "Dòng 2:" not in html and 'name="token"' not in html
    assert _state() == before


def test_admin_may_create_an_administrator(reviewer, admin_user, client_as):
    c = client_as(admin_user)
    resp = c.post(reverse("agencies:accounts_import"), {"file": _csv("sep2,Sếp,,,admin,\n")})
    assert resp.status_code == 200
    c.post(
        reverse("agencies:accounts_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert User.objects.get(username="sep2").is_superuser


# --- the agency directory file -----------------------------------------------------------------


def test_directory_preview_writes_nothing_and_confirm_writes(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    before = _state()
    body = (
        "agency,so-moi,Sở Mới Lập,SML,department,Sở mới,\n"
        "agency,so-a,Sở Thử nghiệm A,Sở A,department,,\n"
        "group,nhom-moi,Nhóm mới,,,,so-moi;so-a\n"
    )
    resp = c.post(reverse("agencies:directory_import"), {"file": _csv(body, "dm.csv", DIR_HEADER)})
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "so-moi, nhom-moi" in html and "so-a" in html
    assert _state() == before
    resp = c.post(
        reverse("agencies:directory_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert resp.status_code == 302 and resp["Location"] == reverse("agencies:agency_list")
    assert Agency.objects.get(code="so-moi").short_name == "SML"
    group = AgencyGroup.objects.get(code="nhom-moi")
    assert sorted(group.members.values_list("code", flat=True)) == ["so-a", "so-moi"]
    event = AuditEvent.objects.get(action="agency.directory_import")
    assert event.actor == reviewer and event.data["created"] == ["so-moi", "nhom-moi"]
    assert PENDING_KEY not in c.session
    assert "2 mục thêm mới, 1 mục cập nhật" in c.get(resp["Location"]).content.decode()


def test_directory_import_names_the_agencies_it_reactivates(
    agency_a, agency_b, reviewer, client_as
):
    """A deactivated agency listed in the file becomes active again: the preview says so before
    anything is written, the success message counts it and the audit entry lists it."""
    Agency.objects.filter(pk=agency_b.pk).update(is_active=False)
    c = client_as(reviewer)
    body = (
        f"agency,{agency_a.code},{agency_a.name},,department,,\n"
        f"agency,{agency_b.code},{agency_b.name},,department,,\n"
    )
    resp = c.post(reverse("agencies:directory_import"), {"file": _csv(body, "dm.csv", DIR_HEADER)})
    html = resp.content.decode()
    assert resp.status_code == 200 and 'id="import-reactivated"' in html
    reactivated = html.split('id="import-reactivated"')[1].split("</div>")[0]
    assert agency_b.code in reactivated and agency_a.code not in reactivated
    assert not Agency.objects.get(pk=agency_b.pk).is_active  # the preview writes nothing
    resp = c.post(
        reverse("agencies:directory_import_confirm"), {"token": _token(resp), "action": "confirm"}
    )
    assert Agency.objects.get(pk=agency_b.pk).is_active
    event = AuditEvent.objects.get(action="agency.directory_import")
    assert event.data["reactivated"] == [agency_b.code]
    assert "trong đó 1 cơ quan được kích hoạt lại" in c.get(resp["Location"]).content.decode()


def test_directory_bad_file_lists_row_errors_and_writes_nothing(agency_a, reviewer, client_as):
    c = client_as(reviewer)
    before = _state()
    body = (
        "agency,so-ok,Sở Ổn,,department,,\n"
        "agency,Sai Ma,Tên,,department,,\n"
        "thing,x,Y,,,,\n"
        "group,nhom,Nhóm,,,,khong-co\n"
    )
    resp = c.post(reverse("agencies:directory_import"), {"file": _csv(body, "dm.csv", DIR_HEADER)})
    assert resp.status_code == 400
    html = resp.content.decode()
    for n in (3, 4, 5):
        assert f"Dòng {n}:" in html
    assert 'name="token"' not in html and PENDING_KEY not in c.session
    assert _state() == before


def test_directory_export_round_trips(agency_a, agency_b, reviewer, client_as):
    c = client_as(reviewer)
    resp = c.get(reverse("agencies:directory_export"))
    assert resp.status_code == 200 and "danh-muc-co-quan.xlsx" in resp["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.content)).active
    assert [cell.value for cell in ws[1]][:3] == ["type", "code", "name"]
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = _state()
    resp = c.post(
        reverse("agencies:directory_import"),
        {"file": SimpleUploadedFile("dm.xlsx", resp.content)},
    )
    assert resp.status_code == 200
    assert "Thêm mới (0)" in resp.content.decode()
    assert _state() == before

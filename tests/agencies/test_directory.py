"""The agency directory (agencies.directory): a fresh installation loads it, then the official
appendix imports with every agency column resolved; bad files change nothing."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from agencies.directory import agency_directory_import, export_directory_xlsx, read_directory_rows
from agencies.models import Agency, AgencyAlias, AgencyGroup, AgencyGroupAlias
from dti_portal.errors import NotAllowed
from indicators.models import Framework, Indicator
from tests.factories import AgencyFactory

ROOT = Path(__file__).resolve().parents[2]
DIRECTORY = ROOT / "data" / "agencies_khanh_hoa.csv"
APPENDIX = ROOT / "data" / "dti_2025_tinh_phu_luc_1.xlsx"
HEADER = "type,code,name,short_name,kind,aliases,members\n"


def snapshot() -> tuple:
    return (
        sorted(Agency.objects.values_list("code", "name", "short_name", "kind", "head_email")),
        sorted(AgencyAlias.objects.values_list("agency__code", "alias")),
        sorted(AgencyGroup.objects.values_list("code", "name", "kinds")),
        sorted(
            AgencyGroup.members.through.objects.values_list("agencygroup__code", "agency__code")
        ),
        sorted(AgencyGroupAlias.objects.values_list("group__code", "alias")),
    )


def write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "co_quan.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    return str(path)


@pytest.mark.django_db
def test_fresh_install_loads_directory_then_the_official_appendix(tmp_path):
    """README's production steps: import_agencies, then import_framework without creating any
    agency: the groups the appendix names resolve to groups, abbreviations to agencies."""
    assert not Agency.objects.exists()
    out = StringIO()
    call_command("import_agencies", str(DIRECTORY), stdout=out)
    assert "mới" in out.getvalue()
    out = StringIO()
    call_command(
        "import_framework", str(APPENDIX), "--code", "dti-2025", "--year", "2025", stdout=out
    )
    assert "chưa có trong danh mục" not in out.getvalue()
    fw = Framework.objects.get(code="dti-2025")
    groups = set(
        AgencyGroup.objects.filter(coordinated_indicators__framework=fw).values_list(
            "code", flat=True
        )
    )
    assert {"cac-so-nganh", "dn-vien-thong", "cac-dia-phuong"} <= groups
    # "Sở KH&CN" in the appendix is the Department of Science and Technology, not a new agency.
    assert Agency.objects.filter(name__icontains="KH&CN").count() == 0
    assert Indicator.objects.filter(framework=fw, lead_agency__code="so-khcn").exists()


@pytest.mark.django_db
def test_import_is_idempotent_and_export_round_trips(tmp_path):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    first = snapshot()
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    assert snapshot() == first
    path = tmp_path / "xuat.xlsx"
    call_command("export_agencies", str(path), stdout=StringIO())
    call_command("import_agencies", str(path), stdout=StringIO())
    assert snapshot() == first
    assert read_directory_rows(export_directory_xlsx(), "x.xlsx")[0]["type"] == "agency"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ("agency,so-a,Sở A,,bogus,,\n", "loại cơ quan"),
        ("agency,Sở A,Sở A,,department,,\n", "mã"),
        ("agency,so-a,Sở A,,department,,\nagency,so-a,Sở B,,department,,\n", "lặp lại"),
        ("agency,so-a,Sở A,,department,,\nagency,so-b,Sở A,,department,,\n", "đã dùng"),
        ("group,nhom,Nhóm,,,,so-khong-co\n", "không có cơ quan"),
        ("agency,so-a,Sở A,,department,,x\n", "chỉ nhóm"),
        ("thing,so-a,Sở A,,department,,\n", "loại dòng"),
        ("agency,so-a,,,department,,\n", "thiếu tên"),
    ],
)
def test_bad_file_changes_nothing(tmp_path, rows, fragment):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    before = snapshot()
    # a good row first: all-or-nothing means it is not written either
    path = write(tmp_path, "agency,so-moi,Sở Mới,,department,,\n" + rows)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_agencies", path, stdout=StringIO(), stderr=err)
    assert fragment in err.getvalue()
    assert snapshot() == before


@pytest.mark.django_db
def test_command_names_the_agencies_it_reactivates(tmp_path):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    Agency.objects.filter(code="so-khcn").update(is_active=False)
    out = StringIO()
    call_command("import_agencies", str(DIRECTORY), "--dry-run", stdout=out)
    assert "1 cơ quan kích hoạt lại: so-khcn." in out.getvalue()
    assert not Agency.objects.get(code="so-khcn").is_active
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    assert Agency.objects.get(code="so-khcn").is_active


@pytest.mark.django_db
def test_a_name_of_another_agency_is_refused(tmp_path):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    before = snapshot()
    err = StringIO()
    path = write(tmp_path, "agency,so-khac,Sở Khoa học và Công nghệ,,department,,\n")
    with pytest.raises(CommandError):
        call_command("import_agencies", path, stdout=StringIO(), stderr=err)
    assert "so-khcn" in err.getvalue() and snapshot() == before


@pytest.mark.django_db
def test_only_the_so_or_an_admin_may_import(user_a, reviewer):
    rows = [{"type": "agency", "code": "so-a", "name": "Sở A", "kind": "department", "_row": "2"}]
    with pytest.raises(NotAllowed):
        agency_directory_import(actor=user_a, rows=rows)
    assert agency_directory_import(actor=reviewer, rows=rows).ok
    assert Agency.objects.filter(code="so-a").exists()


# --- head_email: the address escalations go to (evidence.tasks) -----------------------------------

HEAD_HEADER = "type,code,name,short_name,kind,aliases,members,head_email\n"


def write_with_heads(tmp_path: Path, text: str) -> str:
    path = tmp_path / "co_quan_thu_truong.csv"
    path.write_text(HEAD_HEADER + text, encoding="utf-8")
    return str(path)


@pytest.mark.django_db
def test_head_email_is_imported_exported_and_kept_by_a_file_without_the_column(tmp_path):
    path = write_with_heads(
        tmp_path,
        "agency,so-a,Sở A,,department,,,giamdoc.a@khanhhoa.gov.vn\n"
        "agency,so-b,Sở B,,department,,,\n"
        "group,nhom,Nhóm,department,,,,\n",
    )
    call_command("import_agencies", path, stdout=StringIO())
    heads = dict(Agency.objects.values_list("code", "head_email"))
    assert heads == {"so-a": "giamdoc.a@khanhhoa.gov.vn", "so-b": ""}
    exported = {r["code"]: r for r in read_directory_rows(export_directory_xlsx(), "x.xlsx")}
    assert exported["so-a"]["head_email"] == "giamdoc.a@khanhhoa.gov.vn"
    assert exported["nhom"]["head_email"] == ""
    # The earlier layout (no head_email column) still imports and keeps the stored address.
    call_command(
        "import_agencies",
        write(tmp_path, "agency,so-a,Sở A mới,,department,,\n"),
        stdout=StringIO(),
    )
    assert Agency.objects.get(code="so-a").head_email == "giamdoc.a@khanhhoa.gov.vn"
    # An empty cell in the column clears it.
    call_command(
        "import_agencies",
        write_with_heads(tmp_path, "agency,so-a,Sở A,,department,,,\n"),
        stdout=StringIO(),
    )
    assert Agency.objects.get(code="so-a").head_email == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("rows", "fragment"),
    [
        ("agency,so-a,Sở A,,department,,,giam doc@\n", "email thủ trưởng"),
        ("agency,so-a,Sở A,,department,,," + "a" * 250 + "@x.vn\n", "email thủ trưởng"),
        ("group,nhom,Nhóm,department,,,,giamdoc@khanhhoa.gov.vn\n", "chỉ cơ quan"),
    ],
)
def test_bad_head_email_changes_nothing(tmp_path, rows, fragment):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    before = snapshot()
    path = write_with_heads(tmp_path, "agency,so-moi,Sở Mới,,department,,,\n" + rows)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_agencies", path, stdout=StringIO(), stderr=err)
    assert fragment in err.getvalue()
    assert snapshot() == before


def test_the_shipped_directory_has_the_head_email_column():
    """README: fill it in so the escalations after a missed deadline have a recipient."""
    rows = read_directory_rows(DIRECTORY.read_bytes(), DIRECTORY.name)
    assert rows and all("head_email" in r for r in rows)


@pytest.mark.django_db
def test_search_by_code_ignores_case():
    """An uppercase code is found whatever the case typed (found by the review: the search is
    lowercased, the stored code was not)."""
    from agencies.text import matches_search, search_words

    a = AgencyFactory(code="STTTT", name="Sở Thông tin và Truyền thông", short_name="")
    a = Agency.objects.get(pk=a.pk)
    for q in ("STTTT", "stttt"):
        assert matches_search(a.search_text, search_words(q)), q
    assert Agency.objects.filter(search_text__contains="stttt").exists()


@pytest.mark.django_db
def test_migration_refreshes_the_search_text_of_existing_agencies():
    import importlib

    from django.apps import apps

    refresh = importlib.import_module(
        "agencies.migrations.0004_search_text_code_normalized"
    ).refresh
    a = AgencyFactory(code="STTTT", name="Sở Thông tin và Truyền thông", short_name="")
    Agency.objects.filter(pk=a.pk).update(search_text="so thong tin va truyen thong | STTTT")
    refresh(apps, None)
    a.refresh_from_db()
    assert a.search_text == a.build_search_text()
    assert "stttt" in a.search_text


@pytest.mark.django_db
def test_an_alias_too_long_for_its_column_is_refused_by_row(tmp_path):
    call_command("import_agencies", str(DIRECTORY), stdout=StringIO())
    before = snapshot()
    path = write(tmp_path, f"agency,so-a,Sở A,,department,SA; {'X' * 256},\n")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_agencies", path, stdout=StringIO(), stderr=err)
    assert "Dòng 2: tên gọi khác “XXXX" in err.getvalue()
    assert "dài quá 255 ký tự" in err.getvalue()
    assert snapshot() == before


@pytest.mark.django_db
def test_agency_name_or_alias_too_long_is_a_validation_error(reviewer):
    from agencies.services import agency_alias_add, agency_create
    from dti_portal.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        agency_create(actor=reviewer, name="Sở " + "X" * 300)
    assert "dài quá 255 ký tự" in str(exc.value.errors["name"])
    agency = AgencyFactory()
    with pytest.raises(ValidationFailed) as exc:
        agency_alias_add(actor=reviewer, agency=agency, alias="X" * 256)
    assert "dài quá 255 ký tự" in str(exc.value.errors["alias"])
    assert not AgencyAlias.objects.filter(agency=agency).exists()


@pytest.mark.django_db
def test_a_group_changed_by_the_directory_import_is_audited_before_and_after(tmp_path):
    """A group's members are who reports for what it coordinates: the import's audit entry
    says, for each group it changed, what changed (from → to), as the admin does."""
    from agencies.models import AuditEvent

    call_command(
        "import_agencies",
        write(
            tmp_path,
            "agency,so-a,Sở A,,department,,\nagency,so-b,Sở B,,department,,\n"
            "group,nhom,Nhóm thử,,,,so-a\n",
        ),
        stdout=StringIO(),
    )
    a, b = Agency.objects.get(code="so-a"), Agency.objects.get(code="so-b")
    call_command(
        "import_agencies",
        write(
            tmp_path,
            "agency,so-a,Sở A,,department,,\nagency,so-b,Sở B,,department,,\n"
            "group,nhom,Nhóm thử,,department,,so-a;so-b\n",
        ),
        stdout=StringIO(),
    )
    first, second = AuditEvent.objects.filter(action="agency.directory_import").order_by("id")
    assert first.data["groups_changed"] == {}
    assert second.data["groups_changed"] == {
        "nhom": {
            "kinds": {"from": [], "to": ["department"]},
            "members": {"from": [a.pk], "to": sorted([a.pk, b.pk])},
        }
    }

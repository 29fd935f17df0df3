"""Agency names as documents write them: aliases, groups, commas inside names, "-"."""

from __future__ import annotations

from agencies.matching import NameResolver
from agencies.models import Agency, AgencyAlias
from agencies.selectors import agency_search
from agencies.text import matches_search, normalize_name, search_words


def test_normalize_name():
    assert normalize_name("Văn phòng  UBND tỉnh.") == normalize_name("van phong ubnd TINH")
    assert normalize_name("Sở KH&CN") == "so kh&cn"
    assert normalize_name("Đắk Lắk") == "dak lak"


def test_resolve_cells(khanh_hoa):
    r = NameResolver()
    cell = r.resolve_cell("Văn phòng Tỉnh ủy, Văn phòng UBND tỉnh")
    assert [m.name for m in cell.matches] == ["Văn phòng Tỉnh ủy", "Văn phòng UBND tỉnh"]
    cell = r.resolve_cell("Sở KH&CN; VP UBND tỉnh")
    assert [m.name for m in cell.agencies] == ["Sở Khoa học và Công nghệ", "Văn phòng UBND tỉnh"]
    cell = r.resolve_cell("Sở Văn hóa, Thể thao và Du lịch")
    assert [m.name for m in cell.agencies] == ["Sở Văn hóa, Thể thao và Du lịch"]
    cell = r.resolve_cell("Các sở, ban, ngành, địa phương")
    assert [(m.kind, m.name) for m in cell.matches] == [("group", "Sở, ban, ngành, địa phương")]
    cell = r.resolve_cell("Sở, ban, ngành")
    assert [(m.kind, m.name) for m in cell.matches] == [("group", "Các sở, ban, ngành")]
    assert r.resolve_cell("-").matches == [] and r.resolve_cell("  ").matches == []
    cell = r.resolve_cell("Sở Tài chính, Trung tâm Dữ liệu, Phát triển số tỉnh")
    assert [m.name for m in cell.agencies] == ["Sở Tài chính"]
    assert cell.unknown == ["Trung tâm Dữ liệu, Phát triển số tỉnh"]


def test_groups_expand_by_kind_and_membership(khanh_hoa):
    from agencies.models import AgencyGroup

    dp = AgencyGroup.objects.get(code="cac-dia-phuong")
    assert set(dp.member_agencies().values_list("kind", flat=True)) == {Agency.Kind.COMMUNE}
    vt = AgencyGroup.objects.get(code="dn-vien-thong")
    assert vt.covers(khanh_hoa["viettel"]) and not vt.covers(khanh_hoa["so-khcn"])
    khanh_hoa["viettel"].is_active = False
    khanh_hoa["viettel"].save()
    assert "viettel" not in set(vt.member_agencies().values_list("code", flat=True))


def test_search_text_includes_aliases(khanh_hoa, user_a):
    agency = khanh_hoa["so-xay-dung"]
    assert not agency_search(user=user_a, q="so xd tinh").exists()
    AgencyAlias.objects.create(agency=agency, alias="Sở XD tỉnh")
    assert list(agency_search(user=user_a, q="so xd tinh")) == [agency]
    AgencyAlias.objects.get(agency=agency, alias="Sở XD tỉnh").delete()
    assert not agency_search(user=user_a, q="so xd tinh").exists()


def test_in_memory_search_agrees_with_the_directory_search(khanh_hoa, user_a):
    """The league page filters agencies it has already read with ``matches_search``."""
    agencies = list(Agency.objects.filter(is_active=True))
    for q in ("so khoa hoc", "Sở KH&CN", "UBND", "  ", "phường nha trang", "không tồn tại"):
        words = search_words(q)
        in_memory = {a.pk for a in agencies if matches_search(a.search_text, words)}
        assert in_memory == set(agency_search(user=user_a, q=q).values_list("pk", flat=True)), q
    assert search_words("  Sở  KH&CN ") == ["so", "kh&cn"]


def test_demo_seed_is_idempotent(db):
    from agencies.demo import seed_agencies_and_accounts

    first = seed_agencies_and_accounts(password="Pw-demo-123")
    count = Agency.objects.count()
    second = seed_agencies_and_accounts(password="Pw-demo-123")
    assert first == second and Agency.objects.count() == count
    usernames = {u for u, *_ in first}
    assert {"canbo_khcn", "canbo_vpubnd", "thamdinh", "lanhdao", "quantri"} <= usernames
    roles = {r for _, r, *_ in first}
    assert roles == {"agency_staff", "reviewer", "leader", "council", "admin"}


def test_reviewer_declares_an_alias_on_the_directory_page(khanh_hoa, reviewer, user_a, client_as):
    from django.urls import reverse

    vp = khanh_hoa["vp-ubnd"]
    url = reverse("agencies:agency_detail", args=[vp.pk])
    assert client_as(user_a).post(url, {"alias": "VP UB tỉnh"}).status_code == 403
    resp = client_as(reviewer).post(url, {"alias": "VP UB tỉnh"})
    assert resp.status_code == 302
    assert NameResolver().lookup("vp ub tinh").name == "Văn phòng UBND tỉnh"
    # The name of another agency cannot become an alias.
    resp = client_as(reviewer).post(url, {"alias": "Sở Tài chính"})
    assert resp.status_code == 200 and "cơ quan khác" in resp.content.decode()
    assert not AgencyAlias.objects.filter(alias="Sở Tài chính").exists()


def test_reviewer_adds_an_agency_without_duplicates(khanh_hoa, reviewer, user_a, client_as):
    from django.urls import reverse

    url = reverse("agencies:agency_list")
    data = {"new_name": "Trung tâm Phục vụ hành chính công tỉnh", "new_kind": "department"}
    assert client_as(user_a).post(url, data).status_code == 403
    resp = client_as(reviewer).post(url, data)
    assert resp.status_code == 302
    created = Agency.objects.get(name="Trung tâm Phục vụ hành chính công tỉnh")
    assert created.kind == "department" and created.code == "trung-tam-phuc-vu-hanh-chinh-cong-tinh"
    # The same name without diacritics, or an existing alias, is refused.
    for name in ["TRUNG TAM PHUC VU HANH CHINH CONG TINH", "Sở KHCN"]:
        resp = client_as(reviewer).post(url, {"new_name": name, "new_kind": "other"})
        assert resp.status_code == 200 and "đã có" in resp.content.decode()
    assert (
        Agency.objects.filter(
            normalized_name=normalize_name("Trung tâm Phục vụ hành chính công tỉnh")
        ).count()
        == 1
    )

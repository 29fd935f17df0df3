"""API routes (API.md) and pages, per persona (acceptance 6): agency staff see published
frameworks and their own assignments; only reviewers and admins import or publish."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agencies.models import User
from indicators.models import Framework
from indicators.services import framework_import
from tests.factories import UserFactory
from tests.indicators.builders import simple_rows, xlsx

MANAGERS = ["reviewer", "admin"]
OTHERS = ["a", "leader"]


@pytest.fixture
def draft(khanh_hoa):
    r = framework_import(actor=None, data=xlsx(simple_rows()), code="draft-x", year=2026)
    return Framework.objects.get(pk=r.framework_id)


# --- API ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["a", "b", "leader", "reviewer", "admin"])
def test_framework_list_scope(who, personas, api_as, published_2025, draft):
    resp = api_as(personas[who]).get("/api/v1/frameworks/")
    assert resp.status_code == 200
    codes = {f["code"] for f in resp.json()["results"]}
    assert "count" in resp.json() and "next" in resp.json()
    if who in MANAGERS:
        assert codes == {"dti-2025", "draft-x"}
    else:
        assert codes == {"dti-2025"}
        assert api_as(personas[who]).get(f"/api/v1/frameworks/{draft.pk}/").status_code == 404


def test_framework_code_filter(personas, api_as, published_2025, draft):
    resp = api_as(personas["reviewer"]).get("/api/v1/frameworks/?code=draft-x")
    assert [f["code"] for f in resp.json()["results"]] == ["draft-x"]


def test_framework_detail_tree_as_api_md(user_a, api_as, published_2025):
    resp = api_as(user_a).get(f"/api/v1/frameworks/{published_2025.pk}/")
    assert resp.status_code == 200
    body = resp.json()
    tree = body["tree"]
    assert [m["code"] for m in tree] == [str(i) for i in range(1, 10)]
    assert [m["max_points"] for m in tree][:3] == ["50.00", "50.00", "200.00"]
    sub = tree[0]["sub_indicators"][1]
    assert set(sub) >= {
        "code",
        "name",
        "max_points",
        "scoring_rule",
        "measures",
        "lead_agency",
        "coordinating_agencies",
    }
    assert sub["code"] == "1.2"
    assert sub["lead_agency"]["name"] == "Sở Khoa học và Công nghệ"
    assert {a["name"] for a in sub["coordinating_agencies"]} == {
        "Văn phòng Tỉnh ủy",
        "Văn phòng UBND tỉnh",
    }
    assert sub["scoring_rule"] == {"type": "yes_no", "measure": "done"}
    assert set(sub["measures"][0]) >= {"code", "label", "kind"}
    s33 = tree[2]["sub_indicators"][2]
    assert [g["name"] for g in s33["coordinating_groups"]] == ["Các doanh nghiệp viễn thông"]
    # the group's members report too: they are coordinating agencies
    assert {"VNPT Khánh Hòa", "Viettel Khánh Hòa", "MobiFone Khánh Hòa"} <= {
        a["name"] for a in s33["coordinating_agencies"]
    }
    lead = s33["lead_agency"]["id"] if s33["lead_agency"] else None
    assert lead not in {a["id"] for a in s33["coordinating_agencies"]}
    assert sum(len(m["sub_indicators"]) for m in tree) == 50


def test_agencies_search_ignores_diacritics(user_a, api_as, khanh_hoa):
    c = api_as(user_a)
    for q in ["so khoa hoc", "Sở Khoa học", "SO KHOA HOC VA CONG NGHE", "kh&cn", "so-khcn"]:
        names = [a["name"] for a in c.get("/api/v1/agencies/", {"q": q}).json()["results"]]
        assert "Sở Khoa học và Công nghệ" in names, q
    names = [a["name"] for a in c.get("/api/v1/agencies/", {"q": "cong an"}).json()["results"]]
    assert names == ["Công an tỉnh"]
    # Aliases are searchable too.
    names = [
        a["name"]
        for a in c.get("/api/v1/agencies/", {"q": "vien thong khanh hoa"}).json()["results"]
    ]
    assert names == ["VNPT Khánh Hòa"]
    resp = c.get("/api/v1/agencies/", {"q": "khong co co quan nay"})
    assert resp.json()["count"] == 0


@pytest.mark.parametrize("who", ["a", "leader", "reviewer", "admin"])
def test_api_import_permissions(who, personas, api_as, khanh_hoa):
    upload = SimpleUploadedFile("f.xlsx", xlsx(simple_rows()))
    resp = api_as(personas[who]).post(
        "/api/v1/frameworks/import/",
        {"file": upload, "code": f"api-{who}", "year": 2026},
        format="multipart",
    )
    if who in MANAGERS:
        assert resp.status_code == 201, resp.content
        assert resp.json()["scored_sub_count"] == 3
        assert Framework.objects.filter(code=f"api-{who}").exists()
    else:
        assert resp.status_code == 403
        assert not Framework.objects.filter(code=f"api-{who}").exists()


def test_api_import_dry_run_and_bad_file(reviewer, api_as, khanh_hoa):
    c = api_as(reviewer)
    upload = SimpleUploadedFile("f.xlsx", xlsx(simple_rows()))
    resp = c.post(
        "/api/v1/frameworks/import/",
        {"file": upload, "code": "dry", "year": 2026, "dry_run": True},
        format="multipart",
    )
    assert resp.status_code == 200 and resp.json()["dry_run"] is True
    assert not Framework.objects.filter(code="dry").exists()
    bad = SimpleUploadedFile("f.xlsx", b"not a workbook")
    resp = c.post(
        "/api/v1/frameworks/import/", {"file": bad, "code": "bad", "year": 2026}, format="multipart"
    )
    assert resp.status_code == 400
    assert "không phải bảng tính Excel" in resp.json()["errors"][0]


@pytest.mark.parametrize("who", ["a", "leader", "reviewer", "admin"])
def test_api_publish_permissions(who, personas, api_as, draft):
    resp = api_as(personas[who]).post(f"/api/v1/frameworks/{draft.pk}/publish/")
    status = Framework.objects.get(pk=draft.pk).status
    if who in MANAGERS:
        assert resp.status_code == 200 and status == "published"
    else:
        # Others cannot even see the draft; either way nothing changes.
        assert resp.status_code == 403 and status == "draft"


def test_api_publish_published_conflicts(reviewer, api_as, published_2025):
    resp = api_as(reviewer).post(f"/api/v1/frameworks/{published_2025.pk}/publish/")
    assert resp.status_code == 409


def test_api_requires_authentication(api_client, khanh_hoa):
    assert api_client.get("/api/v1/frameworks/").status_code in (401, 403)
    assert api_client.get("/api/v1/agencies/").status_code in (401, 403)


# --- pages --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["a", "leader", "reviewer", "admin"])
def test_import_page_permissions(who, personas, client_as, khanh_hoa):
    c = client_as(personas[who])
    resp = c.get(reverse("indicators:framework_import"))
    assert resp.status_code == (200 if who in MANAGERS else 403)
    upload = SimpleUploadedFile("f.xlsx", xlsx(simple_rows()))
    resp = c.post(
        reverse("indicators:framework_import"), {"file": upload, "code": "ui", "year": 2026}
    )
    assert resp.status_code == (302 if who in MANAGERS else 403)


@pytest.mark.parametrize("who", ["a", "leader"])
def test_publish_page_forbidden_for_others(who, personas, client_as, draft):
    resp = client_as(personas[who]).post(reverse("indicators:framework_publish", args=[draft.pk]))
    assert resp.status_code == 403
    assert Framework.objects.get(pk=draft.pk).status == "draft"


def test_import_page_flow_with_preview_mapping_and_confirm(reviewer, client_as, khanh_hoa):
    c = client_as(reviewer)
    rows = simple_rows(coord="Trung tâm Chuyển đổi số tỉnh")
    upload = SimpleUploadedFile("phu_luc.xlsx", xlsx(rows))
    resp = c.post(
        reverse("indicators:framework_import"),
        {"file": upload, "code": "ui", "year": 2026, "name": ""},
    )
    assert resp.status_code == 302
    preview_url = resp.headers["Location"]
    resp = c.get(preview_url)
    html = resp.content.decode()
    assert "Trung tâm Chuyển đổi số tỉnh" in html and "Tạo cơ quan mới" in html
    assert not Framework.objects.filter(code="ui").exists()  # the preview is a dry run
    # Confirming without a mapping refuses and changes nothing.
    resp = c.post(preview_url, {"action": "confirm"})
    assert resp.status_code == 200 and not Framework.objects.filter(code="ui").exists()
    # Map the unknown name to an existing agency, then confirm.
    vp = khanh_hoa["vp-ubnd"]
    resp = c.post(
        preview_url,
        {"action": "preview", "name_1": "Trung tâm Chuyển đổi số tỉnh", "map_1": str(vp.pk)},
    )
    assert resp.status_code == 200 and "Chạy thử thành công" in resp.content.decode()
    resp = c.post(preview_url, {"action": "confirm"})
    fw = Framework.objects.get(code="ui")
    assert resp.headers["Location"] == reverse("indicators:framework_detail", args=[fw.pk])
    assert fw.indicators.get(code="1.1").coordinating_agencies.get() == vp


def test_import_page_asks_for_the_unit_type_and_keeps_it(reviewer, client_as, khanh_hoa):
    """A department set imported through the page is stored as a department set (the trend
    lineage matches on unit type), and the framework pages say so."""
    c = client_as(reviewer)
    url = reverse("indicators:framework_import")
    html = c.get(url).content.decode()
    assert 'name="unit_type"' in html
    assert '<option value="province" selected>' in html  # the model's default
    upload = SimpleUploadedFile("so.xlsx", xlsx(simple_rows()))
    resp = c.post(url, {"file": upload, "code": "so-2026", "year": 2026, "unit_type": "department"})
    preview_url = resp.headers["Location"]
    html = c.get(preview_url).content.decode()
    assert '<strong id="import-unit-type">Sở, ban, ngành</strong>' in html
    assert not Framework.objects.filter(code="so-2026").exists()
    c.post(preview_url, {"action": "confirm"})
    fw = Framework.objects.get(code="so-2026")
    assert fw.unit_type == Framework.UnitType.DEPARTMENT
    detail = c.get(reverse("indicators:framework_detail", args=[fw.pk])).content.decode()
    assert "Đối tượng đánh giá: Sở, ban, ngành" in " ".join(detail.split())
    listing = c.get(reverse("indicators:framework_list")).content.decode()
    assert "<td>Sở, ban, ngành</td>" in listing


def test_import_page_rejects_an_unknown_unit_type(reviewer, client_as, khanh_hoa):
    upload = SimpleUploadedFile("x.xlsx", xlsx(simple_rows()))
    resp = client_as(reviewer).post(
        reverse("indicators:framework_import"),
        {"file": upload, "code": "x-2026", "year": 2026, "unit_type": "ministry"},
    )
    assert resp.status_code == 200 and "unit_type" in resp.context["form"].errors


def test_import_page_without_a_unit_type_keeps_the_file_s_own(reviewer, client_as, khanh_hoa):
    """A post without the field (an older form, a script) falls back to the file's metadata: a
    department set exported in the portal's template comes back as a department set."""
    from indicators.importer.export import export_framework_xlsx

    src = framework_import(
        actor=None, data=xlsx(simple_rows()), code="src", year=2026, unit_type="commune"
    )
    data = export_framework_xlsx(Framework.objects.get(pk=src.framework_id))
    c = client_as(reviewer)
    resp = c.post(
        reverse("indicators:framework_import"),
        {"file": SimpleUploadedFile("t.xlsx", data), "code": "copy", "year": 2027},
    )
    c.post(resp.headers["Location"], {"action": "confirm"})
    assert Framework.objects.get(code="copy").unit_type == Framework.UnitType.COMMUNE


def test_api_import_takes_the_unit_type(reviewer, api_as, khanh_hoa):
    resp = api_as(reviewer).post(
        "/api/v1/frameworks/import/",
        {
            "file": SimpleUploadedFile("x.xlsx", xlsx(simple_rows())),
            "code": "xa-2026",
            "year": 2026,
            "unit_type": "commune",
        },
        format="multipart",
    )
    assert resp.status_code == 201 and resp.json()["unit_type"] == "commune"
    assert Framework.objects.get(code="xa-2026").unit_type == Framework.UnitType.COMMUNE


def test_import_page_shows_row_errors(reviewer, client_as, khanh_hoa):
    rows = simple_rows()
    rows[2][2] = 25
    c = client_as(reviewer)
    resp = c.post(
        reverse("indicators:framework_import"),
        {"file": SimpleUploadedFile("x.xlsx", xlsx(rows)), "code": "ui2", "year": 2026},
    )
    html = c.get(resp.headers["Location"]).content.decode()
    assert "Dòng 5: tổng điểm các chỉ số con của 1 là 55" in html


@pytest.mark.parametrize("who", ["a", "b", "leader", "reviewer", "admin"])
def test_framework_pages_per_persona(who, personas, client_as, published_2025, draft):
    c = client_as(personas[who])
    assert c.get(reverse("indicators:framework_list")).status_code == 200
    resp = c.get(reverse("indicators:framework_detail", args=[published_2025.pk]))
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Sở Khoa học và Công nghệ" in html and "Các doanh nghiệp viễn thông" in html
    assert ("Chỉnh sửa (tạo phiên bản mới)" in html) == (who in MANAGERS)
    draft_status = c.get(reverse("indicators:framework_detail", args=[draft.pk])).status_code
    assert draft_status == (200 if who in MANAGERS else 404)
    assert (
        c.get(reverse("indicators:framework_export", args=[published_2025.pk])).status_code == 200
    )


def test_my_indicators_lead_coordinate_and_groups(client_as, published_2025, khanh_hoa):
    def page(agency_code):
        user = UserFactory(agency=khanh_hoa[agency_code], role=User.Role.AGENCY_STAFF)
        return client_as(user).get(reverse("indicators:my_indicators")).context["mine"]

    ca = page("cong-an")
    assert [i.code for i in ca.led] == ["5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "8.1"]
    vnpt = page("vnpt")
    assert not vnpt.led
    assert [i.code for i in vnpt.coordinated] == ["3.1", "3.2", "3.3", "3.4", "7.4", "8.2"]
    assert all(i.via_group_names == ["Các doanh nghiệp viễn thông"] for i in vnpt.coordinated)
    ward = page("p-nha-trang")
    codes = [i.code for i in ward.coordinated]
    assert "4.5" in codes and "1.3" in codes and "2.1" not in codes  # not a department
    vptu = page("vp-tinh-uy")
    assert [i.code for i in vptu.coordinated] == ["1.1", "1.2"] and not vptu.coordinated[
        0
    ].via_group_names
    khcn = page("so-khcn")
    assert "1.1" in [i.code for i in khcn.led] and "2.4" in [i.code for i in khcn.coordinated]


def test_agency_directory_pages(user_a, reviewer, client_as, khanh_hoa):
    c = client_as(user_a)
    resp = c.get(reverse("agencies:agency_list"), {"q": "so khoa hoc"})
    assert resp.status_code == 200
    assert [a.name for a in resp.context["page"].object_list] == ["Sở Khoa học và Công nghệ"]
    resp = c.get(reverse("agencies:agency_detail", args=[khanh_hoa["vnpt"].pk]))
    assert "Các doanh nghiệp viễn thông" in resp.content.decode()
    assert c.get(reverse("agencies:accounts_export")).status_code == 403
    resp = client_as(reviewer).get(reverse("agencies:accounts_export"))
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/vnd.openxml")


def test_abandoned_uploads_are_swept(reviewer, client_as, khanh_hoa):
    import os
    import time

    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    old = default_storage.save("imports/old.xlsx", ContentFile(b"x"))
    stale = time.time() - 3 * 24 * 3600
    os.utime(default_storage.path(old), (stale, stale))
    c = client_as(reviewer)
    c.post(
        reverse("indicators:framework_import"),
        {"file": SimpleUploadedFile("f.xlsx", xlsx(simple_rows())), "code": "sw", "year": 2026},
    )
    assert not default_storage.exists(old)


def test_framework_export_is_audited(user_a, client_as, published_2025):
    from agencies.models import AuditEvent

    client_as(user_a).get(reverse("indicators:framework_export", args=[published_2025.pk]))
    assert AuditEvent.objects.filter(action="framework.export", actor=user_a).exists()


def test_api_import_with_agency_mapping(reviewer, api_as, khanh_hoa):
    import json

    c = api_as(reviewer)
    rows = simple_rows(coord="Phòng CĐS tỉnh")
    resp = c.post(
        "/api/v1/frameworks/import/",
        {"file": SimpleUploadedFile("f.xlsx", xlsx(rows)), "code": "m1", "year": 2026},
        format="multipart",
    )
    assert resp.status_code == 400
    assert resp.json()["unknown_agencies"][0]["name"] == "Phòng CĐS tỉnh"
    mapping = json.dumps({"Phòng CĐS tỉnh": khanh_hoa["so-khcn"].pk})
    resp = c.post(
        "/api/v1/frameworks/import/",
        {
            "file": SimpleUploadedFile("f.xlsx", xlsx(rows)),
            "code": "m1",
            "year": 2026,
            "agency_mapping": mapping,
        },
        format="multipart",
    )
    assert resp.status_code == 201, resp.content


def test_api_not_found_message_follows_the_chosen_language(reviewer, api_as, settings):
    c = api_as(reviewer)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    r = c.get("/api/v1/frameworks/999999/")
    assert r.status_code == 404
    assert r.json()["detail"] == "Framework not found."

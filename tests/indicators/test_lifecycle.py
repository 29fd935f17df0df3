"""Acceptance 4: export → import round-trips; published is immutable (edit = new draft version);
crosswalk create and view; history."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from indicators.importer import export_framework_xlsx
from indicators.models import Crosswalk, Framework, Indicator
from indicators.services import (
    crosswalk_create,
    framework_archive,
    framework_import,
    framework_new_version,
    framework_publish,
    indicator_update,
)
from tests.indicators.builders import xlsx


def canonical(fw: Framework) -> dict:
    """Everything that defines a framework except its own code and identity."""
    nodes = (
        Indicator.objects.filter(framework=fw)
        .select_related("parent", "lead_agency")
        .prefetch_related("measures", "coordinating_agencies", "coordinating_groups")
    )
    return {
        "meta": (fw.name, fw.year, fw.decision, fw.unit_type, fw.total_points),
        "nodes": {
            n.code: (
                n.level,
                n.parent.code if n.parent else None,
                n.name,
                n.max_points,
                n.scoring_method,
                n.evidence_guidance,
                n.is_ministry_measured,
                n.scoring_rule,
                n.lead_agency_id,
                sorted(a.pk for a in n.coordinating_agencies.all()),
                sorted(g.pk for g in n.coordinating_groups.all()),
                [
                    (m.code, m.label, m.kind, m.unit, m.required, m.choices, m.position)
                    for m in n.measures.all()
                ],
            )
            for n in nodes
        },
    }


def test_export_then_import_round_trips(framework_2025, tmp_path, reviewer):
    # Make the framework richer than the defaults: a custom rule, guidance, Ministry flag.
    s = Indicator.objects.get(framework=framework_2025, code="1.2")
    indicator_update(
        actor=reviewer,
        indicator=s,
        changes={
            "scoring_method": "Có văn bản: 10 điểm; không có: 0 điểm.",
            "evidence_guidance": "Số, ngày văn bản",
            "is_ministry_measured": True,
        },
    )
    path = tmp_path / "export.xlsx"
    call_command("export_framework", framework_2025.code, str(path), stdout=StringIO())
    call_command(
        "import_framework", str(path), "--code", "copy", "--year", "2025", stdout=StringIO()
    )
    copy = Framework.objects.get(code="copy")
    assert canonical(copy) == canonical(framework_2025)
    # And a second round trip is stable too.
    again = framework_import(actor=None, data=export_framework_xlsx(copy), code="copy2", year=2025)
    assert canonical(Framework.objects.get(pk=again.framework_id)) == canonical(framework_2025)


def test_round_trip_with_groups_and_decimals(khanh_hoa):
    rows = [
        ["I", "Nhóm I", 100.5, None, None],
        ["1", "Nhận thức số", 100.5, None, None],
        [
            "1.1",
            "Tỷ lệ cán bộ được tập huấn",
            50.25,
            "Sở KH&CN",
            "Các doanh nghiệp viễn thông; Sở Nội vụ",
        ],
        ["1.2", "Ban hành kế hoạch", 50.25, "Công an tỉnh", "-"],
    ]
    r = framework_import(actor=None, data=xlsx(rows), code="a", year=2024)
    a = Framework.objects.get(pk=r.framework_id)
    b_report = framework_import(actor=None, data=export_framework_xlsx(a), code="b", year=2024)
    assert b_report.layout == "template"
    assert canonical(Framework.objects.get(pk=b_report.framework_id)) == canonical(a)


def test_publish_only_when_points_add_up(framework_2025, reviewer):
    s = Indicator.objects.get(framework=framework_2025, code="1.1")
    indicator_update(actor=reviewer, indicator=s, changes={"max_points": Decimal("12")})
    with pytest.raises(ValidationFailed) as exc:
        framework_publish(actor=reviewer, framework=framework_2025)
    assert any("1 là 52" in p for p in exc.value.errors["framework"])
    indicator_update(actor=reviewer, indicator=s, changes={"max_points": Decimal("10")})
    fw = framework_publish(actor=reviewer, framework=framework_2025)
    assert fw.status == Framework.Status.PUBLISHED and fw.published_at is not None


def test_published_framework_is_immutable(published_2025, reviewer):
    s = Indicator.objects.get(framework=published_2025, code="1.1")
    with pytest.raises(Conflict):
        indicator_update(actor=reviewer, indicator=s, changes={"name": "Khác"})
    s.refresh_from_db()
    assert s.name.startswith("Người đứng đầu")
    with pytest.raises(Conflict):
        framework_publish(actor=reviewer, framework=published_2025)


def test_published_framework_is_read_only_in_the_admin(published_2025, admin_user, client):
    """The Django admin is no way around immutability: no change form, no delete, no edit of
    the total (the DTI divisor) nor of any sub-indicator."""
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    client.force_login(admin_user)
    change = reverse("admin:indicators_framework_change", args=[published_2025.pk])
    before = Framework.objects.filter(pk=published_2025.pk).values().get()
    resp = client.post(change, {"code": "x", "name": "x", "year": 2030, "total_points": "1"})
    assert resp.status_code == 403
    assert Framework.objects.filter(pk=published_2025.pk).values().get() == before
    resp = client.post(
        reverse("admin:indicators_framework_delete", args=[published_2025.pk]), {"post": "yes"}
    )
    assert resp.status_code == 403 and Framework.objects.filter(pk=published_2025.pk).exists()
    page = client.get(change)  # still viewable, read-only
    assert page.status_code == 200 and b'name="_save"' not in page.content
    sub = Indicator.objects.get(framework=published_2025, code="1.1")
    resp = client.post(reverse("admin:indicators_indicator_change", args=[sub.pk]), {"name": "x"})
    assert resp.status_code == 403


def test_edit_makes_a_new_draft_version(published_2025, reviewer):
    new = framework_new_version(actor=reviewer, framework=published_2025)
    assert new.status == Framework.Status.DRAFT
    assert new.previous_version == published_2025
    assert new.code == f"{published_2025.code}-v2"
    old_c, new_c = canonical(published_2025), canonical(new)
    assert old_c["nodes"] == new_c["nodes"]  # tree, measures, rules, assignments copied
    assert Crosswalk.objects.filter(source=published_2025, target=new).count() == len(
        old_c["nodes"]
    )
    s = Indicator.objects.get(framework=new, code="1.1")
    indicator_update(actor=reviewer, indicator=s, changes={"name": "Tên mới"})
    assert Indicator.objects.get(framework=published_2025, code="1.1").name != "Tên mới"
    # Publishing the new version archives the old one.
    framework_publish(actor=reviewer, framework=new)
    assert Framework.objects.get(pk=published_2025.pk).status == Framework.Status.ARCHIVED


def test_archive_only_published(framework_2025, reviewer):
    with pytest.raises(Conflict):
        framework_archive(actor=reviewer, framework=framework_2025)


def test_crosswalk_create_and_view(published_2025, reviewer, client_as):
    new = framework_new_version(actor=reviewer, framework=published_2025, code="v2")
    crosswalk_create(
        actor=reviewer, source=published_2025, target=new, pairs=[("4.2", "4.3")], note="Gộp"
    )
    with pytest.raises(ValidationFailed):
        crosswalk_create(actor=reviewer, source=published_2025, target=new, pairs=[("99.1", "4.3")])
    c = client_as(reviewer)
    url = reverse("indicators:framework_compare") + f"?left={published_2025.pk}&right={new.pk}"
    resp = c.get(url)
    assert resp.status_code == 200
    html = resp.content.decode()
    assert 'id="compare-table"' in html and "ánh xạ" in html
    # Adding a mapping through the page.
    resp = c.post(url, {"source_code": "9.1", "target_code": "9.2", "note": "đổi mã"})
    assert resp.status_code == 302
    assert Crosswalk.objects.filter(
        source=published_2025, target=new, source_code="9.1", target_code="9.2"
    ).exists()


def test_crosswalk_only_for_reviewers(published_2025, reviewer, user_a):
    new = framework_new_version(actor=reviewer, framework=published_2025, code="v2")
    with pytest.raises(NotAllowed):
        crosswalk_create(actor=user_a, source=published_2025, target=new, pairs=[("1.1", "1.1")])


def test_history_tab(framework_2025, reviewer, client_as):
    s = Indicator.objects.get(framework=framework_2025, code="2.1")
    indicator_update(actor=reviewer, indicator=s, changes={"name": "Nghị quyết chuyên đề (sửa)"})
    resp = client_as(reviewer).get(
        reverse("indicators:framework_history", args=[framework_2025.pk])
    )
    assert resp.status_code == 200
    assert "Nghị quyết chuyên đề (sửa)" in resp.content.decode()


def test_edit_page_on_draft_and_refusal_on_published(
    framework_2025, reviewer, client_as, khanh_hoa
):
    c = client_as(reviewer)
    s = Indicator.objects.get(framework=framework_2025, code="3.5")
    url = reverse("indicators:indicator_edit", args=[s.pk])
    assert c.get(url).status_code == 200
    resp = c.post(
        url,
        {
            "name": s.name,
            "max_points": "30",
            "scoring_method": "Đạt: 30 điểm",
            "evidence_guidance": "",
            "lead_agency": khanh_hoa["vp-ubnd"].pk,
            "coordinating_agencies": [khanh_hoa["so-noi-vu"].pk],
            "scoring_rule": '{"type": "yes_no", "measure": "done"}',
        },
    )
    assert resp.status_code == 302
    s.refresh_from_db()
    assert s.lead_agency.code == "vp-ubnd" and s.scoring_method == "Đạt: 30 điểm"
    # An invalid rule is refused with the scoring module's message.
    resp = c.post(url, {"name": s.name, "max_points": "30", "scoring_rule": '{"type": "ratio"}'})
    assert resp.status_code == 200 and "Thiếu mã số liệu" in resp.content.decode()
    framework_publish(actor=reviewer, framework=framework_2025)
    resp = c.get(url)
    assert resp.status_code == 302


def test_new_version_button_and_publish_via_pages(framework_2025, reviewer, client_as):
    c = client_as(reviewer)
    resp = c.post(reverse("indicators:framework_publish", args=[framework_2025.pk]))
    assert resp.status_code == 302
    assert Framework.objects.get(pk=framework_2025.pk).status == "published"
    resp = c.post(reverse("indicators:framework_new_version", args=[framework_2025.pk]))
    new = Framework.objects.get(previous_version=framework_2025)
    assert resp.headers["Location"] == reverse("indicators:framework_detail", args=[new.pk])


def test_edit_measures_and_rule_together(framework_2025, reviewer):
    s = Indicator.objects.get(framework=framework_2025, code="3.5")
    measures = [
        {"code": "numerator", "label": "Số hệ thống trên đám mây", "kind": "numerator"},
        {"code": "denominator", "label": "Tổng số hệ thống", "kind": "denominator"},
    ]
    rule = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
    with pytest.raises(ValidationFailed):  # the rule does not fit the current measures
        indicator_update(actor=reviewer, indicator=s, changes={"scoring_rule": rule})
    indicator_update(actor=reviewer, indicator=s, changes={"scoring_rule": rule}, measures=measures)
    assert list(s.measures.values_list("code", "kind")) == [
        ("numerator", "numerator"),
        ("denominator", "denominator"),
    ]
    with pytest.raises(ValidationFailed) as exc:
        indicator_update(
            actor=reviewer,
            indicator=s,
            changes={},
            measures=[{"code": "x", "label": "", "kind": "bogus"}],
        )
    assert "measures" in exc.value.errors


def test_publish_problems_show_points_in_the_readers_number_format(framework_2025, reviewer):
    """A civil servant reads 1.000 and 50,5, never "1E+3" (a normalized Decimal) or 50.5."""
    from django.utils import translation

    s = Indicator.objects.get(framework=framework_2025, code="1.1")
    indicator_update(actor=reviewer, indicator=s, changes={"max_points": Decimal("10.5")})
    Framework.objects.filter(pk=framework_2025.pk).update(total_points=Decimal("1200.5"))
    framework_2025 = Framework.objects.get(pk=framework_2025.pk)
    with pytest.raises(ValidationFailed) as exc:
        framework_publish(actor=reviewer, framework=framework_2025)
    problems = exc.value.errors["framework"]
    assert "Tổng điểm các chỉ số con của 1 là 50,5, khác 50." in problems
    assert "Tổng điểm các chỉ số chính là 1.000, khác tổng điểm 1.200,5 của bộ chỉ số." in problems
    with translation.override("en"), pytest.raises(ValidationFailed) as exc:
        framework_publish(actor=reviewer, framework=framework_2025)
    assert (
        "The points of the main indices add up to 1,000, not the framework's total of 1,200.5."
        in exc.value.errors["framework"]
    )


def test_archive_button_says_archive_in_english(published_2025, reviewer, client_as, settings):
    """The word "Lưu trữ" is both the state (Archived) and the button (Archive)."""
    c = client_as(reviewer)
    c.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = c.get(reverse("indicators:framework_detail", args=[published_2025.pk])).content
    assert b'type="submit">Archive</button>' in html

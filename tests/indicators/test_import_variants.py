"""Acceptance 2: the layouts other provinces use, each built in the test."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agencies.models import Agency, AgencyAlias
from indicators.models import Framework, Indicator
from indicators.services import ImportFailed, framework_import
from tests.indicators.builders import HEADER, simple_rows, xlsx


def _import(data: bytes, code: str = "t", **kw):
    report = framework_import(actor=None, data=data, code=code, year=2025, **kw)
    return report, Framework.objects.get(pk=report.framework_id)


def _points(fw):
    return {
        i.code: (i.level, i.max_points, i.parent.code if i.parent else None)
        for i in Indicator.objects.filter(framework=fw).select_related("parent")
    }


def test_group_level_with_totals_and_decimal_points(khanh_hoa):
    rows = [
        ["I", "NHÓM CHỈ SỐ NỀN TẢNG", 100.5, None, None],
        ["1", "Nhận thức số", 60.5, None, None],
        ["1.1", "Ban hành kế hoạch chuyển đổi số", 30.25, "Sở KH&CN", "-"],
        ["1.2", "Tỷ lệ cán bộ được tập huấn", 30.25, "Sở Nội vụ", "Các sở, ban, ngành"],
        ["2", "Hạ tầng số", 40, None, None],
        ["2.1", "Mức độ triển khai nền tảng", 40, "Sở KH&CN", None],
        ["II", "NHÓM CHỈ SỐ HOẠT ĐỘNG", 899.5, None, None],
        ["3", "Chính quyền số", 899.5, None, None],
        ["3.1", "Tỷ lệ hồ sơ trực tuyến", 899.5, "Văn phòng UBND tỉnh", "Sở KH&CN"],
        [None, "Tổng cộng", 1000, None, None],
    ]
    report, fw = _import(xlsx(rows))
    assert fw.total_points == Decimal("1000")
    pts = _points(fw)
    assert pts["I"] == ("group", Decimal("100.50"), None)
    assert pts["1"] == ("main", Decimal("60.50"), "I")
    assert pts["1.1"] == ("sub", Decimal("30.25"), "1")
    assert pts["3"] == ("main", Decimal("899.50"), "II")
    assert report.group_count == 2 and len(report.main_indices) == 3
    s12 = Indicator.objects.get(framework=fw, code="1.2")
    assert s12.lead_agency.name == "Sở Nội vụ"
    assert [g.name for g in s12.coordinating_groups.all()] == ["Các sở, ban, ngành"]


def test_group_points_may_be_empty_and_are_summed(khanh_hoa):
    rows = [
        ["I", "Nhóm I", None, None, None],
        *simple_rows(),
    ]
    _, fw = _import(xlsx(rows))
    assert Indicator.objects.get(framework=fw, code="I").max_points == Decimal("100")


def test_total_row_tong_cong_checked(khanh_hoa):
    rows = [*simple_rows(), ["", "Tổng cộng", "100", "", ""]]
    report, fw = _import(xlsx(rows))
    assert fw.total_points == Decimal("100")
    bad = [*simple_rows(), ["", "TỔNG CỘNG", 90, "", ""]]
    with pytest.raises(ImportFailed) as exc:
        framework_import(actor=None, data=xlsx(bad), code="t2", year=2025)
    assert any("Dòng 10" in e and "khác tổng cộng 90" in e for e in exc.value.report.errors)


def test_points_written_the_vietnamese_way(khanh_hoa):
    """Text cells as a Vietnamese appendix writes them: "1.000" is a thousand, "899,5" a half."""
    rows = [
        ["I", "NHÓM CHỈ SỐ NỀN TẢNG", "100,5", None, None],
        ["1", "Nhận thức số", "100,5", None, None],
        ["1.1", "Tỷ lệ cán bộ được tập huấn", "100,5", "Sở Nội vụ", None],
        ["II", "NHÓM CHỈ SỐ HOẠT ĐỘNG", "899,5", None, None],
        ["3", "Chính quyền số", "899,5", None, None],
        ["3.1", "Tỷ lệ hồ sơ trực tuyến", "899,5", "Văn phòng UBND tỉnh", None],
        [None, "Tổng cộng", "1.000", None, None],
    ]
    _report, fw = _import(xlsx(rows))
    assert fw.total_points == Decimal("1000")
    assert _points(fw)["3.1"] == ("sub", Decimal("899.50"), "3")


def test_no_agency_columns(khanh_hoa):
    rows = [r[:3] for r in simple_rows()]
    report, fw = _import(xlsx(rows, header=HEADER[:3]))
    assert Indicator.objects.filter(framework=fw, level="sub").count() == 3
    assert not Indicator.objects.filter(framework=fw, lead_agency__isnull=False).exists()
    assert report.unknown_agencies == []


@pytest.mark.parametrize("height", [0, 1, 7, 15])
def test_title_block_of_any_height(khanh_hoa, height):
    title = [f"Dòng tiêu đề {i}" for i in range(height)]
    _, fw = _import(xlsx(simple_rows(), title=title, blank_after_title=2 if height else 0))
    assert Indicator.objects.filter(framework=fw).count() == 5


def test_trailing_dot_codes_and_points_as_text(khanh_hoa):
    rows = [
        ["1.", "Nhận thức số", "60", None, None],
        ["1.1.", "Ban hành kế hoạch chuyển đổi số", "30", "Sở KH&CN", "-"],
        ["1.2.", "Tỷ lệ cán bộ được tập huấn", "30,0", "Sở KH&CN", "-"],
        ["2.", "Hạ tầng số", " 40 ", None, None],
        ["2.1.", "Mức độ triển khai nền tảng", "40 điểm", "Sở KH&CN", "-"],
    ]
    _, fw = _import(xlsx(rows))
    pts = _points(fw)
    assert set(pts) == {"1", "1.1", "1.2", "2", "2.1"}
    assert pts["1.2"] == ("sub", Decimal("30"), "1")
    assert pts["2.1"][1] == Decimal("40")


def test_natural_code_order_and_numeric_codes(khanh_hoa):
    rows = [["1", "A", 100, None, None]] + [
        [f"1.{i}", f"Ban hành văn bản {i}", 10, "Sở KH&CN", "-"] for i in range(1, 11)
    ]
    _, fw = _import(xlsx(rows))
    codes = list(
        Indicator.objects.filter(framework=fw, level="sub")
        .order_by("sort_key")
        .values_list("code", flat=True)
    )
    assert codes == [f"1.{i}" for i in range(1, 11)]


def test_criteria_level(khanh_hoa):
    rows = [
        ["1", "Nhận thức số", 20, None, None],
        ["1.1", "Ban hành kế hoạch", 20, "Sở KH&CN", "-"],
        ["1.1.1", "Kế hoạch 5 năm", 10, None, None],
        ["1.1.2", "Kế hoạch hằng năm", 10, None, None],
    ]
    _, fw = _import(xlsx(rows))
    assert _points(fw)["1.1.2"] == ("criterion", Decimal("10"), "1.1")


def test_merged_agency_cells_in_a_built_file(khanh_hoa):
    """A lead merged over three rows applies to each; an empty unmerged cell is "none"."""
    rows = [
        ["1", "Nhận thức số", 60, None, None],
        ["1.1", "Ban hành kế hoạch", 20, "Công an tỉnh", "Sở Tài chính; Sở Nội vụ"],
        ["1.2", "Ban hành quy chế", 20, None, None],
        ["1.3", "Ban hành chính sách", 20, None, None],
        ["2", "Hạ tầng số", 40, None, None],
        ["2.1", "Triển khai nền tảng", 40, "Sở KH&CN", None],
    ]
    first = 5  # title (2 lines) + blank + header → data from row 5
    data = xlsx(rows, merges=[f"D{first + 1}:D{first + 3}", f"E{first + 1}:E{first + 2}"])
    _, fw = _import(data)
    subs = {
        i.code: i
        for i in Indicator.objects.filter(framework=fw, level="sub").prefetch_related(
            "coordinating_agencies"
        )
    }
    assert {c: s.lead_agency.name for c, s in subs.items()} == {
        "1.1": "Công an tỉnh",
        "1.2": "Công an tỉnh",
        "1.3": "Công an tỉnh",
        "2.1": "Sở Khoa học và Công nghệ",
    }
    assert {a.name for a in subs["1.2"].coordinating_agencies.all()} == {
        "Sở Tài chính",
        "Sở Nội vụ",
    }
    assert not subs["1.3"].coordinating_agencies.exists()


def test_matching_ignores_case_diacritics_and_spacing(khanh_hoa):
    rows = simple_rows(lead="  so kh&cn ", coord="VĂN PHÒNG  UBND TỈNH.")
    _, fw = _import(xlsx(rows))
    s = Indicator.objects.get(framework=fw, code="1.1")
    assert s.lead_agency.code == "so-khcn"
    assert [a.code for a in s.coordinating_agencies.all()] == ["vp-ubnd"]


def test_unknown_agency_mapped_to_existing_records_an_alias(khanh_hoa):
    rows = simple_rows(lead="Sở Khoa học Công nghệ tỉnh")
    with pytest.raises(ImportFailed) as exc:
        framework_import(actor=None, data=xlsx(rows), code="t", year=2025)
    assert [u.name for u in exc.value.report.unknown_agencies] == ["Sở Khoa học Công nghệ tỉnh"]
    khcn = Agency.objects.get(code="so-khcn")
    count = Agency.objects.count()
    _, fw = _import(xlsx(rows), agency_mapping={"Sở Khoa học Công nghệ tỉnh": str(khcn.pk)})
    assert Agency.objects.count() == count  # never duplicated
    assert Indicator.objects.get(framework=fw, code="1.1").lead_agency == khcn
    assert AgencyAlias.objects.filter(agency=khcn, alias="Sở Khoa học Công nghệ tỉnh").exists()
    # Next time the name is known.
    framework_import(actor=None, data=xlsx(rows), code="t3", year=2025)


def test_unknown_agency_created_on_request(khanh_hoa):
    rows = simple_rows(coord="Trung tâm Dữ liệu tỉnh")
    _, fw = _import(xlsx(rows), agency_mapping={"Trung tâm Dữ liệu tỉnh": "create:other"})
    created = Agency.objects.get(name="Trung tâm Dữ liệu tỉnh")
    assert Indicator.objects.get(framework=fw, code="1.2").coordinating_agencies.get() == created


def test_lead_must_be_a_single_agency(khanh_hoa):
    rows = simple_rows(lead="Các sở, ban, ngành")
    with pytest.raises(ImportFailed) as exc:
        framework_import(actor=None, data=xlsx(rows), code="t", year=2025)
    assert any("không phải nhóm" in e and e.startswith("Dòng 6") for e in exc.value.report.errors)


@pytest.mark.parametrize("target", ["²", "9" * 30, "abc"])
def test_a_malformed_mapping_target_leaves_the_name_unknown(khanh_hoa, target):
    """The preview posts the mapping as text: what is no agency id maps nothing (it raised
    ValueError or OverflowError, a 500 on the preview)."""
    rows = simple_rows(lead="Sở Khoa học Công nghệ tỉnh")
    with pytest.raises(ImportFailed) as exc:
        framework_import(
            actor=None,
            data=xlsx(rows),
            code="t",
            year=2025,
            agency_mapping={"Sở Khoa học Công nghệ tỉnh": target},
        )
    assert [u.name for u in exc.value.report.unknown_agencies] == ["Sở Khoa học Công nghệ tỉnh"]

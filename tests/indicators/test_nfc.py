"""A framework appendix written in decomposed Unicode (NFD: saved on macOS, typed with Unikey's
"tổ hợp" mode) imports as composed text (NFC), and its agencies still resolve."""

from __future__ import annotations

import unicodedata

import pytest
from django.urls import reverse

from indicators.models import Framework, Indicator, Measure
from indicators.services import framework_import, indicator_update
from tests.factories import FrameworkFactory, IndicatorFactory
from tests.indicators.builders import HEADER, simple_rows, xlsx
from tests.nfc import nfd, run_data_migration


def test_nfd_appendix_stores_nfc(khanh_hoa):
    rows = [[nfd(c) for c in row] for row in simple_rows(lead="Sở Khoa học và Công nghệ")]
    data = xlsx(
        rows, title=[nfd("PHỤ LỤC"), nfd("BỘ CHỈ SỐ ĐÁNH GIÁ")], header=[nfd(h) for h in HEADER]
    )
    report = framework_import(actor=None, data=data, code="t", year=2025)
    fw = Framework.objects.get(pk=report.framework_id)
    names = dict(Indicator.objects.filter(framework=fw).values_list("code", "name"))
    assert names["1"] == "Nhận thức số"
    assert names["1.1"] == "Ban hành kế hoạch chuyển đổi số"
    assert all(unicodedata.is_normalized("NFC", n) for n in names.values())
    assert unicodedata.is_normalized("NFC", fw.name)
    lead = Indicator.objects.get(framework=fw, code="1.1").lead_agency
    assert lead is not None and lead.short_name == "Sở KH&CN"


@pytest.mark.django_db
def test_migration_normalises_indicator_text_and_refuses_equal_codes():
    fw = FrameworkFactory(name="Bộ chỉ số")
    ind = IndicatorFactory(framework=fw, code="1.a", name="Nhận thức số")
    Measure.objects.create(indicator=ind, code="m", label="Số", kind="count", choices=["Đạt"])
    Framework.objects.filter(pk=fw.pk).update(name=nfd("Bộ chỉ số"))
    Indicator.objects.filter(pk=ind.pk).update(name=nfd("Nhận thức số"))
    Measure.objects.update(label=nfd("Số"), choices=[nfd("Đạt")])
    run_data_migration("indicators.migrations.0004_text_nfc")
    assert Framework.objects.get(pk=fw.pk).name == "Bộ chỉ số"
    assert Indicator.objects.get(pk=ind.pk).name == "Nhận thức số"
    assert list(Measure.objects.values_list("label", "choices")) == [("Số", ["Đạt"])]
    # Two codes of one framework that only differ by their Unicode form.
    IndicatorFactory(framework=fw, code="2.ế")
    other = IndicatorFactory(framework=fw, code="2.x")
    Indicator.objects.filter(pk=other.pk).update(code=nfd("2.ế"), name=nfd("Hạ tầng"))
    with pytest.raises(RuntimeError, match="indicators.Indicator.*framework_id, code"):
        run_data_migration("indicators.migrations.0004_text_nfc")
    assert Indicator.objects.get(pk=other.pk).name == nfd("Hạ tầng")  # nothing written


@pytest.mark.django_db
def test_admin_refuses_an_nfd_duplicate_of_an_indicator_code(admin_user, client_as):
    fw = FrameworkFactory()
    IndicatorFactory(framework=fw, code="1.ế")
    resp = client_as(admin_user).post(
        reverse("admin:indicators_indicator_add"),
        {
            "framework": fw.pk,
            "level": "sub",
            "code": nfd("1.ế"),
            "name": "Chỉ số",
            "max_points": "5",
            "scoring_rule": "{}",
            "measures-TOTAL_FORMS": "0",
            "measures-INITIAL_FORMS": "0",
        },
    )
    assert resp.status_code == 200
    assert Indicator.objects.filter(framework=fw).count() == 1


@pytest.mark.django_db
def test_measures_edited_with_nfd_text_store_nfc(reviewer):
    """The edit page's measures are bulk-created (no ``save``): normalised where they are built."""
    ind = IndicatorFactory(scoring_rule={"type": "manual", "measure": "so"}, max_points=10)
    indicator_update(
        actor=reviewer,
        indicator=ind,
        changes={"name": nfd("Nhận thức số")},
        measures=[
            {"code": "so", "label": nfd("Số văn bản"), "kind": "count"},
            {
                "code": "muc",
                "label": nfd("Mức độ"),
                "kind": "level",
                "unit": nfd("mức"),
                "choices": [{"key": "a", "label": nfd("Đạt")}],
            },
        ],
    )
    ind.refresh_from_db()
    assert ind.name == "Nhận thức số"
    assert Measure.objects.get(indicator=ind, code="so").label == "Số văn bản"
    measure = Measure.objects.get(indicator=ind, code="muc")
    assert (measure.label, measure.unit) == ("Mức độ", "mức")
    assert measure.choices == [{"key": "a", "label": "Đạt"}]

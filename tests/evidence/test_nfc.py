"""Reported text (values, explanations, evidence document fields, review reasons) typed in
decomposed Unicode (NFD: Unikey "tổ hợp", macOS) is stored composed (NFC), from a page or the
API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from evidence import services
from evidence.models import EvidenceFile, Submission
from indicators.models import Measure
from tests.evidence.reporting_factories import make_world
from tests.factories import IndicatorFactory, MeasureFactory
from tests.nfc import nfd, run_data_migration

pytestmark = pytest.mark.django_db

NOTE = "Đã ban hành kế hoạch số 12/KH-UBND"


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


@pytest.fixture
def text_indicator(world, user_a):
    ind = IndicatorFactory(
        framework=world.framework,
        parent=world.ratio.parent,
        code="1.9",
        scoring_rule={"type": "manual"},
        lead_agency=user_a.agency,
    )
    MeasureFactory(indicator=ind, code="desc", label="Mô tả", kind=Measure.Kind.TEXT)
    return ind


def test_submission_page_with_nfd_input_stores_nfc(world, text_indicator, user_a, client_as):
    url = reverse("evidence:submission_edit", args=[world.period.pk, text_indicator.pk])
    resp = client_as(user_a).post(
        url, {"version": "0", "v_desc": nfd("Có cổng dịch vụ công"), "note": nfd(NOTE)}
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    sub = Submission.objects.get(indicator=text_indicator)
    assert sub.values["desc"] == "Có cổng dịch vụ công"
    assert sub.note == NOTE


def test_api_write_with_nfd_input_stores_nfc(world, text_indicator, user_a, api_as):
    resp = api_as(user_a).post(
        reverse("api:submission-list"),
        {
            "indicator": text_indicator.pk,
            "period": world.period.pk,
            "values": {"desc": nfd("Có cổng dịch vụ công")},
            "note": nfd(NOTE),
        },
        format="json",
    )
    assert resp.status_code == 201, resp.content
    sub = Submission.objects.get(indicator=text_indicator)
    assert sub.values["desc"] == "Có cổng dịch vụ công" and sub.note == NOTE
    assert resp.json()["note"] == NOTE


def test_evidence_document_fields_with_nfd_input_store_nfc(
    world, text_indicator, user_a, client_as
):
    sub = services.submission_create(
        actor=user_a, period=world.period, indicator=text_indicator, values={}
    )
    resp = client_as(user_a).post(
        reverse("evidence:evidence_upload", args=[sub.pk]),
        {
            "url": "https://khanhhoa.gov.vn/ke-hoach",
            "doc_number": nfd("12/KH-UBND"),
            "issuer": nfd("Ủy ban nhân dân tỉnh"),
            "summary": nfd("Kế hoạch chuyển đổi số"),
        },
    )
    assert resp.status_code == 302
    ev = EvidenceFile.objects.get(submission=sub)
    assert (ev.issuer, ev.summary) == ("Ủy ban nhân dân tỉnh", "Kế hoạch chuyển đổi số")


def test_migration_normalises_reported_text(world, text_indicator, user_a):
    sub = services.submission_create(
        actor=user_a, period=world.period, indicator=text_indicator, values={}
    )
    Submission.objects.filter(pk=sub.pk).update(
        note=nfd(NOTE), values={"desc": nfd("Có cổng dịch vụ công")}
    )
    run_data_migration("evidence.migrations.0009_text_nfc")
    sub.refresh_from_db()
    assert sub.note == NOTE and sub.values == {"desc": "Có cổng dịch vụ công"}

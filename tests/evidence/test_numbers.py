"""One number reader for every entry point (Vietnamese 1.500 = 1500, 1.234,5; English 1,500),
bounded (no exponent, no 500s on 1e30), and stored numbers shown back in the reader's format so
that saving the form again stores the same values."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import load_workbook

from evidence import services
from evidence.models import ReportingPeriod, Submission
from evidence.services.values import (
    MAX_DECIMAL_PLACES,
    MAX_INTEGER_DIGITS,
    NumberError,
    clean_values,
    format_number,
    parse_number,
)
from indicators.models import Framework
from tests.evidence.reporting_factories import make_world
from tests.evidence.review_setup import make_item

D = Decimal
ONE_IN_TEN = {"numerator": "1", "denominator": "10"}


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


# --- the reader ------------------------------------------------------------------------------

BOTH = [
    ("1500", "1500"),
    ("1.234,5", "1234.5"),
    ("1,234.5", "1234.5"),
    ("1 234,5", "1234.5"),
    ("1\u00a0234,5", "1234.5"),
    ("1\u202f234\u202f567", "1234567"),
    ("80,5", "80.5"),
    ("80.5", "80.5"),
    ("0.125", "0.125"),
    ("0,125", "0.125"),
    ("1234.567", "1234.567"),
    ("1.234.567", "1234567"),
    ("1,234,567", "1234567"),
    ("  12,50 ", "12.5"),
    ("-3", "-3"),
]


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(("text", "expected"), BOTH)
def test_unambiguous_texts_read_the_same_in_both_languages(language, text, expected):
    with translation.override(language):
        assert parse_number(text) == D(expected)


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [("1.500", "1500", "1.5"), ("1,500", "1.5", "1500"), ("2.000", "2000", "2")],
)
def test_one_separator_before_three_digits_follows_the_language(text, vi, en):
    assert parse_number(text, language="vi") == D(vi)
    assert parse_number(text, language="en") == D(en)
    with translation.override("vi"):
        assert parse_number(text) == D(vi)  # the active language by default


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1500, "1500"), (80.5, "80.5"), (0.1, "0.1"), (D("1.50"), "1.5"), (0, "0")],
)
def test_json_and_excel_numbers_are_taken_as_they_are(raw, expected):
    assert parse_number(raw, language="vi") == D(expected)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1e30", NumberError.EXPONENT),
        ("1E+30", NumberError.EXPONENT),
        ("1e9999999", NumberError.EXPONENT),
        ("2,5e3", NumberError.EXPONENT),
        (1e30, NumberError.TOO_LARGE),
        (10**30, NumberError.TOO_LARGE),
        (D("1E+9999999"), NumberError.TOO_LARGE),
        ("1" * (MAX_INTEGER_DIGITS + 1), NumberError.TOO_LARGE),
        ("0," + "1" * (MAX_DECIMAL_PLACES + 1), NumberError.TOO_MANY_DECIMALS),
        (1e-7, NumberError.TOO_MANY_DECIMALS),
        ("1,23,456", NumberError.UNREADABLE),
        ("1.2.3", NumberError.UNREADABLE),
        ("12 34", NumberError.UNREADABLE),
        ("1 234.567.890", NumberError.UNREADABLE),
        ("1.234,5,6", NumberError.UNREADABLE),
        ("5.", NumberError.UNREADABLE),
        ("abc", NumberError.INVALID),
        ("\u0661\u0662", NumberError.INVALID),  # other scripts' digits
        ("", NumberError.INVALID),
        ("NaN", NumberError.INVALID),
        ("Infinity", NumberError.INVALID),
        (float("inf"), NumberError.INVALID),
        (True, NumberError.INVALID),
        ([1], NumberError.INVALID),
    ],
)
def test_refused_rather_than_guessed(raw, reason):
    with pytest.raises(NumberError) as exc:
        parse_number(raw, language="vi")
    assert exc.value.reason == reason


def test_bounds_are_inclusive():
    assert parse_number("9" * MAX_INTEGER_DIGITS) == D("9" * MAX_INTEGER_DIGITS)
    assert parse_number("0," + "1" * MAX_DECIMAL_PLACES, language="vi") == D("0.111111")
    assert parse_number("1,50000000", language="vi") == D("1.5")  # trailing zeros are free


def test_clean_values_gives_a_vietnamese_field_error_per_reason(world):
    measures = list(world.ratio.measures.all())
    with translation.override("vi"):
        values, errors = clean_values(measures, {"numerator": "1.500", "denominator": "2.000"})
        assert values == {"numerator": "1500", "denominator": "2000"} and not errors
        values, errors = clean_values(measures, {"numerator": "1.234,5", "denominator": "2.000"})
        assert values == {"numerator": "1234.5", "denominator": "2000"} and not errors
        _v, errors = clean_values(measures, {"numerator": "1e30", "denominator": "1,23,4"})
    assert "số mũ" in errors["numerator"]
    assert "không đọc được số “1,23,4”" in errors["denominator"]
    _v, errors = clean_values(measures, {"numerator": 1e30})
    assert "quá lớn" in errors["numerator"]


# --- formatting back, and the round trip -------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "vi", "en"),
    [
        ("80.5", "80,5", "80.5"),
        ("1500", "1.500", "1,500"),
        ("1234.567", "1.234,567", "1,234.567"),
        ("1.234", "1,234", "1.234"),
        ("0.000001", "0,000001", "0.000001"),
        ("0", "0", "0"),
    ],
)
def test_format_number_in_each_language_without_losing_precision(stored, vi, en):
    with translation.override("vi"):
        assert format_number(D(stored)) == vi
        assert parse_number(vi) == D(stored)
    with translation.override("en"):
        assert format_number(D(stored)) == en
        assert parse_number(en) == D(stored)


bounded_decimals = st.builds(
    lambda n, places: D(n).scaleb(-places),
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.integers(min_value=0, max_value=MAX_DECIMAL_PLACES),
).filter(lambda d: abs(d) < 10**MAX_INTEGER_DIGITS)


@hsettings(max_examples=300, deadline=None)
@given(value=bounded_decimals, language=st.sampled_from(["vi", "en"]))
def test_format_then_parse_is_the_same_decimal(value, language):
    with translation.override(language):
        assert parse_number(format_number(value)) == value


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "shown_num", "shown_den"), [("vi", "80,5", "1.500"), ("en", "80.5", "1,500")]
)
def test_saved_values_come_back_in_the_readers_format_and_resave_unchanged(
    world, user_a, client_as, language, shown_num, shown_den
):
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    c = in_language(client_as(user_a), language)
    typed = {"vi": ("80,5", "1.500"), "en": ("80.5", "1,500")}[language]
    resp = c.post(url, {"version": "0", "v_numerator": typed[0], "v_denominator": typed[1]})
    assert resp.status_code == 302
    sub = Submission.objects.get(indicator=world.ratio, agency=user_a.agency)
    assert sub.values == {"numerator": "80.5", "denominator": "1500"}
    html = c.get(url).content.decode()
    assert f'value="{shown_num}"' in html and f'value="{shown_den}"' in html
    # saving the displayed values again stores exactly the same values
    resp = c.post(
        url, {"version": str(sub.version), "v_numerator": shown_num, "v_denominator": shown_den}
    )
    assert resp.status_code == 302
    sub.refresh_from_db()
    assert sub.values == {"numerator": "80.5", "denominator": "1500"}


# --- every entry point: 400 with a field error, nothing saved --------------------------------


@pytest.mark.django_db
class TestEntryPoints:
    @pytest.fixture
    def draft(self, world, user_a):
        """A's draft of the ratio (1/10, version 1) and its API address."""
        sub = services.submission_create(
            actor=user_a, indicator=world.ratio, period=world.period, values=ONE_IN_TEN
        )
        return sub, reverse("api:submission-detail", args=[sub.pk])

    def test_api_reads_vietnamese_strings_and_json_numbers(self, draft, user_a, api_as):
        _sub, url = draft
        api = api_as(user_a)
        body = {"version": 1, "values": {"numerator": "1.234,5", "denominator": "2.000"}}
        ok = api.patch(url, body, format="json")
        assert ok.status_code == 200, ok.content
        assert ok.json()["values"] == {"numerator": "1234.5", "denominator": "2000"}
        body = {"version": 2, "values": {"numerator": 1.5, "denominator": 1500}}
        ok = api.patch(url, body, format="json")
        assert ok.status_code == 200, ok.content
        assert ok.json()["values"] == {"numerator": "1.5", "denominator": "1500"}

    @pytest.mark.parametrize(
        ("raw", "needle"), [("1e30", "số mũ"), (1e30, "quá lớn"), ("1e9999999", "số mũ")]
    )
    def test_api_refuses_huge_numbers(self, draft, user_a, api_as, raw, needle):
        sub, url = draft
        resp = api_as(user_a).patch(
            url, {"version": 1, "values": {"numerator": raw}}, format="json"
        )
        assert resp.status_code == 400, resp.content
        assert needle in resp.json()["values"]["numerator"]
        sub.refresh_from_db()
        assert sub.values == ONE_IN_TEN and sub.version == 1

    def test_page_save_refuses_with_the_error_on_the_field(self, world, user_a, client_as):
        url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
        resp = client_as(user_a).post(
            url, {"version": "0", "v_numerator": "1e30", "v_denominator": "10"}
        )
        assert resp.status_code == 400
        html = resp.content.decode()
        assert 'id="err_v_numerator"' in html and "số mũ" in html
        assert not Submission.objects.exists()

    def test_points_preview_refuses_with_a_field_error(self, world, user_a, client_as):
        url = reverse("evidence:points_preview", args=[world.period.pk, world.ratio.pk])
        c = client_as(user_a)
        for raw in ("1e30", "1e9999999", "9" * 20):
            resp = c.post(url, {"v_numerator": raw, "v_denominator": "10"})
            assert resp.status_code == 400, raw
            assert "Số CCVC chuyên trách" in resp.content.decode()
        ok = c.post(url, {"v_numerator": "1.234,5", "v_denominator": "2.000"})
        assert ok.status_code == 200
        assert "giá trị này cho 6,17/10 điểm" in ok.content.decode()

    def test_workbook_import(self, world, user_a, client_as):
        c = client_as(user_a)
        resp = c.get(reverse("evidence:workbook_download", args=[world.period.pk]))
        wb = load_workbook(io.BytesIO(resp.content))
        wb["1.1"]["A5"] = "1.050"
        wb["1.1"]["B5"] = "2.000"
        buf = io.BytesIO()
        wb.save(buf)
        upload = reverse("evidence:workbook_upload", args=[world.period.pk])
        resp = c.post(upload, {"file": SimpleUploadedFile("a.xlsx", buf.getvalue())})
        assert resp.status_code == 200
        assert "1.050" in resp.content.decode() and "1,05" not in resp.content.decode()
        assert c.post(reverse("evidence:workbook_confirm", args=[world.period.pk])).status_code
        sub = Submission.objects.get(indicator=world.ratio)
        assert sub.values == {"numerator": "1050", "denominator": "2000"}

        wb["1.1"]["A5"] = "1e30"
        wb["1.1"]["B5"] = 1e30
        buf = io.BytesIO()
        wb.save(buf)
        resp = c.post(upload, {"file": SimpleUploadedFile("b.xlsx", buf.getvalue())})
        html = resp.content.decode()
        assert resp.status_code == 400 and "số mũ" in html and "quá lớn" in html
        c.post(reverse("evidence:workbook_confirm", args=[world.period.pk]))
        sub.refresh_from_db()
        assert sub.values == {"numerator": "1050", "denominator": "2000"}


@pytest.mark.django_db
class TestReviewerPoints:
    @pytest.fixture
    def item(self, agency_a, agency_b):
        item = make_item(agency_a, agency_b)
        Submission.objects.filter(pk=item.consolidation.pk).update(state="submitted")
        return item

    @pytest.mark.parametrize("raw", ["1e30", "1e9999999", "1,2,3", "1e1"])
    def test_api_approve_refuses(self, item, reviewer, api_as, raw):
        sub = item.consolidation
        resp = api_as(reviewer).post(
            f"/api/v1/submissions/{sub.pk}/approve/",
            {"version": sub.version, "appraised_points": raw, "reason": "x"},
            format="json",
        )
        assert resp.status_code == 400, resp.content
        assert "appraised_points" in resp.json()
        sub.refresh_from_db()
        assert sub.state == "submitted" and sub.appraised_points is None

    @pytest.mark.parametrize(("raw", "needle"), [("1e30", "số mũ"), ("1,2,3", "không đọc")])
    def test_page_approve_refuses(self, item, reviewer, client_as, raw, needle):
        # The review page reports a refused action as a message on the item page.
        sub = item.consolidation
        resp = client_as(reviewer).post(
            reverse("evidence:review_approve", args=[sub.pk]),
            {"version": sub.version, "appraised_points": raw, "reason": "x"},
            follow=True,
        )
        assert resp.status_code == 200
        assert needle in resp.content.decode()
        sub.refresh_from_db()
        assert sub.state == "submitted" and sub.appraised_points is None

    def test_api_approve_reads_points_like_the_page(self, item, reviewer, api_as):
        sub = item.consolidation
        resp = api_as(reviewer).post(
            f"/api/v1/submissions/{sub.pk}/approve/",
            {"version": sub.version, "appraised_points": "7,5", "reason": "Thiếu văn bản"},
            format="json",
        )
        assert resp.status_code == 200, resp.content
        sub.refresh_from_db()
        assert sub.appraised_points == D("7.5")

    def test_service_reads_points_like_values(self, item, reviewer):
        from evidence.services import submission_approve

        sub = submission_approve(
            submission=item.consolidation,
            actor=reviewer,
            version=None,
            appraised_points="7,5",
            reason="Thiếu văn bản",
        )
        assert sub.appraised_points == D("7.5")


# --- the period form's year ----------------------------------------------------------------


@pytest.mark.django_db
def test_period_form_year_unlocalized_and_errors_on_the_field(world, reviewer, client_as):
    Framework.objects.filter(pk=world.framework.pk).update(status=Framework.Status.PUBLISHED)
    url = reverse("evidence:period_manage")
    c = client_as(reviewer)
    html = c.get(url).content.decode()
    import datetime

    year = datetime.date.today().year
    assert f'id="np-year" value="{year}"' in html
    resp = c.post(url, {"action": "create", "framework": world.framework.pk, "year": "abc"})
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="np-year-err"' in html and "Năm phải là một số nguyên" in html
    assert 'value="abc"' in html  # what was typed stays in the field
    resp = c.post(url, {"action": "create", "framework": world.framework.pk, "year": "1990"})
    assert resp.status_code == 400 and 'id="np-year-err"' in resp.content.decode()
    resp = c.post(url, {"action": "create", "framework": "x", "year": "2030", "quarter": "9"})
    html = resp.content.decode()
    assert resp.status_code == 400 and 'id="np-fw-err"' in html and 'id="np-q-err"' in html
    assert not ReportingPeriod.objects.filter(year__in=[1990, 2030]).exists()
    # a year shown with a thousands separator by an older page still opens the period
    resp = c.post(
        url, {"action": "create", "framework": world.framework.pk, "year": "2.031", "quarter": ""}
    )
    assert resp.status_code == 302
    assert ReportingPeriod.objects.filter(year=2031, quarter__isnull=True).exists()


@pytest.mark.django_db
def test_versions_and_ids_in_forms_are_not_grouped(item_with_big_version, reviewer, client_as):
    sub = item_with_big_version
    html = client_as(reviewer).get(reverse("evidence:review_detail", args=[sub.pk])).content
    html = html.decode()
    assert 'name="version" value="1234"' in html and 'value="1.234"' not in html


@pytest.fixture
def item_with_big_version(agency_a, agency_b):
    item = make_item(agency_a, agency_b)
    Submission.objects.filter(pk=item.consolidation.pk).update(state="submitted", version=1234)
    return Submission.objects.get(pk=item.consolidation.pk)

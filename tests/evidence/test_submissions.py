"""Submissions: validation from the measures, self-assessed points (live), carry-over,
optimistic locking (service, page, API), the lead's combined proposal and consolidation."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from dti_portal.errors import Conflict, NotAllowed, ValidationFailed
from evidence import services
from evidence.models import ReportingPeriod, Submission
from indicators.models import Measure
from tests.evidence.reporting_factories import make_world
from tests.factories import IndicatorFactory, MeasureFactory, UserFactory


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


def create(user, world, values, **kw):
    return services.submission_create(
        actor=user,
        indicator=kw.pop("indicator", world.ratio),
        period=world.period,
        values=values,
        **kw,
    )


@pytest.mark.django_db
class TestValues:
    def test_ratio_values_stored_as_decimal_strings_with_points(self, world, user_a):
        sub = create(user_a, world, {"numerator": "7,5", "denominator": 10}, note="Theo báo cáo")
        assert sub.values == {"numerator": "7.5", "denominator": "10"}
        assert sub.self_points == Decimal("7.5")
        assert sub.agency == user_a.agency
        assert sub.state == Submission.State.DRAFT
        assert sub.is_consolidation is False
        assert sub.version == 1

    @pytest.mark.parametrize(
        ("values", "code", "fragment"),
        [
            ({"numerator": "-1", "denominator": "10"}, "numerator", "không được âm"),
            ({"numerator": "abc", "denominator": "10"}, "numerator", "phải là một số"),
            ({"numerator": "11", "denominator": "10"}, "numerator", "không được lớn hơn"),
            ({"numerator": "1", "denominator": "2", "other": "1"}, "other", "Không có số liệu"),
            ({"numerator": "NaN", "denominator": "2"}, "numerator", "phải là một số"),
        ],
    )
    def test_invalid_values_refused_nothing_saved(self, world, user_a, values, code, fragment):
        with pytest.raises(ValidationFailed) as exc:
            create(user_a, world, values)
        assert fragment in exc.value.errors["values"][code]
        assert not Submission.objects.exists()

    def test_half_filled_draft_is_saved_and_submit_names_what_is_missing(self, world, user_a):
        """A civil servant saves what is known now and the rest later: blank required measures
        are checked at submit, with their names, not at every save."""
        from evidence.services import submission_submit

        sub = create(user_a, world, {"numerator": "7"})
        assert sub.values == {"numerator": "7"} and sub.state == Submission.State.DRAFT
        with pytest.raises(ValidationFailed) as exc:
            submission_submit(submission=sub, actor=user_a, version=sub.version)
        # the measure's label, never its code or kind ("(denominator)")
        assert exc.value.errors["values"] == ["Chưa nhập đủ số liệu bắt buộc: Tổng số CCVC."]
        assert exc.value.message == "Chưa nhập đủ số liệu bắt buộc: Tổng số CCVC."
        sub.refresh_from_db()
        assert sub.state == Submission.State.DRAFT

    def test_boolean_level_count_percent(self, world, agency_a):
        from evidence.services.values import clean_values

        ind = IndicatorFactory(framework=world.framework, code="9.1")
        ms = [
            MeasureFactory(indicator=ind, code="done", kind=Measure.Kind.BOOLEAN, label="Có KH"),
            MeasureFactory(
                indicator=ind,
                code="level",
                kind=Measure.Kind.LEVEL,
                label="Mức",
                choices=[{"key": "full", "label": "Chủ tịch"}, {"key": "half", "label": "Phó"}],
            ),
            MeasureFactory(indicator=ind, code="count", kind=Measure.Kind.COUNT, label="Số cuộc"),
            MeasureFactory(indicator=ind, code="pct", kind=Measure.Kind.PERCENT, label="Tỷ lệ"),
        ]
        ok, errors = clean_values(ms, {"done": "Có", "level": "Phó", "count": "3", "pct": "99,5"})
        assert errors == {}
        assert ok == {"done": "1", "level": "half", "count": "3", "pct": "99.5"}
        _ok, errors = clean_values(
            ms, {"done": "maybe", "level": "x", "count": "2.5", "pct": "101"}
        )
        assert set(errors) == {"done", "level", "count", "pct"}

    def test_agency_not_assigned_or_not_agency_staff_refused(self, world, user_a, reviewer):
        other = UserFactory(username="other")  # an agency with no assignment
        with pytest.raises(ValidationFailed):
            create(other, world, {"numerator": "1", "denominator": "2"})
        with pytest.raises(NotAllowed):
            create(reviewer, world, {"numerator": "1", "denominator": "2"})


@pytest.mark.django_db
class TestOptimisticLocking:
    def test_second_save_of_two_editors_is_refused_with_current_values(
        self, world, user_a, agency_a
    ):
        colleague = UserFactory(username="staff_a2", agency=agency_a)
        sub = create(user_a, world, {"numerator": "1", "denominator": "10"})
        seen = sub.version
        services.submission_update(
            submission=sub,
            actor=user_a,
            version=seen,
            values={"numerator": "5", "denominator": "10"},
        )
        with pytest.raises(Conflict) as exc:
            services.submission_update(
                submission=sub,
                actor=colleague,
                version=seen,
                values={"numerator": "9", "denominator": "10"},
            )
        assert "Số CCVC chuyên trách = 5" in exc.value.message
        assert exc.value.errors["current"]["values"]["numerator"] == "5"
        sub = Submission.objects.get(pk=sub.pk)
        assert sub.values["numerator"] == "5" and sub.version == seen + 1

    def test_page_shows_conflict_and_keeps_both(self, world, user_a, agency_a, client_as):
        colleague = UserFactory(username="staff_a2", agency=agency_a)
        sub = create(user_a, world, {"numerator": "1", "denominator": "10"})
        url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
        c1, c2 = client_as(user_a), client_as(colleague)
        form = {"version": sub.version, "v_numerator": "4", "v_denominator": "10", "note": ""}
        assert c1.post(url, form).status_code == 302
        resp = c2.post(url, {**form, "v_numerator": "8"})
        assert resp.status_code == 409
        html = resp.content.decode()
        assert "xung đột" in html
        assert "Số CCVC chuyên trách: <strong>4</strong>" in html
        assert 'value="8"' in html  # the second editor's input is still in the form
        sub = Submission.objects.get(pk=sub.pk)
        assert sub.values["numerator"] == "4"

    def test_api_patch_stale_version_409(self, world, user_a, api_as):
        sub = create(user_a, world, {"numerator": "1", "denominator": "10"})
        api = api_as(user_a)
        url = reverse("api:submission-detail", args=[sub.pk])
        ok = api.patch(url, {"version": 1, "values": {"numerator": "2", "denominator": "10"}})
        assert ok.status_code == 200, ok.content
        assert ok.json()["version"] == 2
        stale = api.patch(url, {"version": 1, "values": {"numerator": "3", "denominator": "10"}})
        assert stale.status_code == 409
        assert stale.json()["current"]["values"]["numerator"] == "2"


@pytest.mark.django_db
def test_live_points_preview_vietnamese_format(world, user_a, client_as):
    url = reverse("evidence:points_preview", args=[world.period.pk, world.ratio.pk])
    resp = client_as(user_a).post(url, {"v_numerator": "3", "v_denominator": "4"})
    assert resp.status_code == 200
    assert "giá trị này cho 7,5/10 điểm" in resp.content.decode()
    bad = client_as(user_a).post(url, {"v_numerator": "5", "v_denominator": "4"})
    assert "không được lớn hơn" in bad.content.decode()


@pytest.mark.django_db
def test_points_preview_thousands_format(world, user_a):
    from evidence.services.values import PointsPreview

    p = PointsPreview(Decimal("1234.5"), Decimal("2000"), True, (), "")
    assert p.text == "giá trị này cho 1.234,5/2.000 điểm"


@pytest.mark.django_db
def test_carry_over_from_previous_quarter(world, user_a, client_as):
    q3 = ReportingPeriod.objects.create(
        framework=world.framework, year=2025, quarter=3, deadline=world.period.deadline
    )
    services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=q3,
        values={"numerator": "6", "denominator": "8"},
        note="Quý 3",
    )
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    resp = client_as(user_a).post(url, {"action": "carry_over", "version": "0"})
    assert resp.status_code == 302
    sub = Submission.objects.get(period=world.period, agency=user_a.agency)
    assert sub.values == {"numerator": "6", "denominator": "8"}
    assert sub.note == "Quý 3"


@pytest.mark.django_db
def test_carry_over_without_a_previous_quarter_is_a_message_not_a_crash(world, user_a, client_as):
    """Q1 of a new framework version: no earlier quarter of it to copy from (was a 500)."""
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    resp = client_as(user_a).post(url, {"action": "carry_over", "version": "0"})
    assert resp.status_code == 400
    assert "Quý trước không có số liệu để chép sang." in resp.content.decode()
    assert not Submission.objects.filter(period=world.period, agency=user_a.agency).exists()


@pytest.mark.django_db
def test_carry_over_onto_a_draft_saved_meanwhile_is_a_conflict(world, user_a, client_as):
    """The page was opened before anyone saved (version 0); a colleague then saved a draft: the
    copy of last quarter's figures must not overwrite it silently."""
    q3 = ReportingPeriod.objects.create(
        framework=world.framework, year=2025, quarter=3, deadline=world.period.deadline
    )
    services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=q3,
        values={"numerator": "6", "denominator": "8"},
    )
    colleague = UserFactory(agency=user_a.agency, role=user_a.role)
    create(colleague, world, {"numerator": "1", "denominator": "2"}, note="Đồng nghiệp nhập")
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    resp = client_as(user_a).post(url, {"action": "carry_over", "version": "0"})
    assert resp.status_code == 409
    assert "người khác cập nhật" in resp.content.decode()
    sub = Submission.objects.get(period=world.period, agency=user_a.agency)
    assert sub.values == {"numerator": "1", "denominator": "2"} and sub.version == 1


@pytest.mark.django_db
@pytest.mark.parametrize("version", ["abc", "1.0", "-1"])
def test_malformed_version_is_a_stale_save_not_a_server_error(world, user_a, client_as, version):
    sub = create(user_a, world, {"numerator": "1", "denominator": "2"})
    c = client_as(user_a)
    url = reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk])
    resp = c.post(url, {"version": version, "v_numerator": "2", "v_denominator": "2"})
    assert resp.status_code == 409
    send = c.post(reverse("evidence:submission_send", args=[sub.pk]), {"version": version})
    assert send.status_code == 302
    sub.refresh_from_db()
    assert sub.values == {"numerator": "1", "denominator": "2"}
    assert sub.state == Submission.State.DRAFT and sub.version == 1


needs_transitions = pytest.mark.skipif(
    not hasattr(services, "submission_submit"),
    reason="submission_submit (review issue) not merged yet",
)


@needs_transitions
@pytest.mark.django_db
class TestLeadConsolidation:
    def sent(self, user, world, values):
        sub = create(user, world, values)
        # The review issue's transition moves it to submitted_to_lead.
        return services.submission_submit(submission=sub, actor=user, version=sub.version)

    def test_contribution_goes_to_lead_and_proposal_sums(self, world, user_a, user_b):
        a = self.sent(user_a, world, {"numerator": "3", "denominator": "4"})
        assert a.state == Submission.State.SUBMITTED_TO_LEAD
        # B only drafts: not part of the proposal and invisible to the lead.
        create(user_b, world, {"numerator": "1", "denominator": "10"})
        from evidence import selectors

        rows = selectors.lead_contributions(
            user=world.lead_user, indicator=world.ratio, period=world.period
        )
        by_agency = {r.agency.code: r for r in rows}
        assert by_agency["so-a"].reported and not by_agency["so-b"].reported
        assert services.lead_proposal(indicator=world.ratio, period=world.period) == {
            "numerator": "3",
            "denominator": "4",
        }

    def test_proposal_is_sum_of_numerators_over_sum_of_denominators(self, world, user_a, user_b):
        self.sent(user_a, world, {"numerator": "1", "denominator": "2"})
        self.sent(user_b, world, {"numerator": "9", "denominator": "18"})
        proposal = services.lead_proposal(indicator=world.ratio, period=world.period)
        assert proposal == {"numerator": "10", "denominator": "20"}

    def test_a_contribution_the_lead_returned_leaves_the_proposal(self, world, user_a, user_b):
        self.sent(user_a, world, {"numerator": "1", "denominator": "2"})
        b = self.sent(user_b, world, {"numerator": "9", "denominator": "18"})
        services.submission_return(
            submission=b,
            actor=world.lead_user,
            version=b.version,
            reason_code="khac",
            reason="Số liệu chưa khớp",
        )
        proposal = services.lead_proposal(indicator=world.ratio, period=world.period)
        assert proposal == {"numerator": "1", "denominator": "2"}

    def test_lead_adjusting_needs_reason_and_is_consolidation(self, world, user_a):
        self.sent(user_a, world, {"numerator": "3", "denominator": "4"})
        with pytest.raises(ValidationFailed) as exc:
            create(world.lead_user, world, {"numerator": "4", "denominator": "4"})
        assert "consolidation_reason" in exc.value.errors
        sub = create(
            world.lead_user,
            world,
            {"numerator": "4", "denominator": "4"},
            consolidation_reason="Bổ sung số liệu của Sở",
        )
        assert sub.is_consolidation and sub.self_points == Decimal("10")
        same = services.submission_update(
            submission=sub,
            actor=world.lead_user,
            version=sub.version,
            values={"numerator": "3", "denominator": "4"},
            consolidation_reason="",
        )
        assert same.self_points == Decimal("7.5")
        submitted = services.submission_submit(
            submission=same, actor=world.lead_user, version=same.version
        )
        assert submitted.state == Submission.State.SUBMITTED


@pytest.mark.django_db
def test_values_displayed_in_vietnamese_format(world):
    from evidence.services.values import display_value

    ind = IndicatorFactory(framework=world.framework, code="9.9")
    num = MeasureFactory(indicator=ind, code="n", kind=Measure.Kind.NUMBER)
    pct = MeasureFactory(indicator=ind, code="p", kind=Measure.Kind.PERCENT)
    yes = MeasureFactory(indicator=ind, code="b", kind=Measure.Kind.BOOLEAN)
    lvl = MeasureFactory(
        indicator=ind,
        code="l",
        kind=Measure.Kind.LEVEL,
        choices=[{"key": "full", "label": "Chủ tịch"}],
    )
    assert display_value(num, "1234.5") == "1.234,5"
    assert display_value(pct, "85") == "85%"
    assert display_value(yes, "1") == "Có" and display_value(yes, "0") == "Không"
    assert display_value(lvl, "full") == "Chủ tịch"
    assert display_value(num, None) == "—"


def _field_tag(html: str, name: str) -> str:
    """The opening tag of the form field ``id_<name>``."""
    before, after = html.split(f'id="id_{name}"', 1)
    return before.rsplit("<", 1)[1] + after.split(">", 1)[0]


@pytest.mark.django_db
def test_every_measure_input_is_required_and_tied_to_its_error(world, user_a, client_as):
    """Yes/no, level and text measures are announced as required like number ones, and a
    refused value's message is tied to its field (aria-invalid, aria-describedby)."""
    ind = IndicatorFactory(
        framework=world.framework,
        parent=world.ratio.parent,
        code="1.9",
        scoring_rule={"type": "manual"},
        lead_agency=user_a.agency,
    )
    MeasureFactory(indicator=ind, code="done", label="Đã ban hành", kind=Measure.Kind.BOOLEAN)
    MeasureFactory(indicator=ind, code="desc", label="Mô tả", kind=Measure.Kind.TEXT, position=2)
    url = reverse("evidence:submission_edit", args=[world.period.pk, ind.pk])
    c = client_as(user_a)
    html = c.get(url).content.decode()
    for name in ("v_done", "v_desc"):
        field = _field_tag(html, name)
        assert 'aria-required="true"' in field, name
    resp = c.post(url, {"version": "0", "v_done": "có lẽ", "v_desc": "x" * 5000})
    assert resp.status_code == 400
    html = resp.content.decode()
    for name in ("v_done", "v_desc"):
        field = _field_tag(html, name)
        assert 'aria-invalid="true"' in field and f'aria-describedby="err_{name}"' in field, name
        assert f'id="err_{name}"' in html

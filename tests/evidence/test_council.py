"""The appraisal council role (Hội đồng thẩm định): reads the province, sets final points, nothing
else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agencies.mfa import mfa_required
from agencies.models import User
from dti_portal.errors import NotAllowed
from evidence.models import Submission, SubmissionTransition
from evidence.services import (
    submission_approve,
    submission_reopen,
    submission_return,
    submission_submit,
)
from tests.evidence.review_setup import make_item
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
S = Submission.State


@pytest.fixture
def council(db):
    return UserFactory(username="hoidong", agency=None, role=User.Role.COUNCIL)


@pytest.fixture
def approved(agency_a, agency_b, user_a, reviewer):
    it = make_item(agency_a, agency_b, code="1.5", max_points="10")
    sub = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    return submission_approve(
        submission=sub, actor=reviewer, version=None, appraised_points="8", reason="thiếu"
    )


def test_council_member_sets_final_points_on_the_council_page(client_as, council, approved):
    c = client_as(council)
    page = c.get("/reporting/review/council/", {"period": approved.period_id})
    assert page.status_code == 200
    html = page.content.decode()
    # The code links to the read-only item page, not the reviewer's review page.
    assert f'href="/reporting/submissions/{approved.pk}/"' in html
    assert f'/reporting/review/{approved.pk}/"' not in html
    res = c.post(
        f"/reporting/review/{approved.pk}/final/",
        {
            "version": approved.version,
            "final_points": "9",
            "reason": "Hội đồng công nhận bổ sung",
            "next": f"/reporting/review/council/?period={approved.period_id}",
        },
    )
    assert res.status_code == 302 and res["Location"].startswith("/reporting/review/council/")
    approved.refresh_from_db()
    assert approved.final_points == Decimal("9")
    row = SubmissionTransition.objects.filter(submission=approved, action="set_final").get()
    assert row.actor == council and row.reason == "Hội đồng công nhận bổ sung"


def test_council_cannot_review(council, approved, agency_a, agency_b, user_a, client_as):
    with pytest.raises(NotAllowed):
        submission_reopen(submission=approved, actor=council, version=None, reason="x")
    it = make_item(agency_a, agency_b, code="1.6")
    sent = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    with pytest.raises(NotAllowed):
        submission_approve(submission=sent, actor=council, version=None)
    with pytest.raises(NotAllowed):
        submission_return(
            submission=sent, actor=council, version=None, reason_code="other", reason="x"
        )
    c = client_as(council)
    assert c.get("/reporting/review/").status_code == 403
    assert c.get(f"/reporting/review/{sent.pk}/").status_code == 403
    assert c.post(f"/reporting/review/{sent.pk}/approve/", {"version": 1}).status_code == 403
    sent.refresh_from_db()
    assert sent.state == S.SUBMITTED


def test_council_final_points_through_the_api(api_as, council, approved):
    res = api_as(council).post(
        f"/api/v1/submissions/{approved.pk}/final/",
        {"version": approved.version, "final_points": "8"},
        format="json",
    )
    assert res.status_code == 200, res.content
    approved.refresh_from_db()
    assert approved.final_points == Decimal("8")
    # A reason is required when the final points differ from the appraised ones.
    res = api_as(council).post(
        f"/api/v1/submissions/{approved.pk}/final/",
        {"version": approved.version, "final_points": "7"},
        format="json",
    )
    assert res.status_code == 400


def test_council_reads_the_province_and_lands_on_its_page(client_as, council, approved):
    assert council.sees_province
    c = client_as(council)
    home = c.get("/")
    assert home.status_code == 302 and home["Location"] == "/reporting/review/council/"
    page = c.get("/reporting/review/council/").content.decode()
    assert 'href="/reporting/review/council/"' in page  # in the navigation
    assert 'href="/reporting/review/"' not in page  # not the reviewers' queue
    assert c.get(f"/reporting/submissions/{approved.pk}/").status_code == 200
    assert c.get("/scores/").status_code == 200


def test_council_needs_mfa_when_it_is_on(settings, council):
    settings.DTI_MFA_REQUIRED = True
    assert mfa_required(council)


def test_accounts_import_accepts_the_council_role(reviewer):
    from agencies.services import accounts_import

    rows = [
        {"username": "hd_1", "full_name": "Thành viên Hội đồng", "role": "council", "password": ""}
    ]
    accounts_import(rows=rows, actor=reviewer)
    assert User.objects.get(username="hd_1").role == User.Role.COUNCIL


def test_reopen_clears_the_final_points_and_audits_them(
    council, approved, reviewer, user_a, client_as
):
    """A reopened item changes (values, appraised points): the council's earlier final points
    decided on what it was, so they must not come back on the re-approval and replace the new
    appraisal; the reopen records what was dropped."""
    from evidence.services import submission_set_final

    final = submission_set_final(
        submission=approved, actor=council, version=None, final_points="9", reason="bổ sung"
    )
    reopened = submission_reopen(
        submission=final, actor=reviewer, version=final.version, reason="Sai mẫu số"
    )
    assert reopened.final_points is None and reopened.final_reason == ""
    row = SubmissionTransition.objects.filter(submission=approved, action="reopen").get()
    assert row.data["previous_final_points"] == "9.0000" and row.data["final_points"] is None
    # The history tab shows the dropped final points from → to.
    html = client_as(reviewer).get(f"/reporting/submissions/{approved.pk}/history/").content
    assert "Điểm cuối cùng: <del>9</del> → —" in html.decode()
    resent = submission_submit(submission=reopened, actor=user_a, version=reopened.version)
    again = submission_approve(
        submission=resent, actor=reviewer, version=None, appraised_points="6", reason="thiếu"
    )
    again.refresh_from_db()
    assert again.final_points is None and again.appraised_points == Decimal("6")


def test_a_refused_final_on_the_council_page_names_its_row_and_keeps_what_was_typed(
    client_as, council, approved
):
    """The council page lists every approved item of the period: a refusal must say which item,
    and give back the points typed in that row with the error next to them."""
    c = client_as(council)
    page_url = f"/reporting/review/council/?period={approved.period_id}"
    res = c.post(
        f"/reporting/review/{approved.pk}/final/",
        {"version": approved.version, "final_points": "7,5", "reason": "", "next": page_url},
        follow=True,
    )
    assert res.status_code == 200
    html = res.content.decode()
    who = f"1.5 · {approved.agency.display_name}"
    assert f"{who}: Cần nêu lý do khi điểm cuối cùng khác điểm thẩm định." in html
    assert f'id="final-{approved.pk}" value="7,5"' in html
    assert f'aria-errormessage="err-final-reason-{approved.pk}"' in html
    approved.refresh_from_db()
    assert approved.final_points is None
    # Shown once: a reload gives the row back as it is stored.
    html = c.get(page_url).content.decode()
    assert f'id="final-{approved.pk}" value="8"' in html


@pytest.mark.parametrize(("raw", "stored"), [("7,5", "7.5"), (7.5, "7.5"), ("9", "9"), (8, "8")])
def test_api_final_points_read_like_the_page(api_as, council, approved, raw, stored):
    """The API reads the council's points with the portal's one number reader, as the page does
    (``parse_number``): a Vietnamese "7,5" is 7.5, a JSON number is taken as it is."""
    res = api_as(council).post(
        f"/api/v1/submissions/{approved.pk}/final/",
        {"version": approved.version, "final_points": raw, "reason": "Hội đồng điều chỉnh"},
        format="json",
    )
    assert res.status_code == 200, res.content
    approved.refresh_from_db()
    assert approved.final_points == Decimal(stored)


@pytest.mark.parametrize(
    ("raw", "needle"), [("1e1", "số mũ"), ("1,2,3", "không đọc"), ("", "số"), (None, "")]
)
def test_api_final_points_refused_like_the_page(api_as, council, approved, raw, needle):
    res = api_as(council).post(
        f"/api/v1/submissions/{approved.pk}/final/",
        {"version": approved.version, "final_points": raw, "reason": "x"},
        format="json",
    )
    assert res.status_code == 400, res.content
    assert needle in " ".join(res.json()["final_points"])
    approved.refresh_from_db()
    assert approved.final_points is None and approved.version == 3


def test_the_item_page_shows_the_council_the_appraisal_and_final_with_their_reasons(
    client_as, council, approved
):
    """The council page links each code to the read-only item page, and truncates the reasons:
    the item page gives the appraised and final points with the full reasons."""
    from evidence.services import submission_set_final

    reason = "Thiếu văn bản của UBND tỉnh về kế hoạch phủ sóng giai đoạn 2025-2030, " * 2
    Submission.objects.filter(pk=approved.pk).update(appraisal_reason=reason.strip())
    c = client_as(council)
    html = c.get(f"/reporting/submissions/{approved.pk}/").content.decode()
    assert 'id="appraised-points"' in html and reason.strip() in html
    assert 'id="final-points"' not in html  # none yet
    submission_set_final(
        submission=approved, actor=council, version=None, final_points="9", reason="Bổ sung đủ"
    )
    html = c.get(f"/reporting/submissions/{approved.pk}/").content.decode()
    assert "Bổ sung đủ" in html
    final_row = html.split('id="final-points"')[1].split("</tr>")[0]
    assert ">9<" in final_row.replace(" ", "")


def test_the_council_page_opens_on_the_latest_annual_round_with_approved_items(
    client_as, council, agency_a, agency_b, user_a, reviewer
):
    """In January the current period is a new, empty quarter: the council's page lands on the
    annual round it has to decide, with its approved items, unless a period is asked for."""
    import datetime

    from tests.factories import ReportingPeriodFactory

    today = datetime.date.today()
    quarter = ReportingPeriodFactory(
        year=2026, quarter=1, deadline=today + datetime.timedelta(days=5)
    )
    annual = ReportingPeriodFactory(
        framework=quarter.framework,
        year=2025,
        quarter=None,
        deadline=today + datetime.timedelta(days=10),
    )
    empty_annual = ReportingPeriodFactory(
        framework=quarter.framework,
        year=2026,
        quarter=None,
        deadline=today + datetime.timedelta(days=400),
    )
    it = make_item(agency_a, agency_b, code="1.5", period=annual)
    sub = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    submission_approve(
        submission=sub, actor=reviewer, version=None, appraised_points="8", reason="x"
    )
    c = client_as(council)
    html = c.get("/reporting/review/council/").content.decode()
    assert (
        f'value="{annual.pk}" selected' in html
        and f'href="/reporting/submissions/{sub.pk}/"' in html
    )
    html = c.get("/reporting/review/council/", {"period": quarter.pk}).content.decode()
    assert (
        f'value="{quarter.pk}" selected' in html and f"/reporting/submissions/{sub.pk}/" not in html
    )
    assert empty_annual.pk != annual.pk

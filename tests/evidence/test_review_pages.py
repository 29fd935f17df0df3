"""Review pages: queue (filters, order, fixed queries), item page, actions, bulk approve,
council, history tab, and the persona matrix over the pages."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from evidence.models import EvidenceFile, Submission, SubmissionTransition
from evidence.services import submission_approve, submission_submit
from tests.evidence.review_setup import make_item
from tests.factories import AgencyFactory, FrameworkFactory, ReportingPeriodFactory

S = Submission.State
pytestmark = pytest.mark.django_db


def _submitted_items(agency_a, agency_b, user_a, n, *, period=None, start=1):
    period = period or ReportingPeriodFactory(framework=FrameworkFactory())
    subs = []
    for i in range(start, start + n):
        it = make_item(agency_a, agency_b, code=f"1.{i}", period=period, max_points=str(i))
        subs.append(submission_submit(submission=it.consolidation, actor=user_a, version=1))
    return period, subs


def _evidence(sub, user, name, mime, **kw):
    return EvidenceFile.objects.create(
        submission=sub,
        kind="file",
        file=f"evidence/test/{name}",
        original_name=name,
        mime_type=mime,
        size=10,
        uploaded_by=user,
        **kw,
    )


def test_queue_lists_pending_lead_items_ordered(client_as, reviewer, agency_a, agency_b, user_a):
    period, subs = _submitted_items(agency_a, agency_b, user_a, 3)
    late = ReportingPeriodFactory(framework=period.framework, quarter=1)
    _p, late_subs = _submitted_items(agency_a, agency_b, user_a, 1, period=late, start=9)
    late.deadline = timezone.localdate() - datetime.timedelta(days=5)
    late.save()
    res = client_as(reviewer).get("/reporting/review/")
    assert res.status_code == 200
    rows = list(res.context["page"])
    # earliest deadline first, then the most points at stake
    assert [s.pk for s in rows] == [late_subs[0].pk] + [s.pk for s in reversed(subs)]
    # contributions (B's drafts) are not in the Sở's queue
    assert all(s.agency_id == agency_a.pk for s in rows)
    html = res.content.decode()
    assert "Quá hạn" in html and "1.3" in html


def test_queue_filters(client_as, reviewer, agency_a, agency_b, user_a):
    period, subs = _submitted_items(agency_a, agency_b, user_a, 3)
    submission_approve(submission=subs[0], actor=reviewer, version=None)
    c = client_as(reviewer)
    ids = lambda res: {s.pk for s in res.context["page"]}  # noqa: E731
    assert ids(c.get("/reporting/review/")) == {subs[1].pk, subs[2].pk}
    assert ids(c.get("/reporting/review/", {"state": "approved"})) == {subs[0].pk}
    assert ids(c.get("/reporting/review/", {"state": ""})) == {s.pk for s in subs}
    assert ids(c.get("/reporting/review/", {"indicator": subs[1].indicator_id})) == {subs[1].pk}
    main = subs[0].indicator.parent_id
    assert ids(c.get("/reporting/review/", {"main": main})) == {subs[1].pk, subs[2].pk}
    assert ids(c.get("/reporting/review/", {"agency": agency_b.pk})) == set()
    assert ids(c.get("/reporting/review/", {"period": period.pk, "overdue": "true"})) == set()
    period.deadline = timezone.localdate() - datetime.timedelta(days=1)
    period.save()
    assert ids(c.get("/reporting/review/", {"overdue": "true"})) == {subs[1].pk, subs[2].pk}


@pytest.mark.parametrize(
    "path",
    ["/reporting/review/", "/reporting/review/?state=", "/reporting/review/council/"],
)
def test_queue_and_council_fixed_queries(path, client_as, reviewer, agency_a, agency_b, user_a):
    c = client_as(reviewer)
    period, subs = _submitted_items(agency_a, agency_b, user_a, 2)
    for s in subs:
        submission_approve(submission=s, actor=reviewer, version=None)
    _submitted_items(agency_a, agency_b, user_a, 2, period=period, start=3)
    suffix = f"&period={period.pk}" if "?" in path else f"?period={period.pk}"
    with CaptureQueriesContext(connection) as small:
        assert c.get(path + suffix).status_code == 200
    more, more_subs = _submitted_items(
        agency_a, AgencyFactory(code="so-z"), user_a, 12, period=period, start=10
    )
    for s in more_subs[:6]:
        submission_approve(submission=s, actor=reviewer, version=None)
    with CaptureQueriesContext(connection) as large:
        assert c.get(path + suffix).status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large]


def test_detail_shows_values_contributions_and_evidence_previews(
    client_as, reviewer, agency_a, agency_b, user_a, user_b
):
    it = make_item(agency_a, agency_b)
    contrib = submission_submit(submission=it.contribution, actor=user_b, version=1)
    cons = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    pdf = _evidence(
        cons, user_a, "Quyết định số 12.pdf", "application/pdf", doc_number="12/QĐ-UBND"
    )
    img = _evidence(cons, user_a, "Ảnh hội nghị.png", "image/png")
    doc = _evidence(
        contrib,
        user_b,
        "Báo cáo.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )
    res = client_as(reviewer).get(f"/reporting/review/{cons.pk}/")
    assert res.status_code == 200
    html = res.content.decode()
    assert (
        f'<iframe class="evidence-preview" src="/reporting/evidence/{pdf.pk}/download/?inline=1"'
        in html
    )
    assert f'src="/reporting/evidence/{img.pk}/download/?inline=1"' in html
    assert f'href="/reporting/evidence/{doc.pk}/download/"' in html
    assert (
        f"/reporting/evidence/{doc.pk}/download/?inline=1" not in html
    )  # downloaded, not previewed
    assert "12/QĐ-UBND" in html and "Phần phối hợp" in html and agency_b.display_name in html
    assert "Đã ban hành" in html  # the measure's label with its value
    assert 'id="approve-form"' in html and 'id="return-form"' in html
    assert 'id="history-table"' in html


def test_detail_query_count_does_not_grow_with_evidence(
    client_as, reviewer, agency_a, agency_b, user_a
):
    it = make_item(agency_a, agency_b)
    cons = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    c = client_as(reviewer)
    _evidence(cons, user_a, "a.pdf", "application/pdf")
    with CaptureQueriesContext(connection) as small:
        c.get(f"/reporting/review/{cons.pk}/")
    for i in range(8):
        _evidence(cons, user_a, f"b{i}.pdf", "application/pdf")
    with CaptureQueriesContext(connection) as large:
        c.get(f"/reporting/review/{cons.pk}/")
    assert len(large) == len(small)


def test_page_actions_approve_and_return(client_as, reviewer, agency_a, agency_b, user_a):
    _p, (one, two) = _submitted_items(agency_a, agency_b, user_a, 2)
    c = client_as(reviewer)
    res = c.post(
        f"/reporting/review/{one.pk}/return/",
        {"version": one.version, "reason_code": "thieu_minh_chung", "reason": "Bổ sung văn bản"},
    )
    assert res.status_code == 302
    one.refresh_from_db()
    assert one.state == S.RETURNED
    # approve with different points but no reason: refused with a message, nothing changed
    res = c.post(
        f"/reporting/review/{two.pk}/approve/",
        {"version": two.version, "appraised_points": "1,5"},
        follow=True,
    )
    assert "Cần nêu lý do" in res.content.decode()
    two.refresh_from_db()
    assert two.state == S.SUBMITTED
    res = c.post(
        f"/reporting/review/{two.pk}/approve/",
        {"version": two.version, "appraised_points": "1,5", "reason": "Chỉ đạt một phần"},
    )
    two.refresh_from_db()
    assert two.state == S.APPROVED and two.appraised_points == Decimal("1.5")
    # stale form: refused with a conflict message
    res = c.post(f"/reporting/review/{two.pk}/reopen/", {"version": 1, "reason": "x"}, follow=True)
    assert "phiên bản" in res.content.decode()
    two.refresh_from_db()
    assert two.state == S.APPROVED


def test_bulk_approve_reports_skipped(client_as, reviewer, agency_a, agency_b, user_a):
    _p, subs = _submitted_items(agency_a, agency_b, user_a, 3)
    Submission.objects.filter(pk=subs[2].pk).update(version=9)
    res = client_as(reviewer).post(
        "/reporting/review/bulk-approve/",
        {"items": [f"{s.pk}:{s.version}" for s in subs]},
        follow=True,
    )
    html = res.content.decode()
    assert "Đã duyệt 2 báo cáo" in html and "Bỏ qua" in html and subs[2].indicator.code in html
    states = dict(Submission.objects.filter(pk__in=[s.pk for s in subs]).values_list("pk", "state"))
    assert [states[s.pk] for s in subs] == [S.APPROVED, S.APPROVED, S.SUBMITTED]
    assert SubmissionTransition.objects.filter(action="approve").count() == 2


def test_council_page_sets_final_points(client_as, reviewer, agency_a, agency_b, user_a):
    period, (one,) = _submitted_items(agency_a, agency_b, user_a, 1, start=5)
    one = submission_approve(submission=one, actor=reviewer, version=None)
    c = client_as(reviewer)
    res = c.get("/reporting/review/council/", {"period": period.pk})
    assert one.indicator.code in res.content.decode()
    res = c.post(
        f"/reporting/review/{one.pk}/final/",
        {
            "version": one.version,
            "final_points": "4",
            "reason": "Hội đồng điều chỉnh",
            "next": f"/reporting/review/council/?period={period.pk}",
        },
    )
    assert res.status_code == 302 and res["Location"].startswith("/reporting/review/council/")
    one.refresh_from_db()
    assert one.final_points == Decimal("4") and one.final_reason == "Hội đồng điều chỉnh"


def test_history_page(client_as, user_a, agency_a, agency_b, reviewer):
    it = make_item(agency_a, agency_b)
    cons = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    res = client_as(user_a).get(f"/reporting/submissions/{cons.pk}/history/")
    assert res.status_code == 200
    assert "Gửi Sở KH&amp;CN" in res.content.decode()


def test_next_parameter_must_be_local(client_as, reviewer, agency_a, agency_b, user_a):
    _p, (one,) = _submitted_items(agency_a, agency_b, user_a, 1)
    res = client_as(reviewer).post(
        "/reporting/review/bulk-approve/",
        {"items": [f"{one.pk}:{one.version}"], "next": "https://evil.example/"},
    )
    assert res["Location"] == "/reporting/review/"


# --- persona matrix over the pages -------------------------------------------------------------

PAGES = [
    (
        "get",
        "/reporting/review/",
        {"a": 403, "b": 403, "reviewer": 200, "leader": 403, "admin": 200},
    ),
    (
        "get",
        "/reporting/review/council/",
        {"a": 403, "b": 403, "reviewer": 200, "leader": 403, "admin": 200},
    ),
    (
        "get",
        "/reporting/review/{pk}/",
        {"a": 403, "b": 403, "reviewer": 200, "leader": 403, "admin": 200},
    ),
    (
        "post",
        "/reporting/review/{pk}/approve/",
        {"a": 403, "b": 404, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "post",
        "/reporting/review/{pk}/return/",
        {"a": 403, "b": 404, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "post",
        "/reporting/review/{pk}/start/",
        {"a": 403, "b": 404, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "post",
        "/reporting/review/{pk}/reopen/",
        {"a": 403, "b": 404, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "post",
        "/reporting/review/{pk}/final/",
        {"a": 403, "b": 404, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "post",
        "/reporting/review/bulk-approve/",
        {"a": 403, "b": 403, "reviewer": 302, "leader": 403, "admin": 302},
    ),
    (
        "get",
        "/reporting/submissions/{pk}/history/",
        {"a": 200, "b": 404, "reviewer": 200, "leader": 200, "admin": 200},
    ),
    (
        "get",
        "/reporting/notifications/",
        {"a": 200, "b": 200, "reviewer": 200, "leader": 200, "admin": 200},
    ),
    (
        "get",
        "/reporting/notifications/settings/",
        {"a": 200, "b": 200, "reviewer": 200, "leader": 200, "admin": 200},
    ),
    (
        "get",
        "/reporting/audit/",
        {"a": 403, "b": 403, "reviewer": 403, "leader": 403, "admin": 200},
    ),
    (
        "get",
        "/reporting/audit/export/",
        {"a": 403, "b": 403, "reviewer": 403, "leader": 403, "admin": 200},
    ),
]


@pytest.mark.parametrize(
    "method,path,persona,expected",
    [(m, p, who, code) for m, p, exp in PAGES for who, code in exp.items()],
)
def test_persona_matrix_pages(
    method, path, persona, expected, personas, client_as, agency_a, agency_b, user_a
):
    it = make_item(agency_a, agency_b)
    cons = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    before = (cons.state, cons.version, SubmissionTransition.objects.count())
    res = getattr(client_as(personas[persona]), method)(path.format(pk=cons.pk), {})
    assert res.status_code == expected, (path, persona)
    if expected in (403, 404):
        cons.refresh_from_db()
        assert (cons.state, cons.version, SubmissionTransition.objects.count()) == before


@pytest.mark.parametrize(
    "path", ["/reporting/review/", "/reporting/notifications/", "/reporting/audit/"]
)
def test_anonymous_redirected_to_login(client, path):
    res = client.get(path)
    assert res.status_code == 302 and "/accounts/login/" in res["Location"]


def test_lead_returns_contribution_from_the_submission_page(
    client_as, agency_a, agency_b, user_a, user_b, reviewer
):
    from evidence.models import Notification

    it = make_item(agency_a, agency_b)
    contrib = submission_submit(submission=it.contribution, actor=user_b, version=1)
    lead = client_as(user_a)
    html = lead.get(f"/reporting/submissions/{contrib.pk}/").content.decode()
    assert "Trả lại phần phối hợp" in html
    assert f'href="/reporting/submissions/{contrib.pk}/history/"' in html  # the history tab
    # the coordinator itself, and the Sở, have no such form and are refused
    assert (
        "Trả lại phần phối hợp"
        not in client_as(user_b).get(f"/reporting/submissions/{contrib.pk}/").content.decode()
    )
    path = f"/reporting/submissions/{contrib.pk}/return-contribution/"
    body = {"version": contrib.version, "reason_code": "thieu_minh_chung", "reason": "Thiếu QĐ"}
    assert client_as(user_b).post(path, body).status_code == 403
    assert client_as(reviewer).post(path, body).status_code == 403
    # a missing comment is refused with a message, nothing changes
    res = lead.post(path, {**body, "reason": ""}, follow=True)
    assert "Cần ghi rõ" in res.content.decode()
    contrib.refresh_from_db()
    assert contrib.state == S.SUBMITTED_TO_LEAD
    res = lead.post(path, body)
    assert res.status_code == 302
    contrib.refresh_from_db()
    assert contrib.state == S.RETURNED
    assert Notification.objects.filter(recipient=user_b, kind="returned").exists()


@pytest.mark.parametrize(("lang", "shown"), [("vi", "1.234,125"), ("en", "1,234.125")])
def test_prefilled_points_read_back_unchanged(lang, shown):
    """The reviewer's and council's fields are pre-filled in the reader's format with every
    decimal: submitting them unchanged keeps the same points (English included)."""
    from django.utils import translation

    from evidence.services.values import parse_number
    from evidence.views.review import _points_str

    with translation.override(lang):
        assert _points_str(Decimal("1234.1250")) == shown
        assert parse_number(shown) == Decimal("1234.125")


def test_refused_review_form_keeps_what_was_typed(client_as, reviewer, agency_a, agency_b, user_a):
    """A refused approve comes back with the typed points and reason, the error on the field
    (aria-invalid), once; nothing changed."""
    _p, (sub,) = _submitted_items(agency_a, agency_b, user_a, 1)
    c = client_as(reviewer)
    res = c.post(
        f"/reporting/review/{sub.pk}/approve/",
        {"version": sub.version, "appraised_points": "abc", "reason": "Chỉ đạt một phần"},
        follow=True,
    )
    html = res.content.decode()
    field = html.split('id="id_appraised_points"')[0].rsplit("<input", 1)[1]
    assert "is-invalid" in field and 'aria-invalid="true"' in field
    assert 'value="abc"' in html.split('id="id_appraised_points"')[1].split(">")[0]
    assert "Chỉ đạt một phần</textarea>" in html
    assert 'id="err-approve-appraised_points"' in html
    sub.refresh_from_db()
    assert sub.state == S.SUBMITTED
    again = c.get(f"/reporting/review/{sub.pk}/").content.decode()  # shown once
    assert "Chỉ đạt một phần</textarea>" not in again and "err-approve" not in again


def test_history_shows_value_changes_per_measure_in_vietnamese_format(
    client_as, user_a, agency_a, agency_b, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from evidence import services
    from tests.evidence.reporting_factories import make_world

    world = make_world(agency_a, agency_b)
    sub = services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "86", "denominator": "86"},
    )
    sub = services.submission_update(
        submission=sub,
        actor=user_a,
        version=sub.version,
        values={"numerator": "13", "denominator": "1234.5"},
    )
    url = f"/reporting/submissions/{sub.pk}/history/"
    c = client_as(user_a)
    with CaptureQueriesContext(connection) as one_change:
        html = c.get(url).content.decode()
    assert "Số CCVC chuyên trách: <del>86</del> → 13" in html
    assert "Tổng số CCVC: <del>86</del> → 1.234,5" in html
    assert "numerator" not in html and "{&#x27;" not in html  # no codes, no raw dicts
    assert "điểm tự chấm: <del>10</del> → 0,11" in html  # points in the reader's format
    for n in range(5):
        sub = services.submission_update(
            submission=sub,
            actor=user_a,
            version=sub.version,
            values={"numerator": str(n + 1), "denominator": "20"},
        )
    with django_assert_max_num_queries(len(one_change)):
        html = c.get(url).content.decode()
    assert "Số CCVC chuyên trách: <del>4</del> → 5" in html


def test_queue_overdue_follows_item_extension(client_as, reviewer, agency_a, agency_b, user_a):
    """An item whose own deadline was extended past today is not overdue while its period's
    deadline has passed; an item of the same period without an extension still is."""
    from evidence.models import ItemExtension

    period, (extended, plain) = _submitted_items(agency_a, agency_b, user_a, 2)
    today = timezone.localdate()
    period.deadline = today - datetime.timedelta(days=3)
    period.save()
    new_deadline = today + datetime.timedelta(days=7)
    ItemExtension.objects.create(
        period=period,
        indicator=extended.indicator,
        agency=agency_a,
        deadline=new_deadline,
        reason="Gia hạn thử",
        granted_by=reviewer,
    )
    c = client_as(reviewer)
    res = c.get("/reporting/review/", {"period": period.pk})
    rows = {s.pk: s for s in res.context["page"]}
    assert rows[extended.pk].deadline == new_deadline
    assert rows[plain.pk].deadline == period.deadline
    html = res.content.decode()
    cells = {code: html.split(f">{code}</a>", 1)[1].split("</tr>", 1)[0] for code in ("1.1", "1.2")}
    assert new_deadline.strftime("%d/%m/%Y") in cells["1.1"]
    assert "Quá hạn" not in cells["1.1"]
    assert "Quá hạn" in cells["1.2"]
    # the filter follows the same rule
    overdue = c.get("/reporting/review/", {"period": period.pk, "overdue": "true"})
    assert {s.pk for s in overdue.context["page"]} == {plain.pk}


def test_queue_informational_item_is_not_overdue(client_as, reviewer, agency_a, agency_b, user_a):
    """A 0-point (informational) item past its deadline is still reviewed, but it is no scoring
    risk: no "Quá hạn" badge, not under the overdue filter, marked as informational."""
    period, (scored,) = _submitted_items(agency_a, agency_b, user_a, 1)
    it = make_item(agency_a, agency_b, code="3.1", period=period, max_points="0")
    info = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    period.deadline = timezone.localdate() - datetime.timedelta(days=3)
    period.save()
    c = client_as(reviewer)
    html = c.get("/reporting/review/", {"period": period.pk}).content.decode()
    cells = {code: html.split(f">{code}</a>", 1)[1].split("</tr>", 1)[0] for code in ("1.1", "3.1")}
    assert "Quá hạn" in cells["1.1"]
    assert "Quá hạn" not in cells["3.1"]
    assert "Chỉ theo dõi, không tính điểm" in cells["3.1"]
    overdue = c.get("/reporting/review/", {"period": period.pk, "overdue": "true"})
    assert {s.pk for s in overdue.context["page"]} == {scored.pk}
    assert info.pk not in {s.pk for s in overdue.context["page"]}

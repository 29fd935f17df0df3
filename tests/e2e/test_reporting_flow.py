"""Browser test (acceptance 1): a coordinating agency's staff fills a ratio sub-indicator, sees
the self-assessed points live, uploads a PDF with its document number and submits to the lead;
the lead's staff sees the contribution, consolidates and submits to the Sở. Screenshots of each
step go to tests/artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("pass12345")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")


def logout(page):
    page.get_by_role("button", name="Đăng xuất").click(force=True)


def test_coordinator_to_lead_to_so(page, live_server, artifacts_dir, tmp_path, settings):
    from evidence.models import EvidenceFile, Submission
    from tests.evidence.reporting_factories import make_world, pdf_bytes
    from tests.factories import AgencyFactory, UserFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SENDFILE_ROOT = settings.MEDIA_ROOT
    agency_a = AgencyFactory(code="so-a", name="Sở Thử nghiệm A", short_name="Sở A")
    agency_b = AgencyFactory(code="so-b", name="Sở Thử nghiệm B", short_name="Sở B")
    UserFactory(username="staff_a", full_name="Lê Văn An", agency=agency_a)
    world = make_world(agency_a, agency_b)
    world.lead_user.full_name = "Phạm Thị Chủ Trì"
    world.lead_user.save()
    pdf = tmp_path / "Biên bản kiểm tra số 15.pdf"
    pdf.write_bytes(pdf_bytes("Bien ban 15/BB"))
    shot = lambda name: page.screenshot(  # noqa: E731
        path=str(artifacts_dir / f"reporting-{name}.png"), full_page=True
    )

    # 1. The coordinating agency's staff opens the item from the home panel.
    login(page, live_server, "staff_a")
    expect(page.get_by_role("heading", name="Việc cần làm").first).to_be_visible()
    shot("01-coordinator-home")
    # at phone width the items are cards, each value under its column's name
    size = page.viewport_size
    page.set_viewport_size({"width": 390, "height": 844})
    row = page.locator("table.table-stack tbody tr").first
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    shot("01b-coordinator-home-phone")
    page.set_viewport_size(size)
    page.get_by_role("link", name="1.1. Tỷ lệ cán bộ chuyên trách").first.click()
    page.get_by_role("heading", name="1.1. Tỷ lệ cán bộ chuyên trách 1.1").wait_for()

    # 2. Fills the ratio and sees the self-assessed points as they type.
    page.get_by_label("Số CCVC chuyên trách").fill("1e30")  # a refused value is said at once
    page.locator("#points-preview").get_by_text("số mũ").wait_for()
    page.get_by_label("Số CCVC chuyên trách").fill("3")
    page.get_by_label("Tổng số CCVC").fill("4")
    page.get_by_text("giá trị này cho 7,5/10 điểm").wait_for()
    page.get_by_label("Giải trình").fill("Số liệu theo báo cáo nhân sự quý 4")
    shot("02-coordinator-values-live-points")
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.get_by_text("Đã lưu bản nháp.").wait_for()

    # 3. Uploads a PDF with its document number.
    page.get_by_label("Tệp", exact=True).set_input_files(str(pdf))
    page.get_by_label("Số hiệu văn bản").fill("15/BB-STTTT")
    page.get_by_label("Cơ quan ban hành").fill("Sở Thử nghiệm A")
    page.get_by_role("button", name="Tải lên").click()
    page.get_by_text("Đã tải lên “Biên bản kiểm tra số 15.pdf”.").wait_for()
    expect(page.locator("#evidence-list").get_by_text("15/BB-STTTT")).to_be_visible()
    expect(page.get_by_text("giá trị này cho 7,5/10 điểm")).to_be_visible()
    shot("03-coordinator-evidence")

    # 4. Submits to the lead, after confirming (sending cannot be undone by the agency).
    asked: list[str] = []

    def answer(dialog, accept: bool = True) -> None:
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, accept=False))
    page.get_by_role("button", name="Gửi cơ quan chủ trì").click()
    assert "không sửa được nữa" in asked[-1]
    assert Submission.objects.get(agency=agency_a).state == Submission.State.DRAFT  # cancelled
    page.once("dialog", answer)
    page.get_by_role("button", name="Gửi cơ quan chủ trì").click()
    page.get_by_text("Đã gửi báo cáo cho cơ quan chủ trì.").wait_for()
    shot("04-coordinator-submitted")
    contribution = Submission.objects.get(agency=agency_a)
    assert contribution.state == Submission.State.SUBMITTED_TO_LEAD
    assert EvidenceFile.objects.get().doc_number == "15/BB-STTTT"
    page.context.clear_cookies()

    # 5. The lead's staff sees the contribution (A reported, B not yet) and the proposal.
    login(page, live_server, "staff_lead")
    page.get_by_role("link", name="1.1. Tỷ lệ cán bộ chuyên trách").first.click()
    table = page.locator("#contributions")
    expect(table.get_by_text("Sở Thử nghiệm A")).to_be_visible()
    expect(table.get_by_text("Sở Thử nghiệm B")).to_be_visible()
    expect(table.get_by_text("Chưa báo cáo")).to_be_visible()
    shot("05-lead-contributions")
    page.locator("#contributions").get_by_role("link").first.click()
    page.get_by_role("link", name="Biên bản kiểm tra số 15.pdf").wait_for()
    shot("06-lead-reads-contribution")
    page.go_back()

    # 6. Consolidates with the proposed combined values and submits to the Sở.
    # The lead's own part (a unit counted too) is added to the contributions' figures.
    page.get_by_label("Số CCVC chuyên trách — phần riêng của cơ quan chủ trì").fill("1")
    page.get_by_label("Tổng số CCVC — phần riêng của cơ quan chủ trì").fill("2")
    page.get_by_role("button", name="Dùng số liệu tổng hợp đề xuất").click()
    assert page.locator("#id_v_numerator").input_value() == "4"
    assert page.locator("#id_v_denominator").input_value() == "6"
    assert page.locator("#id_o_numerator").input_value() == "1"
    page.locator("#id_v_numerator").fill("3")  # back to A's figures alone: the own part cleared
    page.locator("#id_v_denominator").fill("4")
    page.locator("#id_o_numerator").fill("")
    page.locator("#id_o_denominator").fill("")
    page.get_by_text("giá trị này cho 7,5/10 điểm").wait_for()
    page.get_by_role("button", name="Lưu bản nháp").click()
    page.get_by_text("Đã lưu bản nháp.").wait_for()
    shot("07-lead-consolidated")
    expect(page.locator("#no-evidence-warning")).to_be_visible()  # the lead attached nothing
    page.once("dialog", answer)
    page.get_by_role("button", name="Gửi Sở KH&CN").click()
    page.get_by_text("Đã gửi báo cáo tổng hợp về Sở KH&CN.").wait_for()
    assert "chưa có tài liệu kiểm chứng" in asked[-1]
    shot("08-lead-submitted-to-so")
    consolidated = Submission.objects.get(agency=world.lead)
    assert consolidated.is_consolidation
    assert consolidated.state == Submission.State.SUBMITTED
    assert consolidated.values == {"numerator": "3", "denominator": "4"}

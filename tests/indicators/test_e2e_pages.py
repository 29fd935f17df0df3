"""Browser test (Debian's Chromium): the framework tree, "my indicators", the import preview."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).resolve().parents[2] / "data" / "dti_2025_tinh_phu_luc_1.xlsx"


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("Demo-pass-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    # the home page, or the role's own starting page (reviewers: the review queue)
    page.wait_for_url(lambda url: url.startswith(live_server.url) and "/accounts/login/" not in url)


def test_tree_my_indicators_and_import(page, live_server, artifacts_dir):
    from agencies.demo import seed_agencies_and_accounts
    from indicators.demo import seed_framework

    seed_agencies_and_accounts(password="Demo-pass-2025")
    fw = seed_framework()

    _login(page, live_server, "canbo_congan")
    page.goto(f"{live_server.url}/frameworks/{fw.pk}/")
    assert page.get_by_role("heading", name=fw.name).is_visible()
    row = page.locator("tr", has=page.locator("th", has_text="5.6")).first
    assert "Công an tỉnh" in row.inner_text()
    page.screenshot(path=str(artifacts_dir / "frameworks-tree.png"), full_page=True)
    page.goto(f"{live_server.url}/frameworks/mine/")
    assert page.locator("#led").get_by_text("5.6").is_visible()
    page.screenshot(path=str(artifacts_dir / "frameworks-my-indicators.png"), full_page=True)
    resp = page.goto(f"{live_server.url}/frameworks/import/")
    assert resp is not None and resp.status == 403

    page.context.clear_cookies()
    _login(page, live_server, "thamdinh")
    page.goto(f"{live_server.url}/frameworks/import/")
    page.get_by_label("Tệp Excel (.xlsx)").set_input_files(str(DATA))
    page.get_by_label("Mã bộ chỉ số").fill("dti-2025-thu")
    page.get_by_label("Năm").fill("2025")
    page.get_by_role("button", name="Tải lên và xem trước").click()
    page.wait_for_load_state()
    assert page.get_by_text("Chạy thử thành công").is_visible()
    page.screenshot(path=str(artifacts_dir / "frameworks-import-preview.png"), full_page=True)
    page.get_by_role("button", name="Xác nhận nhập").click()
    page.wait_for_load_state()
    assert "dti-2025-thu" in page.content()

"""Browser test: log in, see the Vietnamese home page, switch to English (Debian's Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_login_home_and_language_switch(page, live_server, artifacts_dir, django_user_model):
    from tests.factories import AgencyFactory, UserFactory

    agency = AgencyFactory(code="so-khcn", name="Sở Khoa học và Công nghệ", short_name="Sở KH&CN")
    UserFactory(username="canbo", full_name="Trần Thị Mai", agency=agency)

    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
    assert page.locator("html").get_attribute("lang") == "vi"
    page.get_by_label("Tên đăng nhập").fill("canbo")
    page.get_by_label("Mật khẩu").fill("pass12345")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Xin chào, Trần Thị Mai")).to_be_visible()
    expect(page.get_by_text("Sở Khoa học và Công nghệ").first).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "foundation-home-vi.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", name="Hello, Trần Thị Mai")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "foundation-home-en.png"), full_page=True)

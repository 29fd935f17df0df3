"""Browser test: "Mở lại một chỉ số cho một cơ quan" lists only the agencies assigned to the
chosen indicator (htmx: the period page with ``?part=agencies``)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_agency_list_follows_the_indicator(page, live_server, agency_a, agency_b, reviewer):
    from django.urls import reverse

    from tests.evidence.reporting_factories import make_world
    from tests.factories import AgencyFactory

    world = make_world(agency_a, agency_b)
    AgencyFactory(code="so-ngoai", name="Sở Ngoài Cuộc")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("reviewer")
    page.get_by_label("Mật khẩu").fill("pass12345")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/**")
    page.goto(live_server.url + reverse("evidence:period_manage"))
    agencies = page.locator("#ie-agency option")

    page.locator("#ie-ind").select_option(str(world.ratio.pk))
    page.wait_for_function(
        "() => document.querySelector('#ie-agency').textContent.includes('Phối hợp')"
    )
    names = agencies.all_text_contents()
    assert names == [
        "Sở Chủ trì (Chủ trì)",
        "Sở Thử nghiệm A (Phối hợp)",
        "Sở Thử nghiệm B (Phối hợp)",
    ]
    page.locator("#ie-ind").select_option(str(world.yes_no.pk))  # led by A, no coordinators
    page.wait_for_function(
        "() => !document.querySelector('#ie-agency').textContent.includes('Phối hợp')"
    )
    assert agencies.all_text_contents() == ["Sở Thử nghiệm A (Chủ trì)"]

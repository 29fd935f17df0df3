"""Small screens: provincial leaders open the dashboards on a phone, commune staff report from a
phone or a 1366×768 laptop. On the main pages of each persona (demo data, Debian's Chromium) the
page itself never scrolls sideways: a wide table scrolls inside its own container, and nothing
(not even text hidden for screen readers in a table cell) sticks out of it; and on a phone the
text columns of such a table keep a readable width (no row ten lines tall) and every control
(button, field, check box, page link) is at least 24×24 px to tap. Screenshots go to
tests/artifacts/ (small-<width>-<page>.png).
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo12345"  # noqa: S105 - demo accounts
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 768}
CHARTS_DRAWN = "[...document.querySelectorAll('canvas')].every(c => c.height > 0)"
# The elements that reach past the right edge of the window, outside any scrolling container:
# what makes the page scroll sideways (tag, id or class, right edge), for the failure message.
STICKING_OUT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= window.innerWidth + 1 || r.width === 0) continue;
    let p = el.parentElement, inside = false;
    for (; p && p !== document.body; p = p.parentElement) {
      if (getComputedStyle(p).overflowX !== 'visible') { inside = true; break; }
    }
    const s = getComputedStyle(el).position;
    if (!inside || s === 'absolute' || s === 'fixed') {
      out.push(`${el.tagName.toLowerCase()}#${el.id}.${String(el.className).slice(0, 40)} ${Math.round(r.right)}`);
    }
  }
  return out.slice(0, 5);
}"""
# The rows of the tables that scroll sideways taller than ten lines of text: a name or a reason
# squeezed to a word per line (first cell's text, height). A .table-stack is one card per row.
TALL_ROWS = """() => {
  const limit = 10 * parseFloat(getComputedStyle(document.body).lineHeight);
  return [...document.querySelectorAll('.table-responsive table:not(.table-stack) tbody tr')]
    .filter(r => r.getBoundingClientRect().height > limit)
    .map(r => `${r.innerText.trim().slice(0, 30)} ${Math.round(r.getBoundingClientRect().height)}`)
    .slice(0, 3);
}"""


# The controls smaller than 24×24 CSS pixels (WCAG 2.2's minimum target size) on the page: hard to
# tap on a phone (tag, class, width×height, how many).
SMALL_TARGETS = """() => {
  const out = {};
  const sel = 'main button, main input:not([type=hidden]), main select, main a.btn, main a.page-link';
  for (const el of document.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || (r.width >= 24 && r.height >= 24)) continue;
    const k = `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 40)} ${Math.round(r.width)}x${Math.round(r.height)}`;
    out[k] = (out[k] || 0) + 1;
  }
  return out;
}"""


def login(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_label("Mật khẩu").press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def demo_pages() -> list[tuple[str, str, str, str | None]]:
    """(persona, name, path, ready) of the pages checked, on the demo data."""
    from evidence.demo import DEMO_FRAMEWORK, DEMO_YEAR
    from evidence.models import ReportingPeriod, Submission
    from indicators.models import Framework

    call_command("seed_demo", password=PASSWORD)
    framework = Framework.objects.get(code=DEMO_FRAMEWORK)
    period = ReportingPeriod.objects.get(framework=framework, year=DEMO_YEAR, quarter=4)
    items = Submission.objects.filter(period=period, evidence__kind="file").distinct()
    # the Sở KH&CN's own item, with evidence and its coordinators' contributions listed
    lead_item = items.filter(agency__code="so-khcn").order_by("indicator__sort_key", "pk")[0]
    in_review = items.filter(state__in=["submitted", "under_review"]).order_by("pk")[0]
    main_code = lead_item.indicator.parent.code
    q = f"?framework={framework.code}&period={period.pk}"
    return [
        ("", "login", "/accounts/login/", None),
        ("canbo_khcn", "home", "/", None),
        (
            "canbo_khcn",
            "item",
            f"/reporting/periods/{period.pk}/items/{lead_item.indicator_id}/",
            None,
        ),
        ("canbo_khcn", "notifications", "/reporting/notifications/", None),
        ("canbo_khcn", "email-settings", "/reporting/notifications/settings/", None),
        ("lanhdao", "dashboard", f"/scores/{q}", CHARTS_DRAWN),
        ("lanhdao", "league", f"/scores/league/{q}", None),
        ("lanhdao", "main-index", f"/scores/main/{main_code}/{q}", CHARTS_DRAWN),
        ("lanhdao", "exports", f"/scores/exports/{q}", None),
        ("thamdinh", "review-queue", "/reporting/review/", None),
        ("thamdinh", "review-item", f"/reporting/review/{in_review.pk}/", None),
        ("thamdinh", "accounts", "/agencies/accounts/", None),
        ("thamdinh", "framework-history", f"/frameworks/{framework.pk}/history/", None),
    ]


def test_main_pages_do_not_scroll_sideways_on_a_phone_or_a_small_laptop(
    page, live_server, artifacts_dir
):
    pages = demo_pages()
    overflowing, squeezed, small = [], [], []
    for size in (PHONE, LAPTOP):
        page.set_viewport_size(size)
        persona = None
        for who, name, path, ready in pages:
            if who != persona:
                page.context.clear_cookies()
                if who:
                    login(page, live_server, who)
                persona = who
            response = page.goto(live_server.url + path)
            assert response is not None and response.status == 200, (who, path)
            if ready:
                page.wait_for_function(ready)
            page.screenshot(path=str(artifacts_dir / f"small-{size['width']}-{name}.png"))
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > size["width"]:
                overflowing.append(
                    f"{size['width']}px {name} {path}: page {width}px wide, "
                    f"{page.evaluate(STICKING_OUT)}"
                )
            if size == PHONE and (tall := page.evaluate(TALL_ROWS)):
                squeezed.append(f"{name} {path}: {tall}")
            if size == PHONE and (targets := page.evaluate(SMALL_TARGETS)):
                small.append(f"{name} {path}: {targets}")
    assert not overflowing, "pages wider than the window:\n" + "\n".join(overflowing)
    assert not squeezed, "table rows ten lines tall on a phone:\n" + "\n".join(squeezed)
    assert not small, "controls under 24x24 px on a phone:\n" + "\n".join(small)

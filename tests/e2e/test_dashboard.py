"""Browser test (acceptance 1 of the dashboards issue): with the demo data, a leader and a reviewer
open the province dashboard, the numbers shown equal ``scores/summary/``, and they drill down from
a main index to a sub-indicator to an evidence file; screenshots go to tests/artifacts/."""

from __future__ import annotations

import datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo12345"  # noqa: S105 - demo accounts


def vn(value: str | None, places: int = 2) -> str:
    """A decimal string as the page shows it: 1.234,56."""
    d = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    text = f"{d:,.{places}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def ensure_reported_quarter():
    """The demo data, plus (when the demo has no reported quarter yet) one quarter in which the
    lead agencies of the first sub-indicators reported, with evidence, and the Sở approved some."""
    from agencies.models import User
    from evidence.models import EvidenceFile, ReportingPeriod, Submission
    from indicators.models import Framework, Indicator
    from scoring.services import score_recompute_all

    call_command("seed_demo", password=PASSWORD)
    if EvidenceFile.objects.filter(submission__state="approved").exists():
        return
    fw = Framework.objects.get(code="dti-2025-tinh")
    period, _ = ReportingPeriod.objects.get_or_create(
        framework=fw,
        year=2025,
        quarter=3,
        defaults={"deadline": timezone.localdate() + datetime.timedelta(days=20)},
    )
    reviewer = User.objects.get(username="thamdinh")
    subs = list(
        Indicator.objects.filter(framework=fw, level="sub", max_points__gt=0)
        .exclude(lead_agency=None)
        .prefetch_related("measures")
        .order_by("sort_key")[:6]
    )
    for i, sub in enumerate(subs):
        values = {}
        for m in sub.measures.all():
            values[m.code] = {
                "numerator": "7",
                "denominator": "10",
                "boolean": "1",
                "count": "3",
                "number": "5",
                "percent": "70",
            }.get(m.kind, (m.choices[0]["key"] if m.choices else "1"))
        s = Submission.objects.create(
            indicator=sub, agency=sub.lead_agency, period=period, values=values
        )
        state = "approved" if i % 3 != 2 else "submitted"
        Submission.objects.filter(pk=s.pk).update(
            state=state,
            appraised_points=sub.max_points * Decimal("0.8") if state == "approved" else None,
        )
        ev = EvidenceFile(
            submission=s,
            original_name=f"Báo cáo chỉ số {sub.code} quý 3.pdf",
            size=20,
            uploaded_by=reviewer,
            doc_number=f"{10 + i}/BC-UBND",
        )
        ev.file.save("x", ContentFile(f"%PDF-1.4 minh chứng {sub.code}".encode()), save=False)
        ev.save()
    score_recompute_all()


def login(page, live_server, username):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{live_server.url}/**")


def check_dashboard_and_drill_down(page, live_server, artifacts_dir, username):
    from evidence.models import EvidenceFile

    login(page, live_server, username)
    page.goto(f"{live_server.url}/scores/")
    page.wait_for_selector("#fig-total")
    page.wait_for_function("document.querySelector('#chart-mains').height > 0")
    page.screenshot(path=str(artifacts_dir / f"dashboard-{username}.png"), full_page=True)

    # The numbers shown equal scores/summary/ (same session, same framework and period).
    period = page.locator("#sel-period").input_value()
    framework = page.locator("#sel-framework").input_value()
    resp = page.request.get(
        f"{live_server.url}/api/v1/scores/summary/?framework={framework}&period={period}"
    )
    assert resp.ok
    summary = resp.json()
    kind = page.locator("#fig-total").get_attribute("data-kind")
    assert page.locator("#fig-total").inner_text() == vn(summary[kind]["total_points"])
    assert page.locator("#fig-dti").inner_text() == vn(summary[kind]["dti"], 4)
    assert page.locator("#fig-at-risk").inner_text() == vn(summary[kind]["points_at_risk"])
    for k in ("self_assessed", "appraised"):
        assert page.locator(f"#row-total td[data-kind='{k}']").inner_text() == vn(
            summary[k]["total_points"]
        )
        for m in summary[k]["main_indices"]:
            cell = page.locator(f"#table-mains tr[data-code='{m['code']}'] td[data-kind='{k}']")
            assert cell.inner_text() == vn(m["points"]), (k, m["code"])

    # Drill down: main index → sub-indicator → evidence file.
    ev = (
        EvidenceFile.objects.filter(
            submission__state="approved", submission__period_id=int(period), kind="file"
        )
        .select_related("submission__indicator__parent")
        .order_by("submission__indicator__sort_key", "id")
        .first()
    )
    assert ev is not None, "the demo period shown has approved evidence"
    sub = ev.submission.indicator
    main = sub.parent
    page.locator(f"#table-mains tr[data-code='{main.code}'] a.main-link").click()
    page.wait_for_selector("#table-subs")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Chỉ số chính")
    page.screenshot(path=str(artifacts_dir / f"dashboard-main-{username}.png"), full_page=True)
    page.locator(f"#table-subs tr[data-code='{sub.code}'] a.sub-link").click()
    page.wait_for_selector("#h-contrib")
    link = page.get_by_role("link", name=ev.original_name, exact=True)
    expect(link).to_be_visible()
    page.screenshot(path=str(artifacts_dir / f"dashboard-sub-{username}.png"), full_page=True)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == ev.original_name
    with ev.file.open("rb") as fh, open(download.path(), "rb") as got:
        assert got.read() == fh.read()


def test_dashboard_as_leader_and_reviewer(page, live_server, artifacts_dir):
    ensure_reported_quarter()
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.set_viewport_size({"width": 1366, "height": 900})
    check_dashboard_and_drill_down(page, live_server, artifacts_dir, "lanhdao")
    check_dashboard_and_drill_down(page, live_server, artifacts_dir, "thamdinh")
    # The other tabs, as the reviewer: league table, what-if, an Excel export made in the browser.
    page.goto(f"{live_server.url}/scores/league/")
    page.wait_for_selector("#league-table")
    assert page.locator("#league-table tbody tr").count() > 1
    # the navigation says where the reader is (for screen readers too)
    assert page.locator('.navbar-nav a[aria-current="page"]').inner_text() == "Bảng điều hành"
    page.screenshot(path=str(artifacts_dir / "dashboard-league.png"), full_page=True)
    page.goto(f"{live_server.url}/scores/what-if/")
    row = page.locator("[data-whatif-row]").filter(has=page.locator("input.form-control")).first
    assert not row.locator("input[name=pick]").is_checked()
    row.locator("input.form-control").first.fill("5")  # typing a value ticks its row
    assert row.locator("input[name=pick]").is_checked()
    page.get_by_role("button", name="Tính thử").first.click()
    page.wait_for_selector("#whatif-result")
    page.screenshot(path=str(artifacts_dir / "dashboard-whatif.png"), full_page=True)
    page.goto(f"{live_server.url}/scores/exports/")
    page.locator("#export-excel").click()
    page.wait_for_selector("#export-download")
    with page.expect_download() as info:
        page.locator("#export-download").click()
    assert info.value.suggested_filename.endswith(".xlsx")
    page.screenshot(path=str(artifacts_dir / "dashboard-export.png"), full_page=True)
    # Readable on a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/scores/")
    page.wait_for_selector("#fig-total")
    page.screenshot(path=str(artifacts_dir / "dashboard-phone.png"), full_page=True)
    assert problems == []  # no script error, no CSP violation

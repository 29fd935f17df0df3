"""Accessibility audit: axe-core (bundled in the axe-playwright-python wheel, so no npm and
nothing added to ``static/``) runs on the portal's main pages, as each persona sees them on the
demo data, in Debian's Chromium. Rules: WCAG 2.0/2.1 A and AA, plus axe's best practices
(landmarks named and unique, heading order, one h1, all content in a landmark). No rule is
disabled. Any violation fails the test, listed by page, rule, impact and target selectors.

One live server and one login per persona keep it quick. The pages are those a person of that
role works on (home, reporting, an item with evidence, review, the dashboards and their
drill-down, frameworks, agencies, the audit log, notifications, the account pages, login and
MFA), a few in a second state (a refused value, a wrong code, an open menu, a phone's width, the
English UI); folded ``<details>`` are unfolded first.
"""

from __future__ import annotations

import json

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo12345"  # noqa: S105 - demo accounts
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": [*WCAG_21_AA, "best-practice"]},
    "resultTypes": ["violations"],
}


def login(page, live_server, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


class Audit:
    """Runs axe on pages and collects the violations."""

    def __init__(self, page, live_server):
        self.page, self.base, self.axe = page, live_server.url, Axe()
        self.pages: list[str] = []
        self.violations: list[tuple[str, dict]] = []  # (page, axe violation)

    def visit(
        self, who: str, path: str, *, ready: str | None = None, status: int = 200, note: str = ""
    ) -> None:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == status, (who, path, response)
        if ready:
            self.page.wait_for_function(ready)
        self.check(who, f"{path} ({note})" if note else path)

    def check(self, who: str, what: str) -> None:
        self.pages.append(f"{who} {what}")
        # folded text (scoring method, evidence guidance) is checked unfolded
        self.page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")
        results = self.axe.run(self.page, options=AXE_OPTIONS)
        self.violations += [(f"{who} {what}", v) for v in results.response["violations"]]

    def report(self) -> str:
        """One block per page and rule: id, impact, what it checks, each target and why."""
        lines = []
        for where, v in self.violations:
            lines.append(f"{where}: {v['id']} ({v['impact']}) {v['help']}")
            for node in v["nodes"]:
                why = node.get("failureSummary", "").splitlines()[1:2] or [""]
                target = " ".join(str(t) for t in node["target"])
                lines.append(f"    {target}  {why[0].strip()}")
        return "\n".join(lines)


def demo_world():
    """The demo data, an MFA-enrolled council member, and the objects the pages are about."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from agencies.models import Agency, User
    from agencies.services import user_mfa_enrol
    from evidence.demo import DEMO_FRAMEWORK, DEMO_YEAR
    from evidence.models import ReportingPeriod, Submission
    from evidence.services import evidence_add_file
    from indicators.models import Framework
    from tests.evidence.reporting_factories import pdf_bytes

    call_command("seed_demo", password=PASSWORD)
    council = User.objects.get(username="hoidong")
    user_mfa_enrol(
        user=council, device=TOTPDevice.objects.create(user=council, name="TOTP", confirmed=False)
    )
    framework = Framework.objects.get(code=DEMO_FRAMEWORK)
    # The demo's current quarter (kept open): items in every state, some with evidence files.
    period = ReportingPeriod.objects.get(framework=framework, year=DEMO_YEAR, quarter=4)
    items = Submission.objects.filter(period=period).order_by("indicator__sort_key", "pk")
    with_file = items.filter(evidence__kind="file").distinct()
    # The lead's editable ratio item (typed numbers, for the live points preview), with a file:
    # one with a file already if the demo has one, else the first one, given a file here.
    editable = (
        items.filter(
            agency__code="so-khcn",
            state__in=["draft", "returned"],
            indicator__measures__kind="denominator",
        )
        .distinct()
        .order_by("indicator__sort_key", "pk")
    )
    lead_item = editable.filter(pk__in=with_file.values("pk")).first() or editable[0]
    if not lead_item.evidence.filter(kind="file").exists():
        evidence_add_file(
            submission=lead_item,
            actor=User.objects.get(username="canbo_khcn"),
            upload=SimpleUploadedFile("Bien ban hop.pdf", pdf_bytes()),
        )
    sub = with_file.filter(state="approved").select_related("indicator__parent")[0].indicator
    return {
        "framework": framework,
        "lead_item": lead_item,  # the lead edits it: values, evidence, consolidation
        "in_review": with_file.filter(state__in=["submitted", "under_review"])[0],
        "contribution": items.filter(agency__code="vnpt")[0],  # a coordinator's part
        "main_code": sub.parent.code,
        "sub_code": sub.code,
        "scores_query": f"?framework={framework.code}&period={period.pk}",
        "agency": Agency.objects.get(code="so-khcn"),
    }


def test_pages_have_no_axe_violations(page, live_server, artifacts_dir):
    world = demo_world()
    page.set_viewport_size(DESKTOP)
    audit = Audit(page, live_server)
    fw = world["framework"]
    q = world["scores_query"]
    item = world["lead_item"]
    charts_drawn = "[...document.querySelectorAll('canvas')].every(c => c.height > 0)"

    # Anonymous: the login page, also with an error.
    page.context.clear_cookies()
    audit.visit("anonymous", "/accounts/login/")
    page.get_by_label("Tên đăng nhập").fill("khong_co")
    page.get_by_label("Mật khẩu").fill("sai-mat-khau")
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()
    audit.check("anonymous", "/accounts/login/ (wrong password)")

    # A coordinating agency's staff: its inbox, its contribution, frameworks, account pages.
    login(page, live_server, "canbo_vnpt")
    contribution = world["contribution"]
    audit.visit("staff", "/")
    page.locator(".navbar .dropdown-toggle").click()  # the account menu, open
    page.locator(".navbar .dropdown-menu.show").wait_for()
    audit.check("staff", "/ (account menu)")
    audit.visit("staff", "/reporting/")
    audit.visit(
        "staff",
        f"/reporting/periods/{contribution.period_id}/items/{contribution.indicator_id}/",
    )
    audit.visit("staff", "/frameworks/mine/")
    audit.visit("staff", "/scores/", ready=charts_drawn)  # the agency's own dashboard
    audit.visit("staff", "/reporting/notifications/")
    audit.visit("staff", "/accounts/profile/")
    audit.visit("staff", "/accounts/password/")

    # The lead agency's staff: the item it consolidates, with evidence, and its history.
    login(page, live_server, "canbo_khcn")
    audit.visit("lead", "/")
    page.set_viewport_size(PHONE)  # the items as cards, each value under its column's name
    audit.visit("lead", "/", note="phone")
    page.set_viewport_size(DESKTOP)
    audit.visit("lead", "/reporting/")
    audit.visit("lead", f"/reporting/periods/{item.period_id}/items/{item.indicator_id}/")
    value = page.locator("#values-form input[inputmode=decimal]").last
    value.fill("abc")  # the live points preview (htmx) says why it cannot count
    page.locator("#points-preview ul").wait_for()
    audit.check("lead", "item (preview of a wrong value)")
    page.get_by_role("button", name="Lưu bản nháp").click()  # refused: the field's error shown
    page.locator("#values-form .is-invalid").first.wait_for()
    audit.check("lead", "item (saving a wrong value)")
    audit.visit("lead", f"/reporting/submissions/{item.pk}/")
    audit.visit("lead", f"/reporting/submissions/{item.pk}/history/")
    audit.visit("lead", "/reporting/notifications/settings/")
    audit.visit("lead", f"/reporting/periods/{item.period_id}/workbook/upload/")

    # The Sở's reviewer: queue, an item in review with evidence, periods, accounts, agencies.
    login(page, live_server, "thamdinh")
    audit.visit("reviewer", "/")
    audit.visit("reviewer", "/reporting/review/")
    audit.visit("reviewer", f"/reporting/review/{world['in_review'].pk}/")
    audit.visit("reviewer", "/reporting/periods/")
    audit.visit("reviewer", "/agencies/")
    audit.visit("reviewer", f"/agencies/{world['agency'].pk}/")
    audit.visit("reviewer", "/agencies/accounts/")
    audit.visit("reviewer", "/frameworks/")
    audit.visit("reviewer", f"/frameworks/{fw.pk}/")
    audit.visit("reviewer", f"/frameworks/{fw.pk}/history/")
    audit.visit("reviewer", "/frameworks/compare/")
    audit.visit("reviewer", "/frameworks/import/")
    audit.visit("reviewer", "/scores/national/import/")
    audit.visit("reviewer", "/agencies/accounts/import/")
    audit.visit("reviewer", "/agencies/mfa/setup/")

    # The leader: the dashboards and their drill-down, the league table, what-if, national.
    login(page, live_server, "lanhdao")
    audit.visit("leader", "/")
    audit.visit("leader", f"/scores/{q}", ready=charts_drawn)
    audit.visit("leader", f"/scores/main/{world['main_code']}/{q}", ready=charts_drawn)
    audit.visit("leader", f"/scores/sub/{world['sub_code']}/{q}")
    audit.visit("leader", f"/scores/league/{q}")
    # The league at 20 rows a page (page 2: the pagination, the unranked agencies); one unit
    # type, searched; and the search box typed into (htmx refreshes the rows and the status).
    audit.visit("leader", f"/scores/league/{q}&per_page=20&page=2", note="page 2")
    audit.visit("leader", f"/scores/league/{q}&agency_kind=commune&q=phuong", note="communes")
    page.get_by_label("Tìm theo tên, tên viết tắt, mã (có dấu hoặc không dấu)").fill("so")
    page.wait_for_url("**q=so**")
    page.locator("#league-status", has_text="khớp với “so”").wait_for()
    audit.check("leader", "/scores/league/ (searched as typed)")
    audit.visit("leader", f"/scores/what-if/{q}")
    page.locator("[data-whatif-row] input.form-control").first.fill("5")
    page.get_by_role("button", name="Tính thử").first.click()
    page.locator("#whatif-result").wait_for()
    audit.check("leader", "/scores/what-if/ (result)")
    audit.visit("leader", f"/scores/national/{q}")
    audit.visit("leader", f"/scores/exports/{q}")
    audit.visit("leader", f"/frameworks/{fw.pk}/")
    audit.visit("leader", "/reporting/notifications/")
    page.set_viewport_size(PHONE)  # the menu folded
    audit.visit("leader", f"/scores/{q}", ready=charts_drawn, note="phone")
    page.set_viewport_size(DESKTOP)
    with page.expect_navigation():
        page.get_by_role("button", name="English").click()  # the English UI
    audit.check("leader", "/scores/ (English)")

    # The council member, enrolled in MFA: the second step, backup codes, the council's page.
    login(page, live_server, "hoidong")
    audit.visit("council", "/agencies/mfa/verify/")
    page.locator("#id_token").fill("000000")
    with page.expect_navigation():
        page.get_by_role("button", name="Xác thực").click()
    audit.check("council", "/agencies/mfa/verify/ (wrong code)")
    audit.visit("council", "/agencies/mfa/backup-codes/")
    audit.visit("council", "/reporting/review/council/")

    # The administrator: the audit log; and the 404 page.
    login(page, live_server, "quantri")
    audit.visit("admin", "/reporting/audit/")
    audit.visit("admin", "/no-such-page/", status=404)

    print(f"axe checked {len(audit.pages)} pages")
    (artifacts_dir / "axe-violations.json").write_text(json.dumps(audit.violations, indent=1))
    assert not audit.violations, f"axe found violations:\n{audit.report()}"

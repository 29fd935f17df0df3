"""Queries per request for every parameterless page and API list, per persona (bench/run.py).

    DATABASE_URL=... python -m bench.queries

Enumerates the URL resolver (so new pages are measured without editing this file), GETs each
route as an agency staff member, a reviewer and a leader of the generated province, and prints
one JSON line ``{"<route>": {"<role>": [status, queries]}}``.
"""

from __future__ import annotations

import json
import os
import re

SKIP = re.compile(
    r"^/(admin/|api/schema|api/docs|api/redoc|i18n/|accounts/logout|static/|media/|bench/|"
    r"__debug__|health/|agencies/mfa/)"
)


def routes() -> list[str]:
    from django.urls import URLPattern, URLResolver, get_resolver

    out: list[tuple[str, str]] = []

    def walk(patterns, prefix: str) -> None:
        for p in patterns:
            regex = str(p.pattern)
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + regex)
            elif isinstance(p, URLPattern):
                full = prefix + regex
                if "<" in full or "(?P" in full or "\\" in full or "^" in full[1:]:
                    continue
                path = "/" + full.lstrip("^").rstrip("$")
                if not SKIP.match(path):
                    out.append(path)

    walk(get_resolver().url_patterns, "")
    return sorted(set(out))


def detail_routes(staff) -> list[tuple[str, str]]:
    """Main detail pages and API details, for an object of the staff member's agency."""
    from django.urls import reverse

    from evidence.models import ReportingPeriod, Submission
    from indicators.models import Framework

    out: list[tuple[str, str]] = []
    period = ReportingPeriod.objects.filter(status="open").order_by("-year", "-quarter").first()
    sub = Submission.objects.filter(agency=staff.agency, period=period).order_by("id").first()
    fw = Framework.objects.filter(code="dti-2025-load").first()
    candidates = []
    if sub is not None:
        candidates += [
            ("evidence:submission_detail", {"pk": sub.pk}),
            ("evidence:submission_history", {"pk": sub.pk}),
            ("api:submission-detail", {"pk": sub.pk}),
            ("api:submission-history", {"pk": sub.pk}),
            ("api:submission-evidence", {"pk": sub.pk}),
            ("scoring:sub_indicator", {"code": sub.indicator.code}),
            (
                "scoring:main_index",
                {"code": sub.indicator.parent.code if sub.indicator.parent else "1"},
            ),
        ]
    if fw is not None:
        candidates += [
            ("indicators:framework_detail", {"pk": fw.pk}),
            ("api:framework-detail", {"pk": fw.pk}),
        ]
    for name, kwargs in candidates:
        try:
            out.append((f"{name} (an item of the agency)", reverse(name, kwargs=kwargs)))
        except Exception:  # noqa: BLE001 - a route another issue has not added
            continue
    return out


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from agencies.models import User

    personas = {
        "agency_staff": User.objects.filter(username__startswith="load_a", role="agency_staff")
        .order_by("username")
        .first(),
        "reviewer": User.objects.filter(username="load_reviewer1").first(),
        "leader": User.objects.filter(username="load_leader1").first(),
    }
    result: dict[str, dict[str, list[int]]] = {}
    extra = detail_routes(personas["agency_staff"])
    for role, user in personas.items():
        if user is None:
            continue
        client = Client()
        client.force_login(user)
        client.get("/")  # session, content types, translations: loaded once per process
        for key, path in [(p, p) for p in routes()] + extra:
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(path)
            result.setdefault(key, {})[role] = [resp.status_code, len(ctx.captured_queries)]
    print(json.dumps(result))


if __name__ == "__main__":
    main()

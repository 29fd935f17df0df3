"""Query counts of the framework detail API and the tree page do not grow with the framework."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from indicators.models import Framework
from indicators.services import framework_import
from tests.indicators.builders import simple_rows, xlsx


def _count(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        resp = fn()
    assert resp.status_code == 200
    return len(ctx.captured_queries)


def test_detail_api_and_tree_page_constant_queries(
    khanh_hoa, file_2025, reviewer, api_as, client_as
):
    small = Framework.objects.get(
        pk=framework_import(
            actor=None, data=xlsx(simple_rows()), code="small", year=2025
        ).framework_id
    )
    big = Framework.objects.get(
        pk=framework_import(actor=None, data=file_2025, code="big", year=2025).framework_id
    )
    assert big.indicators.count() > 10 * small.indicators.count()
    api = api_as(reviewer)
    api_small = _count(lambda: api.get(f"/api/v1/frameworks/{small.pk}/"))
    api_big = _count(lambda: api.get(f"/api/v1/frameworks/{big.pk}/"))
    assert api_small == api_big
    assert api_big <= 8
    web = client_as(reviewer)
    page_small = _count(lambda: web.get(reverse("indicators:framework_detail", args=[small.pk])))
    page_big = _count(lambda: web.get(reverse("indicators:framework_detail", args=[big.pk])))
    assert page_small == page_big
    assert page_big <= 25


def test_list_api_constant_queries(khanh_hoa, reviewer, api_as, django_assert_max_num_queries):
    for i in range(2):
        framework_import(actor=None, data=xlsx(simple_rows()), code=f"f{i}", year=2025)
    api = api_as(reviewer)
    few = _count(lambda: api.get("/api/v1/frameworks/"))
    for i in range(2, 12):
        framework_import(actor=None, data=xlsx(simple_rows()), code=f"f{i}", year=2025)
    many = _count(lambda: api.get("/api/v1/frameworks/"))
    assert few == many
    agencies = _count(lambda: api.get("/api/v1/agencies/"))
    assert agencies <= 4

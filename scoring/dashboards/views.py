"""Dashboard pages: province dashboard with drill-down, what-if, national comparison, league."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from agencies.models import Agency
from agencies.text import search_words
from dti_portal.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from evidence.services.values import form_values
from indicators.models import Measure

from ..forms import NationalImportForm
from ..models import ScoreKind
from ..services import national_results_import, ranks_differing
from . import selectors as sel
from . import whatif as whatif_mod


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """NotFound → 404, NotAllowed → 403 for pages (the API has its own handler)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message) from exc
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from exc

    return wrapper


def evidence_download_url(evidence_id: int) -> str:
    """The reporting app's permission-checked download page of an evidence file."""
    for name in ("evidence:evidence_download", "api:evidence-download"):
        try:
            return reverse(name, args=[evidence_id])
        except NoReverseMatch:
            continue
    return ""


def _selection(request: HttpRequest) -> tuple[Any, Any, str]:
    fw, period = sel.resolve_framework_period(
        user=request.user,
        framework_code=request.GET.get("framework") or None,
        period_id=request.GET.get("period") or None,
    )
    params: dict[str, str] = {"framework": fw.code}
    if period is not None:
        params["period"] = str(period.pk)
    query = urlencode(params)
    return fw, period, query


def _base_context(request: HttpRequest, fw: Any, period: Any, query: str) -> dict[str, Any]:
    return {
        "framework": fw,
        "period": period,
        "query": query,
        "frameworks": sel.frameworks_for_dashboard(),
        "periods": sel.periods_of(fw),
    }


@domain_errors
def dashboard(request: HttpRequest) -> HttpResponse:
    """The province dashboard (agency staff: their own part)."""
    try:
        fw, period, query = _selection(request)
    except NotFound:
        if request.GET:
            raise
        return render(request, "scoring/dashboard_empty.html", {})
    dash = sel.dashboard(
        user=request.user, framework=fw, period=period, kind=request.GET.get("kind") or None
    )
    ctx = {**_base_context(request, fw, period, query), **dash, "kinds": ScoreKind.choices}
    ctx["chart"] = sel.chart_data(dash)
    return render(request, "scoring/dashboard.html", ctx)


@domain_errors
def main_index(request: HttpRequest, code: str) -> HttpResponse:
    fw, period, query = _selection(request)
    detail = sel.main_index_detail(user=request.user, framework=fw, period=period, code=code)
    return render(
        request,
        "scoring/main_index.html",
        {**_base_context(request, fw, period, query), **detail},
    )


@domain_errors
def sub_indicator(request: HttpRequest, code: str) -> HttpResponse:
    fw, period, query = _selection(request)
    detail = sel.sub_indicator_detail(user=request.user, framework=fw, period=period, code=code)
    for c in detail["contributions"]:
        c["evidence_links"] = [(e, evidence_download_url(e.pk)) for e in c["evidence"]]
    return render(
        request,
        "scoring/sub_indicator.html",
        {**_base_context(request, fw, period, query), **detail},
    )


@domain_errors
@require_http_methods(["GET", "POST"])
def whatif(request: HttpRequest) -> HttpResponse:
    """Pick sub-indicators, set hypothetical values, see the projection. Nothing is saved."""
    if not getattr(request.user, "sees_province", False):
        raise NotAllowed("")
    fw, period, query = _selection(request)
    table = sel.score_table(user=request.user, framework=fw, period=period)
    kind = request.POST.get("kind") or request.GET.get("kind") or ScoreKind.SELF_ASSESSED
    picked: list[str] = request.POST.getlist("pick") if request.method == "POST" else []
    measures: dict[int, list[Measure]] = {}
    for ms in Measure.objects.filter(indicator__framework=fw).order_by("position", "id"):
        measures.setdefault(ms.indicator_id, []).append(ms)
    result = error = None
    errors: dict[str, Any] = {}
    if request.method == "POST" and period is not None:
        overrides = whatif_mod.overrides_from_form(request.POST, picked)
        try:
            result = whatif_mod.project(
                user=request.user, framework=fw, period=period, overrides=overrides, kind=kind
            )
        except ValidationFailed as exc:
            error, errors = exc.message, exc.errors
    groups = []
    for m in table.mains:
        items = []
        for s in m.subs:
            current = (s.lineage.get(kind) or {}).get("values") or {}
            # Numbers as the values form shows them (1.234,5), read back as the same values.
            shown = form_values(measures.get(s.indicator_id, []), current)
            items.append(
                {
                    "row": s,
                    "picked": s.code in picked,
                    "measures": [
                        {
                            "m": ms,
                            "name": f"v:{s.code}:{ms.code}",
                            "current": current.get(ms.code),
                            "value": request.POST.get(f"v:{s.code}:{ms.code}", "")
                            if request.method == "POST"
                            else (shown.get(ms.code) or ""),
                        }
                        for ms in measures.get(s.indicator_id, [])
                        if ms.kind != "text"
                    ],
                }
            )
        groups.append({"main": m, "items": items})
    return render(
        request,
        "scoring/whatif.html",
        {
            **_base_context(request, fw, period, query),
            "table": table,
            "groups": groups,
            "kind": kind,
            "kinds": ScoreKind.choices,
            "result": result,
            "error": error,
            "errors": errors,
        },
        status=400 if error else 200,
    )


@domain_errors
def national(request: HttpRequest) -> HttpResponse:
    if not getattr(request.user, "sees_province", False):
        raise NotAllowed("")
    fw, period, query = _selection(request)
    comparison = sel.national_comparison(fw)
    projection = None
    if comparison and period is not None:
        try:
            projection = whatif_mod.project(
                user=request.user,
                framework=fw,
                period=period,
                overrides={},
                kind=ScoreKind.APPRAISED,
            )
        except DomainError:
            projection = None
    return render(
        request,
        "scoring/national.html",
        {
            **_base_context(request, fw, period, query),
            "national": comparison,
            "projection": projection,
        },
    )


@domain_errors
@require_http_methods(["GET", "POST"])
def national_import(request: HttpRequest) -> HttpResponse:
    """The Sở imports the Ministry's published national table (replaces that year's, all rows
    or nothing); leaders then see it on the national comparison."""
    if not request.user.has_perm("scoring.import_national_results"):
        raise NotAllowed("")
    form = NationalImportForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        fw = form.cleaned_data["framework"]
        upload = form.cleaned_data["file"]
        try:
            rows = national_results_import(
                data=upload.read(),
                file_name=upload.name,
                framework_code=fw.code,
                year=form.cleaned_data["year"],
                actor=request.user,
                request_id=getattr(request, "request_id", ""),
            )
        except ValidationFailed as exc:
            errors = list((exc.errors or {}).get("file") or [exc.message])
        else:
            messages.success(
                request,
                _("Đã nhập kết quả công bố năm %(year)s: %(n)s tỉnh, thành phố.")
                % {"year": form.cleaned_data["year"], "n": len(rows)},
            )
            differ = ranks_differing(rows)
            if differ:
                messages.warning(
                    request,
                    ngettext(
                        "%(n)s tỉnh, thành phố có hạng tính lại từ giá trị các chỉ số chính khác "
                        "hạng công bố; trang so sánh hiển thị hạng công bố.",
                        "%(n)s tỉnh, thành phố có hạng tính lại từ giá trị các chỉ số chính khác "
                        "hạng công bố; trang so sánh hiển thị hạng công bố.",
                        len(differ),
                    )
                    % {"n": len(differ)},
                )
            return redirect(reverse("scoring:national") + "?" + urlencode({"framework": fw.code}))
    columns = sel.national_columns(form.fields["framework"].queryset)  # type: ignore[attr-defined]
    return render(
        request,
        "scoring/national_import.html",
        {"form": form, "errors": errors, "columns": columns},
    )


LEAGUE_PAGE_SIZE = 50
LEAGUE_PAGE_SIZES = (20, 50, 100)
SEARCH_MAX_LENGTH = 100


def _page_number(raw: str | None) -> int:
    """The page asked for; anything that is not a page number gives the first page (a number past
    the last page gives the last one, through ``Paginator.get_page``)."""
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


def _page_size(raw: str | None) -> int:
    """Rows a page: one of LEAGUE_PAGE_SIZES, else the default."""
    return int(raw) if raw in {str(n) for n in LEAGUE_PAGE_SIZES} else LEAGUE_PAGE_SIZE


@domain_errors
def league(request: HttpRequest) -> HttpResponse:
    """The league table, filtered by unit type and name, 50 rows a page (ranks over the whole
    table, or over the chosen unit type: see ``selectors.league_table``); the exports keep the
    full table."""
    fw, period, query = _selection(request)
    kind = request.GET.get("kind") or ScoreKind.APPRAISED
    if kind not in ScoreKind.values:
        kind = ScoreKind.APPRAISED
    agency_kind = request.GET.get("agency_kind", "")
    if agency_kind not in Agency.Kind.values:
        agency_kind = ""
    search = request.GET.get("q", "").strip()[:SEARCH_MAX_LENGTH]
    if not search_words(search):  # only punctuation, symbols or spaces: no search at all
        search = ""
    per_page = _page_size(request.GET.get("per_page"))
    data = sel.league_table(
        user=request.user,
        framework=fw,
        period=period,
        kind=kind,
        agency_kind=agency_kind,
        search=search,
    )
    paginator = Paginator(data["rows"], per_page)
    page = paginator.get_page(_page_number(request.GET.get("page")))
    filters = {
        "kind": kind if "kind" in request.GET else "",
        "agency_kind": agency_kind,
        "q": search,
        "per_page": str(per_page) if per_page != LEAGUE_PAGE_SIZE else "",
    }
    filter_query = "&".join(
        p for p in (query, urlencode({k: v for k, v in filters.items() if v})) if p
    )
    n_ranked = len(data["ranked_rows"])
    return render(
        request,
        "scoring/league.html",
        {
            **_base_context(request, fw, period, query),
            **data,
            "kinds": ScoreKind.choices,
            "kind_in_query": filters["kind"],
            "agency_kinds": Agency.Kind.choices,
            "agency_kind_label": Agency.Kind(agency_kind).label if agency_kind else "",
            "page_sizes": LEAGUE_PAGE_SIZES,
            "per_page": per_page,
            "page": page,
            "page_links": [
                n if isinstance(n, int) else None
                for n in paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
            ],
            "page_ranked": [r for r in page.object_list if r.ranked],
            "page_unranked": [r for r in page.object_list if not r.ranked],
            # The page the unranked rows start on (they come after every ranked row).
            "unranked_page": n_ranked // per_page + 1,
            "filter_query": filter_query,
        },
    )

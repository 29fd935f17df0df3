"""The league page at a province's size: pagination with ranks over the whole table, the unit-type
filter (ranks among that type), the name search (ranks unchanged), bad page numbers, scope,
exports of the full table, and a query count that does not grow with the number of agencies."""

from __future__ import annotations

import datetime
import io
import re
from dataclasses import dataclass, field

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from agencies.models import Agency, User
from evidence.models import ReportingPeriod, Submission
from indicators.models import Framework, Indicator
from scoring.dashboards import selectors as sel
from scoring.exports import services as export_services
from scoring.exports.models import ExportJob
from scoring.services import score_recompute
from tests.factories import AgencyFactory, IndicatorFactory, UserFactory

from .dash_helpers import RATIO, measures_for, put_state
from .helpers import published_framework

pytestmark = pytest.mark.django_db
DENOMINATOR = 1000


@dataclass
class Province:
    """``ranked[i]`` leads sub-indicator 1.(i+1), approved at ``score(i)`` % (a commune unless
    i % 3 == 0, then a department); ``idle`` lead an item they have not sent; ``unassigned``
    have nothing to do in the period."""

    framework: Framework
    period: ReportingPeriod
    ranked: list[Agency]
    idle: list[Agency] = field(default_factory=list)
    unassigned: list[Agency] = field(default_factory=list)

    @property
    def query(self) -> str:
        return f"framework={self.framework.code}&period={self.period.pk}"

    def url(self, **params: object) -> str:
        extra = "".join(f"&{k}={v}" for k, v in params.items())
        return f"{reverse('scoring:league')}?{self.query}{extra}"


def numerator(i: int) -> int:
    """Falling scores (100 %, 99.5 %, ...), with agencies 1 and 2 tied."""
    return DENOMINATOR - 5 * (1 if i == 2 else i)


def oracle_rank(i: int, among: list[int]) -> int:
    """Competition rank of agency ``i`` among the ranked agencies ``among``: 1 + those scoring
    strictly more."""
    return 1 + sum(1 for j in among if numerator(j) > numerator(i))


def is_commune(i: int) -> bool:
    return i % 3 != 0


def build_province(
    *, ranked: int, idle: int = 2, unassigned: int = 2, tag: str = "", previous=None
) -> Province:
    """A province of ``ranked + idle + unassigned`` agencies. ``previous`` (i → numerator) adds
    the quarter before, in which those ranked agencies had an approved item."""
    fw = published_framework(code=f"dti-league{tag}", name="Bộ chỉ số thử nghiệm xếp hạng")
    main = IndicatorFactory(
        framework=fw, level=Indicator.Level.MAIN, code="1", name="Chỉ số chính", max_points=1000
    )
    deadline = timezone.localdate() - datetime.timedelta(days=5)
    period = ReportingPeriod.objects.create(framework=fw, year=2025, quarter=3, deadline=deadline)
    prev = None
    if previous:
        prev = ReportingPeriod.objects.create(
            framework=fw, year=2025, quarter=2, deadline=deadline - datetime.timedelta(days=90)
        )

    def lead(agency: Agency, n: int):
        sub = IndicatorFactory(
            framework=fw,
            parent=main,
            level=Indicator.Level.SUB,
            code=f"1.{n}",
            name=f"Tỷ lệ thử nghiệm {n}",
            max_points=10,
            scoring_rule=RATIO,
            lead_agency=agency,
        )
        measures_for(sub, RATIO)
        return sub

    def approve(sub, agency: Agency, on: ReportingPeriod, num: int) -> None:
        s = Submission.objects.create(
            indicator=sub,
            agency=agency,
            period=on,
            values={"numerator": str(num), "denominator": str(DENOMINATOR)},
        )
        put_state(s, Submission.State.APPROVED)

    ranked_agencies = []
    for i in range(ranked):
        commune = is_commune(i)
        agency = AgencyFactory(
            code=f"xh{tag}-{i:03d}",
            name=f"UBND xã Thử nghiệm {i:03d}{tag}" if commune else f"Sở Thử nghiệm {i:03d}{tag}",
            kind=Agency.Kind.COMMUNE if commune else Agency.Kind.DEPARTMENT,
        )
        sub = lead(agency, i + 1)
        approve(sub, agency, period, numerator(i))
        if prev is not None and i in previous:
            approve(sub, agency, prev, previous[i])
        ranked_agencies.append(agency)
    province = Province(framework=fw, period=period, ranked=ranked_agencies)
    for k in range(idle):
        agency = AgencyFactory(code=f"xh{tag}-idle-{k}", name=f"Sở Chưa gửi {k}{tag}")
        lead(agency, ranked + k + 1)
        province.idle.append(agency)
    for k in range(unassigned):
        province.unassigned.append(
            AgencyFactory(code=f"xh{tag}-none-{k}", name=f"Sở Không giao {k}{tag}")
        )
    for p in (prev, period):
        if p is not None:
            score_recompute(framework_id=fw.pk, period_id=p.pk, force=True)
    return province


ROW = re.compile(r'<tr data-agency="(\d+)"[^>]*>\s*<td class="num[^"]*league-rank">([^<]*)<')


def table_rows(html: str) -> list[tuple[int, str]]:
    """(agency id, rank cell) of each row of the league table, in order ("" when unranked)."""
    return [(int(pk), rank.strip()) for pk, rank in ROW.findall(html)]


@pytest.fixture
def province():
    return build_province(ranked=60)


def test_page_two_continues_the_ranking_and_ends_with_the_unranked(province, client_as, leader):
    c = client_as(leader)
    everyone = list(range(60))
    first = c.get(province.url()).content.decode()
    rows = table_rows(first)
    assert [pk for pk, _ in rows] == [a.pk for a in province.ranked[:50]]
    assert [rank for _, rank in rows][:5] == ["1", "2", "2", "4", "5"]  # 1 and 2 tied
    assert 'id="league-unranked"' not in first
    # The way to the unranked agencies, which start on page 2 (after the 60 ranked).
    assert province.query.replace("&", "&amp;") + "&amp;page=2#league-unranked" in first
    assert "Xem 4 cơ quan chưa xếp hạng (từ trang 2)" in first
    assert 'aria-label="Phân trang bảng xếp hạng"' in first

    second = c.get(province.url(page=2)).content.decode()
    rows = table_rows(second)
    expected = [(a.pk, str(oracle_rank(i, everyone))) for i, a in enumerate(province.ranked)]
    assert rows[:10] == expected[50:]  # ranks 51–60: numbered over the whole table
    assert len(rows) == 14 and all(rank == "" for _, rank in rows[10:])
    ranked_part, _sep, unranked_part = second.partition('class="league-unranked"')
    for agency in province.idle + province.unassigned:
        assert f'data-agency="{agency.pk}"' in unranked_part
        assert f'data-agency="{agency.pk}"' not in ranked_part
    assert "2 không được giao chỉ số trong kỳ, 2 chưa gửi báo cáo" in unranked_part
    assert "64 cơ quan (60 đã xếp hạng, 4 chưa xếp hạng), đang xem dòng 51–64." in second
    assert "Xem 4 cơ quan chưa xếp hạng" not in second  # they are on this page
    assert 'aria-current="page"' in second


def test_rows_per_page_can_be_chosen(province, client_as, leader):
    html = client_as(leader).get(province.url(per_page=20, page=3)).content.decode()
    assert [pk for pk, _ in table_rows(html)] == [a.pk for a in province.ranked[40:60]]
    assert "per_page=20&amp;page=2" in html  # the links keep the size
    html = client_as(leader).get(province.url(per_page=7)).content.decode()  # not offered
    assert len(table_rows(html)) == 50


def test_unit_type_filter_ranks_communes_against_communes(client_as, leader):
    # Previous quarter: communes 1 and 2 first and second, 4 and 5 after them, no department.
    province = build_province(ranked=60, previous={1: 950, 2: 940, 5: 900, 4: 800})
    communes = [i for i in range(60) if is_commune(i)]
    data = sel.league_table(
        user=leader,
        framework=province.framework,
        period=province.period,
        agency_kind=Agency.Kind.COMMUNE,
    )
    assert len(data["ranked_rows"]) == len(communes) and not data["unranked_rows"]
    by = {r.figures.agency_id: r for r in data["rows"]}
    for i in communes:
        row = by[province.ranked[i].pk]
        assert row.rank == oracle_rank(i, communes)
        assert row.overall_rank == oracle_rank(i, list(range(60)))
    one, four, five = (by[province.ranked[i].pk] for i in (1, 4, 5))
    assert (one.rank, one.overall_rank) == (1, 2)  # department 0 is first in the province
    assert (four.rank, five.rank) == (3, 4)
    # Movement among communes: 1 stays first (overall it fell from 1st to 2nd); 5 was 3rd.
    assert one.movement == 0 and five.previous_rank == 3 and five.movement == -1
    overall = sel.league_table(user=leader, framework=province.framework, period=province.period)
    assert {r.figures.agency_id: r.movement for r in overall["rows"]}[province.ranked[1].pk] == -1

    html = client_as(leader).get(province.url(agency_kind="commune")).content.decode()
    assert "Hạng trong loại" in html and "Hạng toàn tỉnh" in html
    assert 'league-overall-rank">2<' in html
    ids = [pk for pk, _ in table_rows(html)]
    assert ids == [province.ranked[i].pk for i in communes]  # 40 communes: one page
    assert '<option value="commune" selected>' in html
    # Departments: the idle and unassigned ones (departments too) come last, unranked.
    html = client_as(leader).get(province.url(agency_kind="department")).content.decode()
    ranked_part, _sep, unranked_part = html.partition('class="league-unranked"')
    assert [rank for _, rank in table_rows(ranked_part)][:3] == ["1", "2", "3"]
    assert f'data-agency="{province.idle[0].pk}"' in unranked_part
    html = client_as(leader).get(province.url(agency_kind="police")).content.decode()
    assert table_rows(html) == [] and "Không có cơ quan nào phù hợp với bộ lọc." in html


def test_search_by_name_keeps_the_ranks(province, client_as, leader):
    c = client_as(leader)
    # Without diacritics, any case: agency 44 (a commune) is 45th in the province.
    html = c.get(province.url(q="UBND xa thu NGHIEM 044")).content.decode()
    assert table_rows(html) == [(province.ranked[44].pk, "45")]
    assert "Chỉ hiện các cơ quan khớp với “UBND xa thu NGHIEM 044”; hạng giữ nguyên." in html
    assert "Bỏ lọc, xem toàn bộ bảng xếp hạng" in html
    # With the unit type: the rank among communes.
    html = c.get(province.url(q="044", agency_kind="commune")).content.decode()
    communes = [i for i in range(60) if is_commune(i)]
    assert table_rows(html) == [(province.ranked[44].pk, str(oracle_rank(44, communes)))]
    # Unranked agencies are found too, with their reason.
    html = c.get(province.url(q="chua gui")).content.decode()
    assert [pk for pk, _ in table_rows(html)] == [a.pk for a in province.idle]
    assert "Chưa xếp hạng: chưa gửi báo cáo" in html
    html = c.get(province.url(q="không tồn tại")).content.decode()
    assert table_rows(html) == [] and "Không có cơ quan nào phù hợp với bộ lọc." in html


@pytest.mark.parametrize(
    ("params", "first_id"),
    [
        ({"page": 999}, "last"),  # past the end: the last page
        ({"page": "abc"}, 0),
        ({"page": 0}, 0),
        ({"page": -3}, 0),
        ({"page": "9" * 5000}, 0),
        ({"page": 2, "q": "044"}, 44),  # one page only now
        ({"agency_kind": "planet", "per_page": "x"}, 0),  # unknown values are ignored
        ({"q": "x" * 5000}, None),  # cut to 100 characters; nothing matches
    ],
)
def test_bad_parameters_fall_back_to_a_page(province, client_as, leader, params, first_id):
    r = client_as(leader).get(province.url(**params))
    assert r.status_code == 200
    rows = table_rows(r.content.decode())
    if first_id is None:
        assert rows == []
    elif first_id == "last":
        assert rows[0][0] == province.ranked[50].pk
    else:
        assert rows[0][0] == province.ranked[first_id].pk


def test_scope_agency_staff_see_their_own_row_province_users_every_row(province, client_as):
    own = province.ranked[55]
    staff = UserFactory(username="canbo_xh", agency=own, role=User.Role.AGENCY_STAFF)
    c = client_as(staff)
    for params in ({}, {"page": 2}, {"q": "055"}):
        html = c.get(province.url(**params)).content.decode()
        assert table_rows(html) == [(own.pk, "56")], params
        assert 'role="search"' not in html  # nothing to filter in a single row
    # Within the communes, the staff of commune 55 see its rank among them.
    communes = [i for i in range(60) if is_commune(i)]
    html = c.get(province.url(agency_kind="commune")).content.decode()
    assert table_rows(html) == [(own.pk, str(oracle_rank(55, communes)))]
    assert 'league-overall-rank">56<' in html
    html = c.get(province.url(agency_kind="department")).content.decode()
    assert table_rows(html) == []  # not a department
    roles = (User.Role.LEADER, User.Role.REVIEWER, User.Role.COUNCIL, User.Role.ADMIN)
    for role in roles:
        user = UserFactory(username=f"xh_{role}", agency=None, role=role)
        html = client_as(user).get(province.url(page=2)).content.decode()
        assert len(table_rows(html)) == 14 and 'role="search"' in html, role


def test_exports_keep_the_whole_table(province, client_as, leader, monkeypatch):
    everyone = {a.pk for a in province.ranked + province.idle + province.unassigned}
    resp = client_as(leader).post(
        reverse("scoring:exports") + "?" + province.query, {"kind": "excel"}
    )
    assert resp.status_code == 302
    job = ExportJob.objects.get(kind=ExportJob.Kind.EXCEL, requested_by=leader)
    assert job.state == ExportJob.State.DONE, job.error
    with job.file.open("rb") as fh:
        sheet = load_workbook(io.BytesIO(fh.read()))["Kết quả cơ quan"]
    names = [r[1].value for r in sheet.iter_rows(min_row=6) if r[1].value]
    assert len(names) == len(everyone) == 64
    # The PDF summary is given the whole league too.
    seen = {}

    def fake_pdf(dash, league):
        seen["ids"] = {r.figures.agency_id for r in league["rows"]}
        return b"%PDF-1.4"

    monkeypatch.setattr("scoring.exports.pdf.render_summary_pdf", fake_pdf)
    export_services.render_export(
        user=leader,
        kind="pdf",
        framework=province.framework,
        period=province.period,
        out=io.BytesIO(),
    )
    assert seen["ids"] == everyone


def test_league_page_queries_do_not_grow_with_agencies(client_as):
    """Page 2 of a filtered, searched league: the same queries for 55 and 130 ranked agencies
    (everything is read once per page, then ranked, filtered and cut in memory)."""
    counts = []
    for n, tag in ((55, "s"), (130, "l")):
        province = build_province(ranked=n, tag=tag, previous={1: 900, 4: 800})
        leader = UserFactory(username=f"lanhdao-xh-{tag}", agency=None, role=User.Role.LEADER)
        c = client_as(leader)
        for url in (province.url(page=2), province.url(page=2, agency_kind="commune", q="xa")):
            assert c.get(url).status_code == 200  # warm up (session, caches)
            with CaptureQueriesContext(connection) as ctx:
                html = c.get(url).content.decode()
            assert len(table_rows(html)) > 0
            counts.append((tag, len(ctx.captured_queries)))
    small = [n for tag, n in counts if tag == "s"]
    large = [n for tag, n in counts if tag == "l"]
    assert small == large, counts


@pytest.mark.parametrize("q", ["-", "%", "😀", "\u200b"])
def test_a_search_with_no_word_is_no_search(client_as, leader, q):
    """A query with no letter or digit filters nothing, so the page does not say it did (found
    by the review)."""
    province = build_province(ranked=3, idle=0, unassigned=0)
    html = (
        client_as(leader)
        .get(reverse("scoring:league") + "?" + province.query, {"q": q})
        .content.decode()
    )
    assert len(table_rows(html)) == 3
    assert "Chỉ hiện các cơ quan khớp với" not in html
    assert "Bỏ lọc, xem toàn bộ bảng xếp hạng" not in html

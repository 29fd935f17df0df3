"""What-if: the projection equals a real recompute with those values, and nothing is saved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse

from dti_portal.errors import NotAllowed, ValidationFailed
from evidence.models import Submission
from scoring.dashboards import whatif
from scoring.models import NationalResult, ScoreSnapshot

from .dash_helpers import put_state, recompute

pytestmark = pytest.mark.django_db
D = Decimal


def db_fingerprint():
    """Row counts of every model plus the stored snapshots and submission values."""
    counts = {m._meta.label: m._default_manager.count() for m in apps.get_models()}
    snaps = list(
        ScoreSnapshot.objects.order_by("pk").values_list(
            "pk", "total_points", "dti", "lineage", "sequence", "updated_at"
        )
    )
    subs = list(Submission.objects.order_by("pk").values_list("pk", "values", "state", "version"))
    return counts, snaps, subs


OVERRIDES = {
    "1.1": {"numerator": "95", "denominator": "100"},
    "2.1": {"level": "full"},
    "2.2": {"done": "1"},
}


def test_projection_changes_nothing(world, leader, client_as, api_as):
    url = reverse("scoring:whatif") + f"?framework={world.framework.code}&period={world.period.pk}"
    client = client_as(leader)  # log in first: the session and login log are not what-if's
    assert client.get(url).status_code == 200
    before = db_fingerprint()
    whatif.project(user=leader, framework=world.framework, period=world.period, overrides=OVERRIDES)
    data = {"pick": list(OVERRIDES), "kind": "self_assessed"}
    for code, vals in OVERRIDES.items():
        for m, v in vals.items():
            data[f"v:{code}:{m}"] = v
    resp = client.post(url, data)
    assert resp.status_code == 200 and "whatif-total" in resp.content.decode()
    r = api_as(leader).post(
        "/api/v1/scores/what-if/",
        {"framework": world.framework.code, "period": world.period.pk, "overrides": OVERRIDES},
        format="json",
    )
    assert r.status_code == 200, r.content
    assert db_fingerprint() == before


def test_projection_equals_recompute_with_those_values(world, leader):
    projection = whatif.project(
        user=leader, framework=world.framework, period=world.period, overrides=OVERRIDES
    )
    assert projection["total_points_before"] == D("460")
    # Now really report those values (the items reach the Sở) and let the engine recompute.
    s11 = world.submissions[("1.1", "so-tt")]
    Submission.objects.filter(pk=s11.pk).update(values=OVERRIDES["1.1"])
    s21 = world.submissions[("2.1", "so-tt")]
    Submission.objects.filter(pk=s21.pk).update(values=OVERRIDES["2.1"])
    s22 = world.submissions[("2.2", "so-nv")]
    Submission.objects.filter(pk=s22.pk).update(values=OVERRIDES["2.2"])
    put_state(s22, "submitted")
    recompute(world)
    snap = ScoreSnapshot.objects.get(
        framework=world.framework, period=world.period, kind="self_assessed"
    )
    assert projection["total_points"] == snap.total_points == D("990")
    assert projection["dti"] == snap.dti
    for m in projection["main_indices"]:
        stored = next(x for x in snap.main_indices if x["code"] == m["code"])
        assert m["points"] == D(stored["points"])
        assert m["value"] == D(stored["value"])


def test_projection_with_full_precision_ratio(world, leader):
    over = {"1.1": {"numerator": "1", "denominator": "3"}}
    projection = whatif.project(
        user=leader, framework=world.framework, period=world.period, overrides=over
    )
    Submission.objects.filter(pk=world.submissions[("1.1", "so-tt")].pk).update(values=over["1.1"])
    recompute(world)
    snap = ScoreSnapshot.objects.get(
        framework=world.framework, period=world.period, kind="self_assessed"
    )
    assert projection["total_points"] == snap.total_points
    assert projection["dti"] == snap.dti


def test_projected_rank_among_national_results(world, leader):
    for i, (prov, dti) in enumerate([("Đà Nẵng", "0.9"), ("Hà Nội", "0.5"), ("Huế", "0.3")]):
        NationalResult.objects.create(
            framework=world.framework,
            year=2024,
            province=prov,
            main_values={"1": "0.5", "2": "0.5"},
            dti=D(dti),
            rank=i + 1,
        )
    base = whatif.project(user=leader, framework=world.framework, period=world.period, overrides={})
    assert base["dti"] == D("0.46") and base["rank"] == 3 and base["provinces"] == 4
    better = whatif.project(
        user=leader, framework=world.framework, period=world.period, overrides=OVERRIDES
    )
    assert better["rank"] == 1
    ranks = {m["code"]: m.get("rank") for m in better["main_indices"]}
    assert ranks["1"] == 1  # 290/300 beats 0.5


def test_bad_input_and_scope(world, leader, user_a):
    with pytest.raises(ValidationFailed):
        whatif.project(
            user=leader, framework=world.framework, period=world.period, overrides={"9.9": {}}
        )
    with pytest.raises(ValidationFailed):
        whatif.project(
            user=leader,
            framework=world.framework,
            period=world.period,
            overrides={"1.1": {"numerator": "abc"}},
        )
    with pytest.raises(ValidationFailed):
        whatif.project(
            user=leader,
            framework=world.framework,
            period=world.period,
            overrides={"2.1": {"level": "nonsense"}},
        )
    with pytest.raises(NotAllowed):
        whatif.project(user=user_a, framework=world.framework, period=world.period, overrides={})


def test_whatif_api_errors(world, api_as, leader, user_a):
    url = "/api/v1/scores/what-if/"
    body = {"framework": world.framework.code, "period": world.period.pk}
    r = api_as(leader).post(url, {**body, "overrides": {"1.1": {"numerator": "x"}}}, format="json")
    assert r.status_code == 400 and "numerator" in r.json()
    r = api_as(user_a).post(url, {**body, "overrides": {}}, format="json")
    assert r.status_code == 403


def test_vietnamese_numbers_read_like_the_values_form(world, leader):
    """1.000 is a thousand (as on the values form), 80,5 a decimal: the same projection as the
    plain numbers."""
    from django.utils import translation

    plain = whatif.project(
        user=leader, framework=world.framework, period=world.period, overrides=OVERRIDES
    )
    typed = {**OVERRIDES, "1.1": {"numerator": "950", "denominator": "1.000"}}
    with translation.override("vi"):
        projection = whatif.project(
            user=leader, framework=world.framework, period=world.period, overrides=typed
        )
    assert projection["total_points"] == plain["total_points"]
    assert projection["changed"][0]["values"]["denominator"] == "1000"


@pytest.mark.parametrize(("raw", "needle"), [("1e30", "số mũ"), (1e30, "quá lớn"), ("1,2,3", "")])
def test_huge_or_unreadable_numbers_refused_with_a_field_error(
    world, leader, client_as, api_as, raw, needle
):
    with pytest.raises(ValidationFailed) as exc:
        whatif.project(
            user=leader,
            framework=world.framework,
            period=world.period,
            overrides={"1.1": {"numerator": raw}},
        )
    assert needle in exc.value.errors["numerator"][0]
    r = api_as(leader).post(
        "/api/v1/scores/what-if/",
        {
            "framework": world.framework.code,
            "period": world.period.pk,
            "overrides": {"1.1": {"numerator": raw}},
        },
        format="json",
    )
    assert r.status_code == 400 and "numerator" in r.json()
    if isinstance(raw, str):
        url = reverse("scoring:whatif") + f"?framework={world.framework.code}"
        url += f"&period={world.period.pk}"
        resp = client_as(leader).post(
            url, {"pick": ["1.1"], "kind": "self_assessed", "v:1.1:numerator": raw}
        )
        assert resp.status_code == 400 and needle in resp.content.decode()


def test_a_stored_value_posted_back_unchanged_is_kept(world):
    """The page pre-fills the snapshot's stored text ("1.125" = one and 125 thousandths): posted
    back unchanged it is that value, not 1125."""
    from django.utils import translation

    from indicators.models import Measure

    measure = Measure.objects.get(indicator__code="1.1", code="numerator")
    with translation.override("vi"):
        assert whatif._clean_value(measure, "1.125", "1.125") == "1.125"
        assert whatif._clean_value(measure, "1.125", "7") == "1125"
        assert whatif._clean_value(measure, "80,5", None) == "80.5"


def test_the_form_shows_current_values_in_the_readers_number_format(world, leader, client_as):
    """The inputs are pre-filled as the values form shows numbers (1.234,5 in Vietnamese), not
    as the snapshot stores them ("1.125", one and 125 thousandths, reads 1125 in Vietnamese);
    posted back unchanged they are the same values and change nothing."""
    import re

    s = world.submissions[("1.1", "so-tt")]
    Submission.objects.filter(pk=s.pk).update(values={"numerator": "1234.5", "denominator": "2000"})
    recompute(world)
    url = reverse("scoring:whatif") + f"?framework={world.framework.code}&period={world.period.pk}"
    c = client_as(leader)
    html = c.get(url).content.decode()

    def shown(name: str) -> str:
        m = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', html)
        assert m, name
        return m.group(1)

    assert shown("v:1.1:numerator") == "1.234,5"
    assert shown("v:1.1:denominator") == "2.000"
    resp = c.post(
        url,
        {
            "pick": ["1.1"],
            "kind": "self_assessed",
            "v:1.1:numerator": "1.234,5",
            "v:1.1:denominator": "2.000",
        },
    )
    assert resp.status_code == 200
    result = resp.context["result"]
    assert result["total_points"] == result["total_points_before"]
    assert result["changed"][0]["values"] == {"numerator": "1234.5", "denominator": "2000"}

"""Builders for the dashboard, league, what-if and export tests: a small province with agencies,
a framework with rules and measures, submissions in several states, transitions, evidence files,
and score snapshots computed by the real scoring engine (``scoring.services.score_recompute``)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

import time_machine
from django.core.files.base import ContentFile
from django.utils import timezone

from agencies.models import Agency, AgencyGroup, User
from evidence.models import EvidenceFile, ReportingPeriod, Submission, SubmissionTransition
from indicators.models import Framework, Indicator, Measure
from tests.factories import AgencyFactory, IndicatorFactory, UserFactory

from .helpers import published_framework

D = Decimal
RATIO = {"type": "ratio", "numerator": "numerator", "denominator": "denominator"}
YES_NO = {"type": "yes_no", "measure": "done"}
LEVELS = {
    "type": "levels",
    "measure": "level",
    "levels": [
        {"key": "full", "label": "Đầy đủ", "fraction": "1"},
        {"key": "half", "label": "Một phần", "fraction": "0.5"},
        {"key": "none", "label": "Không", "fraction": "0"},
    ],
}


@dataclass
class World:
    framework: Framework
    period: ReportingPeriod
    agencies: dict[str, Agency]
    subs: dict[str, Indicator]
    submissions: dict[tuple[str, str], Submission] = field(default_factory=dict)
    evidence: list[EvidenceFile] = field(default_factory=list)
    staff: dict[str, User] = field(default_factory=dict)
    extra_agencies: list[Agency] = field(default_factory=list)


def measures_for(sub: Indicator, rule: dict) -> None:
    t = rule.get("type")
    if t == "ratio":
        Measure.objects.create(indicator=sub, code="numerator", label="Tử số", kind="numerator")
        Measure.objects.create(
            indicator=sub, code="denominator", label="Mẫu số", kind="denominator", position=1
        )
    elif t == "yes_no":
        Measure.objects.create(indicator=sub, code="done", label="Đã ban hành", kind="boolean")
    elif t == "levels":
        Measure.objects.create(
            indicator=sub, code="level", label="Mức độ", kind="level", choices=LEVELS["levels"]
        )


def put_state(sub: Submission, state: str, **fields) -> Submission:
    Submission.objects.filter(pk=sub.pk).update(state=state, **fields)
    return Submission.objects.get(pk=sub.pk)


def add_transition(sub: Submission, to_state: str, *, actor: User, at=None, from_state=""):
    def create():
        return SubmissionTransition.objects.create(
            submission=sub,
            action=to_state,
            from_state=from_state,
            to_state=to_state,
            actor=actor,
            actor_role=actor.role,
            actor_agency=actor.agency,
            reason="Thiếu minh chứng" if to_state == "returned" else "",
        )

    if at is None:
        return create()
    with time_machine.travel(at, tick=False):  # the log is append-only: create it "then"
        return create()


def add_evidence(sub: Submission, name: str, *, uploader: User, content: bytes | None = None):
    ev = EvidenceFile(
        submission=sub,
        kind=EvidenceFile.Kind.FILE,
        original_name=name,
        size=len(content or name.encode()),
        uploaded_by=uploader,
        doc_number="12/QĐ-UBND",
        issuer="UBND tỉnh Khánh Hòa",
        summary="Quyết định ban hành kế hoạch chuyển đổi số",
    )
    ev.file.save("x", ContentFile(content or f"%PDF-1.4 {name}".encode()), save=False)
    ev.save()
    return ev


def build_world(
    *, extra_agencies: int = 0, deadline_days: int = -5, tag: str = "", grouped: bool = False
) -> World:
    """The standard province for dashboard tests.

    Framework (1000): main 1 "Nhận thức số" (300: 1.1 ratio 200 lead A coordinated by the extra
    agencies and a group, 1.2 yes/no 100 lead B), main 2 "Thể chế số" (700: 2.1 levels 400 lead
    A, 2.2 yes/no 300 lead B), main 3 (0 points: 3.1 informational, lead C).
    Agency D has no assignment. ``extra_agencies`` coordinating agencies each send a contribution
    to 1.1 with evidence and transitions (the "data size" knob of the query-count tests).
    ``grouped`` puts a group level above the main indices (DOMAIN.md §3): "I" (1000: mains 1
    and 2) and "II" (0: main 3).
    """
    fw = published_framework(code=f"dti-test{tag}", name="Bộ chỉ số DTI cấp tỉnh thử nghiệm")
    a = AgencyFactory(code="so-tt", name="Sở Thông tin và Truyền thông", short_name="Sở TT&TT")
    b = AgencyFactory(code="so-nv", name="Sở Nội vụ", short_name="Sở Nội vụ")
    c = AgencyFactory(code="so-xd", name="Sở Xây dựng", short_name="Sở Xây dựng")
    d = AgencyFactory(code="so-dl", name="Sở Du lịch", short_name="Sở Du lịch")
    extras = [
        AgencyFactory(code=f"xa-{i}", name=f"UBND xã Thử nghiệm {i}", kind=Agency.Kind.COMMUNE)
        for i in range(extra_agencies)
    ]
    group, _ = AgencyGroup.objects.get_or_create(
        code="cac-xa", defaults={"name": "Các địa phương", "kinds": ["commune"]}
    )
    spec = [
        (
            "1",
            "Nhận thức số",
            "300",
            [
                ("1.1", "Tỷ lệ thôn có tổ công nghệ số", "200", RATIO, a),
                ("1.2", "Ban hành nghị quyết chuyển đổi số", "100", YES_NO, b),
            ],
        ),
        (
            "2",
            "Thể chế số",
            "700",
            [
                ("2.1", "Mức độ hoàn thiện thể chế số", "400", LEVELS, a),
                ("2.2", "Ban hành quy chế dữ liệu", "300", YES_NO, b),
            ],
        ),
        (
            "3",
            "Đô thị thông minh",
            "0",
            [("3.1", "Theo dõi đô thị thông minh", "0", {"type": "informational"}, c)],
        ),
    ]
    groups = {}
    if grouped:
        for gcode, gname, gpts in (
            ("I", "NHÓM CHỈ SỐ NỀN TẢNG", "1000"),
            ("II", "NHÓM CHỈ SỐ THEO DÕI", "0"),
        ):
            groups[gcode] = IndicatorFactory(
                framework=fw,
                level=Indicator.Level.GROUP,
                code=gcode,
                name=gname,
                max_points=D(gpts),
            )
    subs: dict[str, Indicator] = {}
    for mcode, mname, mpts, children in spec:
        main = IndicatorFactory(
            framework=fw,
            parent=groups.get("II" if mcode == "3" else "I"),
            level=Indicator.Level.MAIN,
            code=mcode,
            name=mname,
            max_points=D(mpts),
        )
        for scode, sname, spts, rule, lead in children:
            sub = IndicatorFactory(
                framework=fw,
                parent=main,
                level=Indicator.Level.SUB,
                code=scode,
                name=sname,
                max_points=D(spts),
                scoring_rule=rule,
                lead_agency=lead,
                scoring_method="Tỷ lệ × điểm tối đa",
            )
            measures_for(sub, rule)
            subs[scode] = sub
    subs["1.1"].coordinating_groups.add(group)
    subs["2.1"].coordinating_agencies.add(b)
    period = ReportingPeriod.objects.create(
        framework=fw,
        year=2025,
        quarter=3,
        deadline=timezone.localdate() + datetime.timedelta(days=deadline_days),
    )
    staff = {
        "a": UserFactory(username="canbo_tt", agency=a, role=User.Role.AGENCY_STAFF),
        "b": UserFactory(username="canbo_nv", agency=b, role=User.Role.AGENCY_STAFF),
        "sở": UserFactory(username="thamdinh_w", agency=None, role=User.Role.REVIEWER),
    }
    w = World(
        framework=fw,
        period=period,
        agencies={"a": a, "b": b, "c": c, "d": d},
        subs=subs,
        staff=staff,
        extra_agencies=extras,
    )
    on_time = timezone.make_aware(
        datetime.datetime.combine(period.deadline - datetime.timedelta(days=2), datetime.time(9))
    )
    late = timezone.make_aware(
        datetime.datetime.combine(period.deadline + datetime.timedelta(days=1), datetime.time(9))
    )

    def new(code, agency, values, state, *, consolidation=False, **extra):
        s = Submission.objects.create(
            indicator=subs[code],
            agency=agency,
            period=period,
            values=values,
            is_consolidation=consolidation,
        )
        s = put_state(s, state, **extra)
        w.submissions[(code, agency.code)] = s
        return s

    # 1.1: A consolidated 80/100 → 160 points; approved with appraised 150.
    s11 = new(
        "1.1",
        a,
        {"numerator": "80", "denominator": "100"},
        "approved",
        consolidation=True,
        appraised_points=D("150"),
    )
    add_transition(s11, "submitted", actor=staff["a"], at=on_time, from_state="draft")
    add_transition(s11, "approved", actor=staff["sở"], from_state="under_review")
    w.evidence.append(add_evidence(s11, "Báo cáo tổ công nghệ số.pdf", uploader=staff["a"]))
    w.evidence.append(add_evidence(s11, "Danh sách thôn.xlsx", uploader=staff["a"]))
    # 1.2: B approved yes → 100; submitted late, returned once before.
    s12 = new("1.2", b, {"done": "1"}, "approved")
    add_transition(s12, "submitted", actor=staff["b"], at=late, from_state="draft")
    add_transition(s12, "returned", actor=staff["sở"], from_state="under_review")
    add_transition(s12, "submitted", actor=staff["b"], from_state="returned")
    add_transition(s12, "approved", actor=staff["sở"], from_state="under_review")
    w.evidence.append(add_evidence(s12, "Nghị quyết số 09-NQ-TU.pdf", uploader=staff["b"]))
    # 2.1: A submitted "half" (not approved: self 200, appraised 0, at risk).
    s21 = new("2.1", a, {"level": "half"}, "submitted")
    add_transition(s21, "submitted", actor=staff["a"], at=on_time, from_state="draft")
    w.evidence.append(add_evidence(s21, "Dự thảo quy chế.docx", uploader=staff["a"]))
    # 2.2: B returned (at risk, returned); its evidence is not approved.
    s22 = new("2.2", b, {"done": "1"}, "returned")
    add_transition(s22, "submitted", actor=staff["b"], at=on_time, from_state="draft")
    add_transition(s22, "returned", actor=staff["sở"], from_state="under_review")
    w.evidence.append(add_evidence(s22, "Quy chế dữ liệu.pdf", uploader=staff["b"]))
    # Extra coordinating communes: contributions to 1.1 (sent to the lead), with evidence.
    for i, ag in enumerate(extras):
        user = UserFactory(username=f"canbo_xa_{i}", agency=ag, role=User.Role.AGENCY_STAFF)
        s = new("1.1", ag, {"numerator": str(i % 5), "denominator": "5"}, "submitted_to_lead")
        add_transition(s, "submitted_to_lead", actor=user, at=on_time, from_state="draft")
        w.evidence.append(add_evidence(s, f"Báo cáo xã {i}.pdf", uploader=user))
    return w


def recompute(w: World) -> None:
    """The scoring engine's own synchronous recompute of the world's period."""
    from scoring.services import score_recompute

    score_recompute(framework_id=w.framework.pk, period_id=w.period.pk, force=True)


def add_previous_period(w: World) -> ReportingPeriod:
    """Q2 with B's 1.2 approved and A's 1.1 approved at 100, for trend and league movement."""
    prev = ReportingPeriod.objects.create(
        framework=w.framework,
        year=2025,
        quarter=2,
        deadline=w.period.deadline - datetime.timedelta(days=90),
    )
    s = Submission.objects.create(
        indicator=w.subs["1.1"],
        agency=w.agencies["a"],
        period=prev,
        values={"numerator": "50", "denominator": "100"},
        is_consolidation=True,
    )
    put_state(s, "approved")
    s = Submission.objects.create(
        indicator=w.subs["1.2"], agency=w.agencies["b"], period=prev, values={"done": "1"}
    )
    put_state(s, "approved")
    from scoring.services import score_recompute

    score_recompute(framework_id=w.framework.pk, period_id=prev.pk, force=True)
    return prev


def q(w) -> str:
    """The framework and period query string of a dashboard URL for world ``w``."""
    return f"?framework={w.framework.code}&period={w.period.pk}"

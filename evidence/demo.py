"""Demo reporting data: the 2025 quarters and the annual round of the demo framework, with
submissions in every state for the demo agencies (coordinators' contributions, the leads'
consolidations, reviews) and a few small real PDF evidence files generated here.

Everything goes through the services (create/update, evidence checks, the review issue's
transitions), so the audit trail and the version numbers are those of real use. Idempotent:
nothing is added when the demo periods already have submissions.
"""

from __future__ import annotations

import datetime
import io
import random
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction

from agencies.models import User
from dti_portal.errors import ValidationFailed
from indicators.models import Framework, Indicator, Measure

from . import services
from .models import ReportingPeriod, Submission
from .services.submissions import measures_of
from .services.values import decimal_to_str, level_keys, own_share_measures

DEMO_FRAMEWORK = "dti-2025-tinh"
DEMO_YEAR = 2025


def demo_pdf(lines: list[str]) -> bytes:
    """A small, valid one-page PDF (Helvetica, ASCII text) built without any library."""
    text = " ".join(f"({line.encode('ascii', 'replace').decode()}) Tj 0 -16 Td" for line in lines)
    content = f"BT /F1 12 Tf 72 740 Td {text} ET".encode()
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(
        f"trailer\n<< /Size {len(objs) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def _values(
    indicator: Indicator, rng: random.Random, share: Decimal = Decimal(1)
) -> dict[str, str]:
    values: dict[str, str] = {}
    for m in measures_of(indicator):
        if m.kind == Measure.Kind.DENOMINATOR:
            values[m.code] = str(int(rng.randint(40, 200) * share) or 1)
        elif m.kind == Measure.Kind.BOOLEAN:
            values[m.code] = "1" if rng.random() < 0.8 else "0"
        elif m.kind == Measure.Kind.LEVEL:
            keys = level_keys(m)
            if keys:
                values[m.code] = keys[0] if rng.random() < 0.6 else keys[-1]
        elif m.kind == Measure.Kind.COUNT:
            values[m.code] = str(rng.randint(1, 5))
        elif m.kind == Measure.Kind.PERCENT:
            values[m.code] = str(rng.randint(55, 100))
        elif m.kind == Measure.Kind.TEXT:
            values[m.code] = "Đã triển khai theo kế hoạch."
        elif m.kind != Measure.Kind.NUMERATOR:
            values[m.code] = decimal_to_str(Decimal(rng.randint(1, 40)) / 2)
    for m in measures_of(indicator):
        if m.kind == Measure.Kind.NUMERATOR:
            den = next(
                (values[d.code] for d in measures_of(indicator) if d.kind == "denominator"), "100"
            )
            values[m.code] = str(int(Decimal(den) * Decimal(rng.randint(50, 100)) / 100))
    return values


def _periods(framework: Framework, reviewer: User) -> list[ReportingPeriod]:
    """Q1–Q4 and the annual round, open while the demo data is written."""
    temporary = services.today_vn() + datetime.timedelta(days=60)
    out = []
    for quarter in (1, 2, 3, 4, None):
        period = ReportingPeriod.objects.filter(
            framework=framework, year=DEMO_YEAR, quarter=quarter
        ).first()
        if period is None:
            period = services.period_create(
                actor=reviewer,
                framework=framework,
                year=DEMO_YEAR,
                quarter=quarter,
                deadline=temporary,
            )
        elif services.period_is_locked(period):
            period = services.period_extend(
                actor=reviewer, period=period, deadline=temporary, reason="Nạp dữ liệu mẫu"
            )
        out.append(period)
    return out


def _final_deadlines(periods: list[ReportingPeriod], reviewer: User) -> None:
    """Official deadlines; the current quarter stays open a month so the demo can be used."""
    for period in periods:
        deadline = services.default_deadline(period.year, period.quarter)
        reason = "Hạn chính thức theo Kế hoạch 4636/KH-UBND"
        if period.quarter == 4:
            deadline = max(deadline, services.today_vn() + datetime.timedelta(days=30))
            reason = "Gia hạn quý 4 (dữ liệu mẫu: kỳ đang mở)"
        services.period_extend(
            actor=reviewer, period=period, deadline=deadline, reason=reason, allow_past=True
        )


def _attach_pdf(sub: Submission, user: User, n: int) -> None:
    number = f"{100 + n}/BC-{(user.agency.short_name or 'CQ').replace(' ', '')}"  # type: ignore[union-attr]
    pdf = demo_pdf(
        [
            f"Bao cao so {number}",
            f"Chi so {sub.indicator.code} - {sub.period}".encode("ascii", "replace").decode(),
            "Tai lieu kiem chung (du lieu mau)",
        ]
    )
    services.evidence_add_file(
        submission=sub,
        actor=user,
        # "Quý 4/2025" → "Quý 4-2025": a file name holds no slash (it would be cut there).
        upload=SimpleUploadedFile(
            f"Báo cáo {sub.indicator.code} {str(sub.period).replace('/', '-')}.pdf", pdf
        ),
        doc_number=number,
        doc_date=datetime.date(sub.period.year, 3 * (sub.period.quarter or 4), 10),
        issuer=user.agency.name if user.agency else "",
        summary=f"Báo cáo kết quả thực hiện chỉ số {sub.indicator.code}",
    )


def seed_submissions() -> int:
    """Seeds the demo periods and submissions; returns how many submissions were created.

    ``seed_demo`` recomputes every period's scores once at the end (``scoring.demo``), so the
    hundreds of per-change recompute requests and notification e-mails the services queue
    (``on_commit``) while the demo is written are dropped: the audit rows, in-app
    notifications and versions stay exactly as real use leaves them.
    """
    with transaction.atomic():
        connection = transaction.get_connection()
        mark = len(connection.run_on_commit)
        created = _seed()
        del connection.run_on_commit[mark:]
    return created


def _seed() -> int:
    framework = (
        Framework.objects.filter(code=DEMO_FRAMEWORK).first()
        or Framework.objects.filter(status=Framework.Status.PUBLISHED).order_by("-year").first()
    )
    reviewer = User.objects.filter(role=User.Role.REVIEWER, is_active=True).order_by("pk").first()
    if framework is None or reviewer is None:
        return 0
    if Submission.objects.filter(period__framework=framework, period__year=DEMO_YEAR).exists():
        return 0
    staff: dict[int, User] = {}
    for user in User.objects.filter(role=User.Role.AGENCY_STAFF, is_active=True).order_by("pk"):
        staff.setdefault(user.agency_id, user)  # type: ignore[arg-type]
    periods = _periods(framework, reviewer)
    from .selectors import coordinators_of

    subs = list(
        Indicator.objects.filter(framework=framework, level=Indicator.Level.SUB)
        .prefetch_related("measures", "coordinating_agencies", "coordinating_groups")
        .order_by("sort_key")
    )
    created = 0
    counter = 0
    for period in periods:
        for ind in subs:
            lead_user = staff.get(ind.lead_agency_id)  # type: ignore[arg-type]
            coord_users = [staff[a.pk] for a in coordinators_of(ind) if a.pk in staff]
            if lead_user is None and not coord_users:
                continue
            if period.quarter is None and lead_user is None:
                continue
            # Seeded by what the period is, not its id: the same demo on every database (on
            # PostgreSQL the ids depend on what the sequences handed out before).
            rng = random.Random(f"{period.year}-{period.quarter}-{ind.code}")  # noqa: S311 - demo
            plan = _plan(period, rng)
            # coordinators' contributions
            if period.quarter not in (3, 4):
                coord_users = []  # contributions only in the two latest quarters
            for cu in coord_users[:2]:
                sub = services.submission_create(
                    actor=cu,
                    indicator=ind,
                    period=period,
                    values=_values(ind, rng, Decimal("0.3")),
                    note="Phần số liệu của đơn vị.",
                )
                created += 1
                if plan != "draft" or rng.random() < 0.5:
                    sub = services.submission_submit(submission=sub, actor=cu, version=sub.version)
            if lead_user is None:
                continue
            proposal = services.lead_proposal(indicator=ind, period=period)
            own: dict[str, str] = {}
            if proposal and rng.random() < 0.5:
                # The lead counts its own unit too (its own part joins the proposal).
                codes = {m.code for m in own_share_measures(ind, measures_of(ind))}
                own = {k: v for k, v in _values(ind, rng, Decimal("0.2")).items() if k in codes}
                proposal = services.lead_proposal(indicator=ind, period=period, own_values=own)
            values = proposal if proposal and rng.random() < 0.7 else _values(ind, rng)
            reason = (
                "" if values == proposal or not proposal else "Bổ sung số liệu của cơ quan chủ trì."
            )
            try:
                sub = services.submission_create(
                    actor=lead_user,
                    indicator=ind,
                    period=period,
                    values=values,
                    note="Tổng hợp số liệu các cơ quan phối hợp." if proposal else "",
                    consolidation_reason=reason,
                    own_values=own,
                )
            except ValidationFailed:
                sub = services.submission_create(
                    actor=lead_user,
                    indicator=ind,
                    period=period,
                    values=_values(ind, rng),
                    consolidation_reason="Điều chỉnh theo số liệu của cơ quan chủ trì.",
                )
            created += 1
            counter += 1
            if counter % 3 == 0:
                _attach_pdf(sub, lead_user, counter)
            _advance(sub, lead_user, reviewer, plan)
    _final_deadlines(periods, reviewer)
    return created


def _plan(period: ReportingPeriod, rng: random.Random) -> str:
    """The state a lead's item ends in: past quarters mostly approved, Q4 a mix of everything."""
    r = rng.random()
    if period.quarter is None:
        return "draft"
    if period.quarter < 4:
        return "approved" if r < 0.8 else ("returned" if r < 0.9 else "under_review")
    for limit, state in (
        (0.2, "draft"),
        (0.4, "submitted"),
        (0.55, "under_review"),
        (0.7, "returned"),
        (1.0, "approved"),
    ):
        if r < limit:
            return state
    return "approved"


def _advance(sub: Submission, lead_user: User, reviewer: User, plan: str) -> Any:
    if plan == "draft":
        return sub
    sub = services.submission_submit(submission=sub, actor=lead_user, version=sub.version)
    if plan == "submitted":
        return sub
    sub = services.submission_start_review(submission=sub, actor=reviewer, version=sub.version)
    if plan == "under_review":
        return sub
    if plan == "returned":
        return services.submission_return(
            submission=sub,
            actor=reviewer,
            version=sub.version,
            reason_code="thieu_minh_chung",
            reason="Đề nghị bổ sung văn bản chứng minh (quyết định, kế hoạch đã ban hành).",
        )
    return services.submission_approve(submission=sub, actor=reviewer, version=sub.version)

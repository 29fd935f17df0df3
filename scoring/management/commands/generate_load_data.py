"""Generates a synthetic province of any size for load tests and benchmarks.

    manage.py generate_load_data --agencies 1000 --quarters 8 --seed 1

N agencies of mixed kinds (departments, communes, party bodies, police, enterprises), the 2025
framework imported from the appendix workbook with the frameworks importer service, lead and
coordinating assignments spread over the agencies, Q quarters of submissions in every state
(closed quarters mostly approved, the last one open and busy), a transition row per step, evidence
metadata rows with tiny files, and accounts (one staff account per agency, reviewers, leaders, an
administrator), all sharing one password.

Rows are written with ``bulk_create``; the same ``--seed`` gives the same province. The command
refuses to run twice on one database (codes would clash): use a fresh database.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from agencies.models import Agency, User
from agencies.text import normalize_name
from evidence.models import EvidenceFile, ReportingPeriod, Submission, SubmissionTransition
from indicators.models import Framework, Indicator, Measure
from indicators.scoring_rules import evaluate_rule

PREFIX = "load"
KIND_MIX = [
    (Agency.Kind.DEPARTMENT, 30),
    (Agency.Kind.COMMUNE, 55),
    (Agency.Kind.PARTY, 5),
    (Agency.Kind.POLICE, 3),
    (Agency.Kind.ENTERPRISE, 7),
]
KIND_LABEL = {
    Agency.Kind.DEPARTMENT: "Sở Tổng hợp",
    Agency.Kind.COMMUNE: "UBND xã",
    Agency.Kind.PARTY: "Ban Đảng",
    Agency.Kind.POLICE: "Công an khu vực",
    Agency.Kind.ENTERPRISE: "Doanh nghiệp viễn thông",
}
# State mix of the lead agencies' items: closed quarters, and the open (last) quarter.
CLOSED_MIX = [("approved", 85), ("returned", 5), ("submitted", 5), ("under_review", 5)]
OPEN_MIX = [
    ("draft", 35),
    ("submitted", 20),
    ("under_review", 10),
    ("approved", 25),
    ("returned", 10),
]
COORDINATIONS_PER_AGENCY = 3
TINY_PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _pick(rng: random.Random, mix: list[tuple[Any, int]]) -> Any:
    return rng.choices([m for m, _ in mix], weights=[w for _, w in mix])[0]


def import_framework(path: Path, code: str, year: int) -> Framework:
    """Imports the appendix through the frameworks importer service (all-or-nothing)."""
    from indicators.services import ImportFailed, framework_import

    try:
        report = framework_import(
            actor=None,
            data=path.read_bytes(),
            code=code,
            year=year,
            name="Bộ chỉ số DTI cấp tỉnh 2025 (dữ liệu tải thử)",
            file_name=path.name,
            create_unknown_agencies=True,
        )
    except ImportFailed as exc:
        raise CommandError(f"Không nhập được bộ chỉ số: {exc}") from exc
    assert report.framework_id is not None  # noqa: S101 - set on every successful import
    return Framework.objects.get(pk=report.framework_id)


def sample_values(rng: random.Random, measures: list[Measure]) -> dict[str, str]:
    values: dict[str, str] = {}
    denominator = rng.randint(10, 500)
    for m in measures:
        if m.kind == Measure.Kind.BOOLEAN:
            values[m.code] = "1" if rng.random() < 0.7 else "0"
        elif m.kind == Measure.Kind.DENOMINATOR:
            values[m.code] = str(denominator)
        elif m.kind == Measure.Kind.NUMERATOR:
            values[m.code] = str(rng.randint(0, denominator))
        elif m.kind == Measure.Kind.PERCENT:
            values[m.code] = str(rng.randint(0, 100))
        elif m.kind == Measure.Kind.COUNT:
            values[m.code] = str(rng.randint(0, 6))
        elif m.kind == Measure.Kind.LEVEL:
            keys = [
                str(c["key"]) for c in (m.choices or []) if isinstance(c, dict) and c.get("key")
            ]
            if keys:
                values[m.code] = rng.choice(keys)
        elif m.kind == Measure.Kind.TEXT:
            values[m.code] = "Số liệu tổng hợp từ báo cáo quý"
        else:
            values[m.code] = str(Decimal(rng.randint(0, 2000)) / 10)
    return values


class Command(BaseCommand):
    help = "Sinh dữ liệu tỉnh giả lập (N cơ quan, Q quý) để thử tải và đo hiệu năng."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--agencies", type=int, default=100)
        parser.add_argument("--quarters", type=int, default=8)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--password", default="load-pass-12345")
        parser.add_argument("--framework-code", default="dti-2025-load")
        parser.add_argument(
            "--framework-file", default=str(settings.DTI_FRAMEWORK_FILE), help="appendix .xlsx"
        )
        parser.add_argument("--no-files", action="store_true", help="evidence rows without files")

    def handle(self, *args: Any, **opts: Any) -> None:
        t0 = time.monotonic()
        n, q = opts["agencies"], opts["quarters"]
        if n < 5 or q < 1:
            raise CommandError("--agencies must be at least 5 and --quarters at least 1.")
        if Agency.objects.filter(code__startswith=f"{PREFIX}-").exists():
            raise CommandError("Load data already exists in this database; use a fresh database.")
        rng = random.Random(opts["seed"])  # noqa: S311 - synthetic data, not security
        uuid_rng = random.Random(opts["seed"] + 1)  # noqa: S311
        counts = self.generate(n, q, rng, uuid_rng, opts)
        if connection.vendor == "postgresql":
            # Planner statistics for the bulk-loaded tables, as after any bulk load (autovacuum
            # would gather them a minute later, or never where it is off).
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        counts["seconds"] = round(time.monotonic() - t0, 1)
        self.stdout.write(
            self.style.SUCCESS(
                "Đã sinh dữ liệu: "
                + ", ".join(f"{k}={v}" for k, v in counts.items())
                + f". Mật khẩu mọi tài khoản: {opts['password']}"
            )
        )

    @transaction.atomic
    def generate(
        self, n: int, q: int, rng: random.Random, uuid_rng: random.Random, opts: dict[str, Any]
    ) -> dict[str, Any]:
        password = make_password(opts["password"])  # hashed once, shared by every account

        # --- agencies and accounts ------------------------------------------------------------
        agencies = []
        for i in range(n):
            kind = _pick(rng, KIND_MIX) if i >= 3 else Agency.Kind.DEPARTMENT
            name = f"{KIND_LABEL[kind]} số {i + 1:04d}"
            agencies.append(
                Agency(
                    code=f"{PREFIX}-{i + 1:04d}",
                    name=name,
                    short_name=f"{kind[:3].upper()} {i + 1}",
                    kind=kind,
                )
            )
        for a in agencies:  # what Agency.save() does, bulk_create skips save()
            a.normalized_name = normalize_name(a.name)
            a.search_text = " ".join(
                filter(None, [a.normalized_name, normalize_name(a.short_name), a.code])
            )
        Agency.objects.bulk_create(agencies, batch_size=1000)
        agencies = list(Agency.objects.filter(code__startswith=f"{PREFIX}-").order_by("code"))
        departments = [a for a in agencies if a.kind == Agency.Kind.DEPARTMENT]

        users = [
            User(
                username=f"{PREFIX}_a{i + 1:04d}",
                full_name=f"Cán bộ {a.name}",
                email=f"{PREFIX}_a{i + 1:04d}@example.gov.vn",
                role=User.Role.AGENCY_STAFF,
                agency=a,
                password=password,
            )
            for i, a in enumerate(agencies)
        ]
        n_reviewers = max(2, n // 50)
        reviewer_agency = departments[0]
        users += [
            User(
                username=f"{PREFIX}_reviewer{i + 1}",
                full_name=f"Chuyên viên thẩm định {i + 1}",
                role=User.Role.REVIEWER,
                agency=reviewer_agency,
                password=password,
            )
            for i in range(n_reviewers)
        ]
        users += [
            User(username=f"{PREFIX}_leader{i + 1}", role=User.Role.LEADER, password=password)
            for i in range(2)
        ]
        users.append(
            User(
                username=f"{PREFIX}_admin",
                role=User.Role.ADMIN,
                is_staff=True,
                is_superuser=True,
                password=password,
            )
        )
        User.objects.bulk_create(users, batch_size=1000)
        staff = {
            u.agency_id: u
            for u in User.objects.filter(
                username__startswith=f"{PREFIX}_a", role=User.Role.AGENCY_STAFF
            )
        }
        reviewers = list(User.objects.filter(username__startswith=f"{PREFIX}_reviewer"))

        # --- the framework and its assignments -------------------------------------------------
        fw = Framework.objects.filter(code=opts["framework_code"]).first()
        if fw is None:
            fw = import_framework(Path(opts["framework_file"]), opts["framework_code"], 2025)
        subs = list(
            Indicator.objects.filter(framework=fw, level=Indicator.Level.SUB)
            .prefetch_related("measures")
            .order_by("sort_key")
        )
        if not subs:
            raise CommandError("The framework has no sub-indicators.")
        for ind in subs:
            ind.lead_agency = rng.choice(departments)
        Indicator.objects.bulk_update(subs, ["lead_agency"])
        through = Indicator.coordinating_agencies.through
        coordination: dict[int, list[Agency]] = {ind.id: [] for ind in subs}
        links = []
        for a in agencies:
            for ind in rng.sample(subs, min(COORDINATIONS_PER_AGENCY, len(subs))):
                if ind.lead_agency_id != a.id:
                    coordination[ind.id].append(a)
                    links.append(through(indicator_id=ind.id, agency_id=a.id))
        through.objects.bulk_create(links, batch_size=5000, ignore_conflicts=True)
        if fw.status == Framework.Status.DRAFT:
            from indicators.services import framework_publish

            admin = User.objects.get(username=f"{PREFIX}_admin")
            fw = framework_publish(actor=admin, framework=fw)

        # --- periods ---------------------------------------------------------------------------
        periods = []
        year, quarter = 2025, 1
        for k in range(q):
            last_month = quarter * 3
            periods.append(
                ReportingPeriod(
                    framework=fw,
                    year=year,
                    quarter=quarter,
                    deadline=datetime.date(year, last_month, 25),
                    status=ReportingPeriod.Status.OPEN
                    if k == q - 1
                    else ReportingPeriod.Status.CLOSED,
                )
            )
            quarter += 1
            if quarter == 5:
                year, quarter = year + 1, 1
        ReportingPeriod.objects.bulk_create(periods)
        periods = list(ReportingPeriod.objects.filter(framework=fw).order_by("year", "quarter"))

        # --- submissions -----------------------------------------------------------------------
        submissions: list[Submission] = []
        for k, period in enumerate(periods):
            open_period = k == len(periods) - 1
            for ind in subs:
                measures = list(ind.measures.all())
                lead_state = _pick(rng, OPEN_MIX if open_period else CLOSED_MIX)
                lead = ind.lead_agency
                assert lead is not None  # noqa: S101 - every sub-indicator got a lead above
                for agency in [lead, *coordination[ind.id]]:
                    is_lead = agency.id == ind.lead_agency_id
                    if is_lead:
                        state = lead_state
                    else:
                        state = (
                            "submitted_to_lead"
                            if not open_period or rng.random() < 0.6
                            else "draft"
                        )
                    values = sample_values(rng, measures)
                    points = None
                    if ind.scoring_rule:
                        try:
                            points = evaluate_rule(
                                ind.scoring_rule,
                                values,
                                ind.max_points,
                                {m.code: m.kind for m in measures},
                            ).points
                        except Exception:  # noqa: BLE001 - a rule the generator cannot feed
                            points = None
                    user = staff[agency.id]
                    approved = state == "approved"
                    submissions.append(
                        Submission(
                            indicator=ind,
                            agency=agency,
                            period=period,
                            state=state,
                            is_consolidation=is_lead,
                            values=values,
                            self_points=points if is_lead else None,
                            appraised_points=points if approved and is_lead else None,
                            version=1 + (state != "draft") + approved,
                            created_by=user,
                            updated_by=user,
                            reviewed_by=rng.choice(reviewers) if approved else None,
                        )
                    )
        Submission.objects.bulk_create(submissions, batch_size=2000)
        submissions = list(
            Submission.objects.filter(period__framework=fw).order_by("id").select_related("agency")
        )

        # --- transitions and evidence ----------------------------------------------------------
        steps = {
            "submitted_to_lead": [("submit_to_lead", "draft", "submitted_to_lead")],
            "submitted": [("submit", "draft", "submitted")],
            "under_review": [
                ("submit", "draft", "submitted"),
                ("start_review", "submitted", "under_review"),
            ],
            "approved": [
                ("submit", "draft", "submitted"),
                ("start_review", "submitted", "under_review"),
                ("approve", "under_review", "approved"),
            ],
            "returned": [
                ("submit", "draft", "submitted"),
                ("return", "submitted", "returned"),
            ],
        }
        transitions = []
        evidence = []
        media_root = Path(settings.MEDIA_ROOT)
        write_files = not opts["no_files"]
        for sub in submissions:
            user = staff[sub.agency_id]
            for action, src, dst in steps.get(sub.state, []):
                by_reviewer = action in ("start_review", "approve", "return")
                actor = rng.choice(reviewers) if by_reviewer else user
                transitions.append(
                    SubmissionTransition(
                        submission=sub,
                        action=action,
                        from_state=src,
                        to_state=dst,
                        actor=actor,
                        actor_role=actor.role,
                        actor_agency_id=actor.agency_id,
                        reason_code="thieu_minh_chung" if action == "return" else "",
                        reason="Bổ sung văn bản minh chứng" if action == "return" else "",
                    )
                )
            if sub.state == "draft" and rng.random() < 0.5:
                continue
            payload = TINY_PDF + f"% {sub.id}\n".encode()
            name = f"evidence/{sub.agency_id}/{sub.period_id}/{uuid.UUID(int=uuid_rng.getrandbits(128)).hex}"
            if write_files:
                path = media_root / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(payload)
            evidence.append(
                EvidenceFile(
                    submission=sub,
                    kind=EvidenceFile.Kind.FILE,
                    file=name,
                    original_name=f"Quyết định {sub.id} - minh chứng.pdf",
                    size=len(payload),
                    sha256=hashlib.sha256(payload).hexdigest(),
                    mime_type="application/pdf",
                    doc_number=f"{sub.id}/QĐ-UBND",
                    doc_date=datetime.date(2025, 1, 1) + datetime.timedelta(days=sub.id % 365),
                    issuer="UBND tỉnh",
                    summary="Văn bản minh chứng (dữ liệu tải thử)",
                    uploaded_by=user,
                )
            )
        SubmissionTransition.objects.bulk_create(transitions, batch_size=5000)
        EvidenceFile.objects.bulk_create(evidence, batch_size=5000)
        return {
            "agencies": len(agencies),
            "accounts": len(users),
            "framework": fw.code,
            "sub_indicators": len(subs),
            "periods": len(periods),
            "submissions": len(submissions),
            "transitions": len(transitions),
            "evidence": len(evidence),
        }

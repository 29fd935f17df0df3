"""Small database probes for bench/run.py (one JSON line each).

python -m bench.probe open-period            → {"period": id}
python -m bench.probe staff PERIOD           → usernames of staff with editable items
python -m bench.probe drafts PERIOD N        → [{"id", "username"}] editable items for uploads
python -m bench.probe transitions SINCE_ID   → counts of transitions after an id, per action
python -m bench.probe max-transition         → {"id": max id}
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.db.models import Count, Max

    from evidence.models import ReportingPeriod, Submission, SubmissionTransition

    cmd = sys.argv[1]
    if cmd == "open-period":
        p = ReportingPeriod.objects.filter(status="open").order_by("-year", "-quarter").first()
        out: object = {"period": p.id if p else None}
    elif cmd == "staff":
        out = sorted(
            set(
                Submission.objects.filter(
                    period_id=int(sys.argv[2]), state__in=["draft", "returned"]
                )
                .filter(agency__users__role="agency_staff")
                .values_list("agency__users__username", flat=True)
            )
        )
    elif cmd == "drafts":
        rows = (
            Submission.objects.filter(period_id=int(sys.argv[2]), state="draft")
            .filter(agency__users__role="agency_staff")
            .values_list("id", "agency__users__username")
            .order_by("id")[: int(sys.argv[3])]
        )
        out = [{"id": i, "username": u} for i, u in rows]
    elif cmd == "max-transition":
        out = {"id": SubmissionTransition.objects.aggregate(m=Max("id"))["m"] or 0}
    elif cmd == "transitions":
        out = dict(
            SubmissionTransition.objects.filter(id__gt=int(sys.argv[2]))
            .values_list("action")
            .annotate(n=Count("id"))
            .values_list("action", "n")
        )
    else:
        raise SystemExit(f"unknown probe {cmd}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()

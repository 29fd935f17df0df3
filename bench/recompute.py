"""Province recompute against the SQL floor, in one process (run by bench/run.py).

    DATABASE_URL=... python -m bench.recompute --framework dti-2025-load --repeat 3

Times ``scoring.services.score_recompute_all`` for every period of the framework (the whole
province), then one hand-written SQL aggregate computing the same per-period, per-main-index
totals of the three score kinds; checks the totals agree; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from decimal import Decimal
from typing import Any

FLOOR_SQL = """
SELECT s.period_id, main.code,
       SUM(CASE WHEN s.state IN ('submitted', 'under_review', 'approved')
                THEN COALESCE(s.self_points, 0) ELSE 0 END) AS self_assessed,
       SUM(CASE WHEN s.state = 'approved'
                THEN COALESCE(s.appraised_points, s.self_points, 0) ELSE 0 END) AS appraised,
       SUM(CASE WHEN s.state = 'approved'
                THEN COALESCE(s.final_points, s.appraised_points, s.self_points, 0) ELSE 0 END)
           AS final
FROM evidence_submission s
JOIN indicators_indicator sub ON sub.id = s.indicator_id
JOIN indicators_indicator main ON main.id = sub.parent_id
JOIN evidence_reportingperiod p ON p.id = s.period_id
WHERE p.framework_id = %s AND s.is_consolidation
GROUP BY s.period_id, main.code
"""


def time_phases(fw: Any) -> dict[str, float]:
    """One more pass over the framework's periods, timed by phase with the functions
    ``score_recompute_all`` is made of, in its order (framework and periods loaded together,
    then per period, with the garbage collector paused): loading the inputs, evaluating every
    rule with the lineage, hashing the inputs, and storing the snapshots (every one rewritten,
    as in the timed runs). Locks and sequence bookkeeping are what is left of its time."""
    from evidence.models import ReportingPeriod
    from scoring import engine
    from scoring.models import ScoreSnapshot, ScoreState
    from scoring.services import loading, recompute

    out = {
        "load_s": 0.0,
        "compute_s": 0.0,
        "hash_s": 0.0,
        "store_s": 0.0,
        "rows": 0,
        "counted_rows": 0,
        "lineage_bytes": 0,
    }
    periods = list(ReportingPeriod.objects.filter(framework=fw).order_by("id"))
    states = {s.period_id: s for s in ScoreState.objects.filter(framework=fw, period__in=periods)}
    runs = []
    with loading._gc_paused():
        t0 = time.perf_counter()
        loaded = loading._load_periods(loading._load_framework(fw), periods)
        out["load_s"] += time.perf_counter() - t0
        for pid, inputs in loaded.items():
            t1 = time.perf_counter()
            results = engine.compute_all(*inputs)
            t2 = time.perf_counter()
            digest = engine.input_hash(*inputs)
            t3 = time.perf_counter()
            out["compute_s"] += t2 - t1
            out["hash_s"] += t3 - t2
            out["rows"] += len(inputs.submissions)
            out["counted_rows"] += sum(n for c in inputs.others.values() for n in c.values())
            out["lineage_bytes"] += sum(len(json.dumps(r.lineage)) for r in results.values())
            state = states[pid]
            runs.append(recompute._Computed(state.pk, pid, state.requested_seq, results, digest))
        ScoreSnapshot.objects.filter(framework=fw).update(input_hash="")
        t4 = time.perf_counter()
        recompute._store(fw.pk, runs, force=True)
        out["store_s"] = time.perf_counter() - t4
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--framework", default="dti-2025-load")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from evidence.models import Submission
    from indicators.models import Framework
    from scoring.models import ScoreSnapshot
    from scoring.services import score_recompute_all

    fw = Framework.objects.get(code=args.framework)
    engine_times, floor_times = [], []
    queries = 0
    for _ in range(args.repeat):
        # As after a change everywhere: every snapshot is rewritten, not only renumbered (an
        # unchanged input hash would skip the writes).
        ScoreSnapshot.objects.filter(framework=fw).update(input_hash="")
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            done = score_recompute_all(framework=fw)
            engine_times.append(time.perf_counter() - t0)
        queries = len(ctx.captured_queries)
        with connection.cursor() as cur:
            t0 = time.perf_counter()
            cur.execute(FLOOR_SQL, [fw.id])
            rows = cur.fetchall()
            floor_times.append(time.perf_counter() - t0)

    # The same recompute when nothing changed since the last one (the nightly run on a quiet
    # day): inputs loaded, evaluated and hashed, snapshots only renumbered.
    unchanged_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        score_recompute_all(framework=fw)
        unchanged_times.append(time.perf_counter() - t0)

    # One more run under cProfile: where the time goes (written to BENCHMARKS.md when missed).
    import cProfile
    import io
    import pstats

    ScoreSnapshot.objects.filter(framework=fw).update(input_hash="")
    prof = cProfile.Profile()
    prof.enable()
    score_recompute_all(framework=fw)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(18)
    profile_text = "\n".join(
        line for line in buf.getvalue().splitlines() if line.strip() and "{built-in" not in line
    )[-6000:]

    phases = time_phases(fw)

    floor: dict[tuple[int, str], dict[str, Decimal]] = {}
    for period_id, _main, s, a, f in rows:
        tot = floor.setdefault(
            (period_id, "total"),
            {"self_assessed": Decimal(0), "appraised": Decimal(0), "final": Decimal(0)},
        )
        tot["self_assessed"] += s or 0
        tot["appraised"] += a or 0
        tot["final"] += f or 0
    mismatches = []
    for snap in ScoreSnapshot.objects.filter(framework=fw):
        expected = floor.get((snap.period_id, "total"), {}).get(snap.kind, Decimal(0))
        if abs(Decimal(snap.total_points) - expected) > Decimal("0.01"):
            mismatches.append(
                {
                    "period": snap.period_id,
                    "kind": snap.kind,
                    "engine": str(snap.total_points),
                    "sql": str(expected),
                }
            )
    print(
        json.dumps(
            {
                "periods": len(done),
                "submissions": Submission.objects.filter(period__framework=fw).count(),
                "engine_s": statistics.median(engine_times),
                "engine_runs": engine_times,
                "floor_s": statistics.median(floor_times),
                "floor_runs": floor_times,
                "engine_queries": queries,
                "engine_unchanged_s": statistics.median(unchanged_times),
                "totals_compared": ScoreSnapshot.objects.filter(framework=fw).count(),
                "mismatches": mismatches[:10],
                "mismatch_count": len(mismatches),
                "profile": profile_text,
                "phases": phases,
            }
        )
    )


if __name__ == "__main__":
    main()

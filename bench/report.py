"""BENCHMARKS.md from the results of one `make bench` run (bench/run.py): the targets and
their verdicts, each figure with its floor, and the profile of every missed target."""

from __future__ import annotations

import json
import time
from pathlib import Path


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**MISSED**"


def write_report(
    results: dict,
    commands: list[str],
    started: float,
    *,
    out: Path,
    last_run: Path,
    quarters: int,
    load_users: int,
    log: list[str],
) -> None:
    """BENCHMARKS.md from one run's results (and the raw results as JSON in ``last_run``)."""
    r = results
    m = r["machine"]
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (bench/run.py) on {m['date']}, commit `{m['commit']}`, in {time.monotonic() - started:.0f} s.",
        "Every figure is a ratio against a floor measured in the same run on the same machine.",
        "",
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores (shared: the load generator runs on the same host); RAM {m['ram_gb']} GB",
        f"- {m['os']}; Python {m['python']}; PostgreSQL {m['postgresql']}; Redis on loopback",
        f"- Load average at start: {', '.join(f'{x:.2f}' for x in m['load_avg_at_start'])}",
        "",
        "## Targets and verdicts",
        "",
        "| Target | Measured | Verdict |",
        "|---|---|---|",
    ]
    targets: list[tuple[str, str, bool]] = []
    sizes = sorted(r["sizes"])
    big_n = sizes[-1]
    rec = r["sizes"][big_n]["recompute"]
    ratio = rec["engine_s"] / rec["floor_s"] if rec["floor_s"] else float("inf")
    targets.append(
        (
            f"Province recompute, N = {big_n}, {quarters} quarters, within 5× the SQL floor",
            f"{rec['engine_s']:.3f} s vs {rec['floor_s'] * 1000:.1f} ms = {ratio:.1f}×",
            ratio <= 5,
        )
    )
    mismatch = sum(r["sizes"][n]["recompute"]["mismatch_count"] for n in sizes)
    targets.append(
        (
            "Engine totals equal the SQL totals (every period × kind)",
            f"{mismatch} mismatches",
            mismatch == 0,
        )
    )
    load = r.get("load")
    if load:
        st = load["mixed"]["stats"]
        dash = st.get("dashboard", {})
        floor = st.get("floor (minimal view)", {})
        dratio = dash.get("p95", 0) / floor["p95"] if floor.get("p95") else float("inf")
        targets.append(
            (
                "Dashboard p95 under deadline-day load within 10× the minimal view's p95",
                f"{dash.get('p95', 0):.0f} ms vs {floor.get('p95', 0):.0f} ms = {dratio:.1f}×",
                dratio <= 10,
            )
        )
        errors = load["mixed"]["counts"].get("server_errors", -1) + load["floor"]["counts"].get(
            "server_errors", 0
        )
        targets.append(("Zero 5xx", f"{errors} responses ≥ 500", errors == 0))
        submits = load["mixed"]["counts"].get("submit_ok", -1)
        rows = sum(
            v
            for k, v in load["transitions"].items()
            if k in ("submit", "submit_to_lead", "resubmit")
        )
        targets.append(
            (
                "Submitted rows = successful submit responses",
                f"{rows} rows, {submits} responses",
                rows == submits and submits > 0,
            )
        )
        approvals = load["mixed"]["counts"].get("approve_ok", -1)
        arows = load["transitions"].get("approve", 0)
        targets.append(
            (
                "Approval rows = successful approve responses",
                f"{arows} rows, {approvals} responses",
                arows == approvals,
            )
        )
    up = r.get("upload")
    if up:
        uratio = up["http_mb_s"] / up["disk_fsync_mb_s"] if up["disk_fsync_mb_s"] else 0
        targets.append(
            (
                "Upload throughput ≥ ½ of writing the same bytes to disk (fsync)",
                f"{up['http_mb_s']:.0f} MB/s vs {up['disk_fsync_mb_s']:.0f} MB/s = {uratio:.2f}",
                uratio >= 0.5,
            )
        )
        big = up["big"]
        growth = big["rss_peak_200_mb"] - big["rss_peak_50_mb"]
        targets.append(
            (
                "Flat memory: web worker peak RSS does not grow from a 50 MB to a 200 MB upload (< 25 MB)",
                f"idle {big['rss_baseline_mb']:.0f} MB; peak {big['rss_peak_50_mb']:.0f} MB (50 MB), "
                f"{big['rss_peak_200_mb']:.0f} MB (200 MB): {growth:+.0f} MB; statuses "
                f"{big.get('status_50')}, {big.get('status')}",
                growth < 25,
            )
        )
    grow = query_growth(r)
    targets.append(
        (
            "Queries per request constant across data sizes",
            f"{len(grow)} route×role pairs grow" + (": " + ", ".join(grow[:6]) if grow else ""),
            not grow,
        )
    )
    for name, measured, ok in targets:
        lines.append(f"| {name} | {measured} | {verdict(ok)} |")
    missed = [t for t in targets if not t[2]]
    lines += [
        "",
        f"{len(targets) - len(missed)} of {len(targets)} targets met."
        + (" Missed targets keep the issue open; the profile of each is below." if missed else ""),
        "",
    ]

    lines += [
        "## 1. Province recompute vs SQL floor",
        "",
        "| N agencies | submissions | generate | engine (median of 3) | queries | SQL floor | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        rc = r["sizes"][n]["recompute"]
        lines.append(
            f"| {n} | {rc['submissions']} | {r['sizes'][n]['generate_s']:.1f} s | {rc['engine_s']:.3f} s | {rc['engine_queries']} | {rc['floor_s'] * 1000:.1f} ms | {rc['engine_s'] / rc['floor_s']:.1f}× |"
        )
    if len(sizes) >= 2:
        a, b2 = r["sizes"][sizes[0]]["recompute"], r["sizes"][sizes[-1]]["recompute"]
        lines += [
            "",
            f"Growth with N: {sizes[0]} → {sizes[-1]} agencies (×{sizes[-1] / sizes[0]:.0f}) multiplies submissions by {b2['submissions'] / a['submissions']:.1f} and engine time by {b2['engine_s'] / a['engine_s']:.1f} (the SQL floor by {b2['floor_s'] / a['floor_s']:.1f}).",
        ]
    if ratio > 5:
        prof = rec.get("profile", "")
        why = ""
        ph = rec.get("phases")
        if ph and "store_s" in ph:
            rest = max(
                rec["engine_s"] - ph["load_s"] - ph["compute_s"] - ph["hash_s"] - ph["store_s"],
                0.0,
            )
            why += (
                f" By phase (one more pass, timed with the recompute's own functions): loading "
                f"the inputs {ph['load_s'] * 1000:.1f} ms ({ph['rows']} submissions read in full, "
                f"the other {ph['counted_rows']} counted per state from an index), evaluating "
                f"every rule with its lineage {ph['compute_s'] * 1000:.1f} ms, the input hash "
                f"{ph['hash_s'] * 1000:.1f} ms, storing the snapshots "
                f"{ph['store_s'] * 1000:.1f} ms ({ph['lineage_bytes'] / 1e6:.1f} MB of lineage "
                f"JSON), the rest (locks, sequence bookkeeping; {rec['engine_queries']} queries in "
                f"all) about {rest * 1000:.1f} ms."
                f" Storing the lineage alone is {ph['store_s'] / rec['floor_s']:.0f}× the floor, "
                f"and evaluating the rules {ph['compute_s'] / rec['floor_s']:.0f}×: the floor sums "
                "the points already stored on the lead agencies' rows, while the engine applies "
                "every rule and records, for every number, the values, rule and submissions it "
                "came from (a product requirement: the drill-down and the exports show it). Within "
                "5× of one SQL sum is out of reach for that work; the remaining levers are "
                "writing less lineage (only what changed) and evaluating in a compiled language."
            )
            if "engine_unchanged_s" in rec:
                why += (
                    f" The same recompute when nothing changed since the last run (snapshots "
                    f"only renumbered): {rec['engine_unchanged_s'] * 1000:.1f} ms = "
                    f"{rec['engine_unchanged_s'] / rec['floor_s']:.0f}× the floor."
                )
        lines += [
            "",
            f"**Missed: why.** Profile of one province recompute at N = {big_n} (cProfile, "
            f"cumulative, top entries).{why}",
            "",
            "```",
            prof[-3500:],
            "```",
        ]
    lines += [
        "",
        "The floor is one SQL statement summing the lead agencies' points per period, main index and kind (bench/recompute.py); each timed engine run recomputes the whole province as after a change everywhere: it loads the inputs, evaluates every rule, builds the lineage and rewrites the three snapshots of every period (their input hashes are blanked before each run, so no write is skipped).",
        "",
    ]

    if load:
        lines += [
            "## 2. Deadline-day load",
            "",
            f"locust headless, {load['users']} users, {load['seconds']} s, loopback, generator on the same 2 cores; gunicorn 3 workers × 4 threads, 1 Celery worker, PostgreSQL, Redis. {load['staff']} agency accounts with open items; dashboard: `{load['dashboard']}`.",
            "",
            "| Action | requests | failures | p50 ms | p95 ms | p99 ms | req/s |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, s in sorted(load["mixed"]["stats"].items()):
            lines.append(
                f"| {name} | {s['requests']} | {s['failures']} | {s['p50']:.0f} | {s['p95']:.0f} | {s['p99']:.0f} | {s['rps']:.1f} |"
            )
        fl = load["floor"]["stats"].get("floor (minimal view)", {})
        agg = load["mixed"]["stats"].get("Aggregated", {})
        lines += [
            "",
            f"Floor alone ({load_users // 2} users, 15 s): {fl.get('rps', 0):.0f} req/s, p95 {fl.get('p95', 0):.0f} ms. Mixed load total: {agg.get('rps', 0):.1f} req/s.",
            f"Counters: {json.dumps(load['mixed']['counts'])}; transitions written during the run: {json.dumps(load['transitions'])}; Celery backlog after the run: {load['drain']['backlog_after_load']}, drained in {load['drain']['drain_s']} s.",
            "",
        ]
        if load["mixed"]["failures"]:
            lines += (
                ["Failures reported by locust:", ""]
                + [
                    f"- {f.get('Method')} {f.get('Name')}: {f.get('Error')} ×{f.get('Occurrences')}"
                    for f in load["mixed"]["failures"]
                ]
                + [""]
            )
    if up:
        lines += [
            "## 3. Evidence upload",
            "",
            f"{up['uploads']} uploads of a {up['file_mb']:.1f} MB PDF through the API (one client, one kept-alive connection, each multipart body built before its clock starts): {up['http_mb_s']:.1f} MB/s (statuses {sorted(set(up['statuses']))}); each upload is flushed to disk (fsync of the file and its directory) before its row commits. Writing the same bytes to the same file system, one write before each upload (interleaved, so both see the same disk): {up['disk_fsync_mb_s']:.1f} MB/s with fsync (durable, the floor used for the verdict), {up['disk_cache_mb_s']:.0f} MB/s into the page cache only.",
            "",
            f"200 MB upload: status {up['big'].get('status')} in {up['big'].get('seconds', 0):.1f} s; largest web worker RSS {up['big']['rss_baseline_mb']:.0f} MB idle, {up['big']['rss_peak_50_mb']:.0f} MB peak during a 50 MB upload, {up['big']['rss_peak_200_mb']:.0f} MB peak during the 200 MB upload (sampled every 20 ms). The growth from idle is the allocator's working set (1 MB chunks, 4 threads per worker); what matters for streaming is that it does not grow with the upload's size.",
            "",
        ]
        prof = up.get("profile") or {}
        if prof and up["http_mb_s"] < 0.5 * up["disk_fsync_mb_s"]:
            per_ms = up["file_mb"] / (up["http_mb_s"] or 1) * 1000
            small = up.get("small_ms") or 0
            floor_ms = up["file_mb"] / (up["disk_fsync_mb_s"] or 1) * 1000
            per_mb = (per_ms - small) / up["file_mb"] if up["file_mb"] else 0
            lines += [
                f"**Upload target missed: why.** A 20 KB upload takes {small:.0f} ms (statuses "
                f"{sorted(set(up.get('small_statuses') or []))}): the fixed cost of the request "
                "(authentication, the submission's row lock and checks, the row, the audit entry, "
                f"the commit). A 5 MB upload takes {per_ms:.0f} ms, i.e. {per_mb:.1f} ms per MB "
                "on top of that for reading the body from the socket, parsing it, hashing it, "
                "writing and flushing it; the direct write with fsync takes "
                f"{floor_ms / up['file_mb']:.1f} ms per MB ({floor_ms:.0f} ms for the whole "
                f"file). The fixed cost alone is {small / (floor_ms or 1):.1f}× the floor's time "
                "for the whole file"
                + (
                    ": on this disk it exceeds, by itself, the time the target allows for the "
                    "whole upload (twice the floor's). "
                    if small > 2 * floor_ms
                    else ". "
                )
                + "Within the request, measured in-process on the same file: Django's "
                "multipart parsing to a temporary file, SHA-256 computed on the way, "
                f"{prof['parse_s'] * 1000:.0f} ms ({prof['parse_s'] * 1000 / up['file_mb']:.1f} ms "
                "per MB"
                + (
                    f", of which the SHA-256 alone {prof['sha256_s'] * 1000:.0f} ms"
                    if "sha256_s" in prof
                    else ""
                )
                + ")"
                + (
                    ": the parsing alone, with no fixed cost at all, would already hold the "
                    f"ratio to {floor_ms / (prof['parse_s'] * 1000 or 1):.2f}"
                    if prof["parse_s"] * 1000 > 2 * floor_ms
                    else ""
                )
                + "; the evidence service (type checks, store and flush, row, audit) "
                f"{prof['service_s'] * 1000:.0f} ms "
                "under the profiler, after one warm-up call"
                + (
                    f" (the first call, which imports the storage backend, took "
                    f"{prof['warmup_s'] * 1000:.0f} ms)"
                    if "warmup_s" in prof
                    else ""
                )
                + ". Profile of the service (internal time):",
                "",
                "```",
                prof.get("profile", ""),
                "```",
                "",
            ]

    lines += [
        "## 4. Queries per request",
        "",
        "Every parameterless page and API list from the URL resolver, per persona, at both sizes (status, queries).",
        "",
        f"| Route | role | N={sizes[0]} | N={sizes[-1]} |",
        "|---|---|---|---|",
    ]
    qa, qb = r["sizes"][sizes[0]]["queries"], r["sizes"][sizes[-1]]["queries"]
    for path in sorted(qa):
        for role in sorted(qa[path]):
            x, y = qa[path][role], qb.get(path, {}).get(role, ["-", "-"])
            flag = " ⚠" if isinstance(y[1], int) and y[1] > x[1] else ""
            lines.append(f"| `{path}` | {role} | {x[0]}, {x[1]} | {y[0]}, {y[1]}{flag} |")
    lines += (
        ["", "## Commands", "", "```"]
        + commands
        + ["```", "", "## Run log", "", "```"]
        + log
        + ["```", ""]
    )
    out.write_text("\n".join(lines))
    last_run.write_text(json.dumps(r, indent=1, default=str))


def query_growth(r: dict) -> list[str]:
    sizes = sorted(r["sizes"])
    qa, qb = r["sizes"][sizes[0]]["queries"], r["sizes"][sizes[-1]]["queries"]
    out = []
    for path, roles in qa.items():
        for role, (status, n) in roles.items():
            other = qb.get(path, {}).get(role)
            if other and status == 200 and other[1] > n:
                out.append(f"{path} ({role}: {n}→{other[1]})")
    return out

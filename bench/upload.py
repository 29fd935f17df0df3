"""Evidence upload benchmarks (run by bench/run.py against its gunicorn): throughput of 5 MB
uploads through the API against writing the same bytes to the same file system (the floor), and
the web workers' peak memory during 50 MB and 200 MB uploads (must stay flat: streamed)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import statistics
import time
from pathlib import Path
from typing import Any


def upload_bench(b: Any, env: dict[str, str], period: int, *, python: str, password: str) -> dict:
    """5 MB uploads through the API vs writing the same bytes to disk; then the web workers'
    peak memory during a 50 MB and a 200 MB upload. ``b`` is the running ``bench.run.Bench``
    (its server address, subprocess runner and worker pids)."""
    import psutil
    import requests

    from bench.pdfgen import make_pdf

    drafts = b.json_of(
        b.run([python, "-m", "bench.probe", "drafts", str(period), "12"], env, "probe")
    )
    tokens: dict[str, str] = {}

    def token(username: str) -> str:
        if username not in tokens:
            r = requests.post(
                b.base + "/api/v1/auth/token/",
                json={"username": username, "password": password},
                timeout=30,
            )
            tokens[username] = r.json()["token"]
        return tokens[username]

    payload = make_pdf(5 * 1024 * 1024, seed=7)
    disk_dir = Path(env["MEDIA_ROOT"]) / "bench-direct"
    disk_dir.mkdir(parents=True, exist_ok=True)
    n = min(10, len(drafts) - 1)
    for d in drafts[: n + 1]:
        token(d["username"])  # logins (Argon2) outside the timed uploads
    disk_fsync, disk_cache, http_times, statuses = [], [], [], []
    # The multipart body is built before the clock starts (a browser streams the file; the
    # Python client would otherwise spend ~3 ms of each upload copying 5 MB into a body),
    # and sent over one kept-alive connection, as a browser does.
    session = requests.Session()

    def timed_upload(d: dict, name: str, content: bytes) -> tuple[float, int]:
        """(seconds, status) of one upload; the body is built before the clock starts."""
        prepared = session.prepare_request(
            requests.Request(
                "POST",
                f"{b.base}/api/v1/submissions/{d['id']}/evidence/",
                headers={"Authorization": f"Token {token(d['username'])}"},
                files={"file": (name, content, "application/pdf")},
            )
        )
        t0 = time.perf_counter()
        r = session.send(prepared, timeout=120)
        return time.perf_counter() - t0, r.status_code

    # The floor (writing the same bytes to the same file system directly, with fsync) is
    # measured interleaved with the uploads, one write before each upload: the disk's speed on a
    # shared machine drifts within seconds, and a floor measured in one block and the uploads in
    # another would compare two different disks.
    for i, d in enumerate(drafts[:n]):
        t0 = time.perf_counter()
        with open(disk_dir / f"g{i}", "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        disk_fsync.append(time.perf_counter() - t0)
        seconds, code = timed_upload(d, "bao-cao.pdf", payload)
        http_times.append(seconds)
        statuses.append(code)
        t0 = time.perf_counter()
        with open(disk_dir / f"f{i}", "wb") as fh:
            fh.write(payload)
        disk_cache.append(time.perf_counter() - t0)
        # Removed before the kernel writes them back: no disk traffic left for the next upload.
        (disk_dir / f"f{i}").unlink()
        (disk_dir / f"g{i}").unlink()
    # The fixed cost of an upload request in the same conditions: a 20 KB file each (its own
    # content, so never refused as the same file twice).
    small_times, small_statuses = [], []
    for d in drafts[:n]:
        seconds, code = timed_upload(d, "nho.pdf", make_pdf(20 * 1024))
        small_times.append(seconds)
        small_statuses.append(code)
    session.close()
    shutil.rmtree(disk_dir)
    mb = len(payload) / 2**20
    profile: dict[str, Any] = {}
    with contextlib.suppress(Exception):  # a breakdown only; never fails the run
        profile = b.json_of(
            b.run(
                [
                    python,
                    "-m",
                    "bench.upload_profile",
                    str(drafts[-1]["id"]),
                    drafts[-1]["username"],
                ],
                env,
                "upload profile",
            )
        )

    # Big uploads (50 MB, then 200 MB): peak RSS of every web worker, sampled every 20 ms.
    # Streaming means the peak does not grow with the size of the upload.
    targets = drafts[n:] or drafts[:1]
    pids = b.worker_pids()
    procs = [psutil.Process(p) for p in pids]
    baseline = max(p.memory_info().rss for p in procs)
    bigs = {}
    for i, size_mb in enumerate((50, 200)):
        target = targets[min(i, len(targets) - 1)]
        bigs[size_mb] = big_upload(b.base, size_mb * 1024 * 1024, target, token, procs)
    result = bigs[200]
    peak = max(bigs[50]["peak"], bigs[200]["peak"])
    return {
        "file_mb": mb,
        "uploads": n,
        "statuses": statuses,
        "http_mb_s": mb * n / sum(http_times) if http_times else 0,
        "small_ms": statistics.median(small_times) * 1000 if small_times else 0,
        "small_statuses": small_statuses,
        "disk_fsync_mb_s": mb * n / sum(disk_fsync) if disk_fsync else 0,
        "disk_cache_mb_s": mb * n / sum(disk_cache) if disk_cache else 0,
        "profile": profile,
        "big": {
            "bytes": 200 * 1024 * 1024,
            "rss_baseline_mb": baseline / 2**20,
            "rss_peak_mb": peak / 2**20,
            "rss_peak_50_mb": bigs[50]["peak"] / 2**20,
            "rss_peak_200_mb": bigs[200]["peak"] / 2**20,
            "status_50": bigs[50]["status"],
            "status": result["status"],
            "seconds": result["seconds"],
            "body": result.get("body", ""),
        },
    }


def big_upload(base: str, big: int, target: dict, token: Any, procs: list) -> dict:
    """One streamed upload of ``big`` bytes, sampling the workers' RSS every 20 ms."""
    import threading

    import psutil
    import requests

    from bench.pdfgen import make_pdf

    boundary = "benchboundary" + secrets.token_hex(8)
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="lon.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    pdf_head = make_pdf(4096, seed=3)

    class Body:
        def __init__(self) -> None:
            self.parts = [head, pdf_head]
            self.remaining = big - len(pdf_head)
            self.done_tail = False

        def __len__(self) -> int:
            return len(head) + big + len(tail)

        def read(self, size: int = 1 << 20) -> bytes:
            if self.parts:
                return self.parts.pop(0)
            if self.remaining > 0:
                k = min(size if size > 0 else 1 << 20, self.remaining, 1 << 20)
                self.remaining -= k
                return b"\0" * k
            if not self.done_tail:
                self.done_tail = True
                return tail
            return b""

    result: dict[str, Any] = {}
    auth = f"Token {token(target['username'])}"

    def send() -> None:
        t0 = time.perf_counter()
        try:
            r = requests.post(
                f"{base}/api/v1/submissions/{target['id']}/evidence/",
                headers={
                    "Authorization": auth,
                    "Content-Type": f"multipart/form-data; boundary={boundary}",
                },
                data=Body(),
                timeout=300,
            )
            result["status"] = r.status_code
            result["body"] = r.text[:300]
        except requests.RequestException as exc:
            result["status"] = f"error: {exc}"
        result["seconds"] = time.perf_counter() - t0

    peak = 0
    th = threading.Thread(target=send)
    th.start()
    while th.is_alive():
        for p in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                peak = max(peak, p.memory_info().rss)
        time.sleep(0.02)
    th.join()
    result["peak"] = peak
    return result

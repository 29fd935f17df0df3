"""Deadline-day load (bench/run.py runs it headless, bounded in time, on loopback).

- Agency staff (API token): list their open items, save a draft (PATCH with version), upload a
  1–5 MB PDF, submit.
- Reviewers (API token): list submitted items, approve one (with its version).
- Leaders (browser session): open the dashboard page.
- Floor (browser session): the minimal view /bench/floor/ on the same server, same load.

Environment: BENCH_PERIOD (open period id), BENCH_STAFF (JSON file: staff usernames with work),
BENCH_PASSWORD, BENCH_DASHBOARD (dashboard path), BENCH_RESULTS (JSON written at the end:
5xx count, successful submits/approvals).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import threading
import uuid
from pathlib import Path

from locust import FastHttpUser, between, events, task

from bench.pdfgen import make_pdf

PERIOD = os.environ.get("BENCH_PERIOD", "")
PASSWORD = os.environ.get("BENCH_PASSWORD", "load-pass-12345")
DASHBOARD = os.environ.get("BENCH_DASHBOARD", "/")
STAFF = (
    json.loads(Path(os.environ["BENCH_STAFF"]).read_text()) if os.environ.get("BENCH_STAFF") else []
)
RESULTS = os.environ.get("BENCH_RESULTS", "")
_staff_cycle = itertools.cycle(STAFF or ["load_a0001"])
_reviewer_cycle = itertools.cycle([f"load_reviewer{i}" for i in range(1, 3)])
_lock = threading.Lock()
COUNTS = {
    "server_errors": 0,
    "submit_ok": 0,
    "approve_ok": 0,
    "upload_ok": 0,
    "save_ok": 0,
    "requests": 0,
}
PDFS = {mb: make_pdf(mb * 1024 * 1024, seed=mb) for mb in (1, 2, 3, 4, 5)}


def _count(key: str, n: int = 1) -> None:
    with _lock:
        COUNTS[key] += n


@events.request.add_listener
def _on_request(response=None, exception=None, **kw):  # noqa: ANN001
    _count("requests")
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        _count("server_errors")


@events.quitting.add_listener
def _write_results(environment, **kw):  # noqa: ANN001
    if RESULTS:
        with open(RESULTS, "w") as fh:
            json.dump(COUNTS, fh)


def _results(data) -> list:  # noqa: ANN001
    return data.get("results", data) if isinstance(data, dict) else data


class TokenUser(FastHttpUser):
    abstract = True
    username = ""

    def login(self) -> None:
        with self.client.post(
            "/api/v1/auth/token/",
            json={"username": self.username, "password": PASSWORD},
            name="api login",
            catch_response=True,
        ) as r:
            if r.status_code != 200:
                r.failure(f"login {r.status_code}")
                self.token = ""
                return
            self.token = r.json()["token"]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


class AgencyStaff(TokenUser):
    weight = 8
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        with _lock:
            self.username = next(_staff_cycle)
        self.login()

    @task
    def report_one_item(self) -> None:
        if not self.token:
            return
        r = self.client.get(
            f"/api/v1/submissions/?period={PERIOD}&page_size=50",
            headers=self.auth,
            name="list submissions",
        )
        if r.status_code != 200:
            return
        rows = _results(r.json())
        # Drafts are only ever the caller's own; a lead also sees others' returned contributions.
        own = {s.get("agency") for s in rows if s.get("state") == "draft"}
        items = [
            s for s in rows if s.get("state") in ("draft", "returned") and s.get("agency") in own
        ]
        if not items:
            return
        item = random.choice(items)  # noqa: S311
        sid, version = item["id"], item["version"]
        with self.client.patch(
            f"/api/v1/submissions/{sid}/",
            json={
                "values": item.get("values") or {},
                "note": "Cập nhật số liệu",
                "consolidation_reason": "Điều chỉnh theo số liệu rà soát cuối quý",
                "version": version,
            },
            headers=self.auth,
            name="save draft",
            catch_response=True,
        ) as resp:
            if resp.status_code == 200:
                _count("save_ok")
                version = resp.json().get("version", version + 1)
            elif resp.status_code == 409:
                resp.success()  # another user of the agency saved first: the contract's 409
                return
            else:
                resp.failure(f"save {resp.status_code} {resp.text[:100]}")
                return
        mb = random.randint(1, 5)  # noqa: S311
        with self.client.post(
            f"/api/v1/submissions/{sid}/evidence/",
            # each upload a different document (the same file twice in one report is refused)
            files={
                "file": (
                    f"minh-chung-{mb}MB.pdf",
                    PDFS[mb] + f"\n% {uuid.uuid4().hex}\n".encode(),
                    "application/pdf",
                )
            },
            data={"summary": "Văn bản minh chứng"},
            headers=self.auth,
            name=f"upload evidence {mb} MB",
            catch_response=True,
        ) as resp:
            if resp.status_code in (200, 201):
                _count("upload_ok")
            else:
                resp.failure(f"upload {resp.status_code} {resp.text[:100]}")
        r = self.client.get(f"/api/v1/submissions/{sid}/", headers=self.auth, name="get submission")
        if r.status_code == 200:
            version = r.json().get("version", version)
        with self.client.post(
            f"/api/v1/submissions/{sid}/submit/",
            json={"version": version},
            headers=self.auth,
            name="submit",
            catch_response=True,
        ) as resp:
            if resp.status_code in (200, 201):
                _count("submit_ok")
            elif resp.status_code in (400, 409):
                resp.success()  # missing required values / stale: refused cleanly, not counted
            else:
                resp.failure(f"submit {resp.status_code} {resp.text[:100]}")


class Reviewer(TokenUser):
    weight = 2
    wait_time = between(1, 3)

    def on_start(self) -> None:
        with _lock:
            self.username = next(_reviewer_cycle)
        self.login()

    @task
    def approve_one(self) -> None:
        if not self.token:
            return
        r = self.client.get(
            f"/api/v1/submissions/?period={PERIOD}&state=submitted&page_size=50",
            headers=self.auth,
            name="list submitted (reviewer)",
        )
        if r.status_code != 200:
            return
        items = [s for s in _results(r.json()) if s.get("state") in ("submitted", "under_review")]
        if not items:
            return
        item = random.choice(items)  # noqa: S311
        with self.client.post(
            f"/api/v1/submissions/{item['id']}/approve/",
            json={"version": item["version"]},
            headers=self.auth,
            name="approve",
            catch_response=True,
        ) as resp:
            if resp.status_code in (200, 201):
                _count("approve_ok")
            elif resp.status_code in (400, 409):
                resp.success()  # another reviewer took it / needs a reason: clean refusal
            else:
                resp.failure(f"approve {resp.status_code}")


class SessionUser(FastHttpUser):
    abstract = True
    username = ""

    def on_start(self) -> None:
        self.client.get("/accounts/login/", name="login page")
        csrf = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        self.client.post(
            "/accounts/login/",
            data={"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": csrf},
            headers={"Referer": self.host + "/accounts/login/"},
            name="login",
        )


class Leader(SessionUser):
    weight = 3
    wait_time = between(0.5, 2)
    username = "load_leader1"

    @task
    def dashboard(self) -> None:
        self.client.get(DASHBOARD, name="dashboard")


class Floor(SessionUser):
    weight = 2
    wait_time = between(0.5, 2)
    username = "load_leader2"

    @task
    def floor(self) -> None:
        self.client.get("/bench/floor/", name="floor (minimal view)")

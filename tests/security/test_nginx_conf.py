"""deploy/nginx.conf: evidence served by X-Accel-Redirect keeps Django's download headers, and
the login routes are rate limited. Parsed here; checked and run by nginx when it is installed."""

from __future__ import annotations

import getpass
import re
import shutil
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def _block(text: str, opening: str) -> str:
    """The body of the block that starts with ``opening`` (braces balanced)."""
    start = text.index(opening + " {") + len(opening) + 2
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        i += 1
    return text[start : i - 1]


def _directives(body: str, name: str) -> list[str]:
    code = "\n".join(line.split("#", 1)[0] for line in body.splitlines())
    return [m.strip() for m in re.findall(rf"(?:^|[;{{\s]){name}\s+([^;]+);", code)]


def _conf() -> str:
    return CONF.read_text(encoding="utf-8")


def test_protected_location_repeats_the_download_headers():
    protected = _block(_conf(), "location /protected/")
    assert "internal;" in protected
    headers = {
        h.split(None, 1)[0]: h.split(None, 1)[1] for h in _directives(protected, "add_header")
    }
    assert all(v.endswith(" always") for v in headers.values())
    assert headers["Content-Security-Policy"].startswith('"sandbox"')
    # SAMEORIGIN like Django's preview route: the review page shows PDFs in a same-origin iframe.
    assert headers["X-Frame-Options"].split()[0] in ("DENY", "SAMEORIGIN")
    assert headers["X-Content-Type-Options"].startswith("nosniff")
    cache = headers["Cache-Control"]
    assert "private" in cache and "no-store" in cache


@pytest.mark.parametrize("route", ["/accounts/login/", "/api/v1/auth/token/"])
def test_login_routes_are_rate_limited(route):
    conf = _conf()
    zones = _directives(conf, "limit_req_zone")
    assert len(zones) == 1 and "zone=dti_login:" in zones[0]
    assert re.search(r"rate=\d+r/m", zones[0])
    body = _block(conf, f"location = {route}")
    assert any(d.startswith("zone=dti_login") for d in _directives(body, "limit_req"))
    assert _directives(body, "proxy_pass") == ["http://dti_web"]
    assert _directives(_block(conf, "server"), "limit_req_status") == ["429"]


def test_proxy_headers_reach_every_proxied_location():
    """proxy_set_header is inherited only by locations that set none of their own."""
    server = _block(_conf(), "server")
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in _directives(server, "proxy_set_header")
    for location in ("location /", "location = /accounts/login/", "location = /api/v1/auth/token/"):
        assert not _directives(_block(server, location), "proxy_set_header")


# --- with nginx ----------------------------------------------------------------------------------


class _Upstream(BaseHTTPRequestHandler):
    """Django's answer to a download behind nginx: headers plus X-Accel-Redirect."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("X-Accel-Redirect", "/protected/evidence/a.pdf")
        self.send_header("Content-Type", "application/pdf")
        self.send_header("Content-Security-Policy", "sandbox")
        self.end_headers()

    def do_POST(self):  # noqa: N802
        self.send_response(400)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def nginx(tmp_path):
    if not NGINX:
        pytest.skip("nginx is not installed")
    upstream = HTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    media = tmp_path / "media" / "evidence"
    media.mkdir(parents=True)
    (media / "a.pdf").write_bytes(b"%PDF-1.4 test")
    probe = HTTPServer(("127.0.0.1", 0), _Upstream)
    port = probe.server_address[1]
    probe.server_close()
    site = (
        _conf()
        .replace("server web:8000;", f"server 127.0.0.1:{upstream.server_address[1]};")
        .replace("/data/media/", f"{tmp_path}/media/")
        .replace("listen 80;", f"listen 127.0.0.1:{port};")
    )
    (tmp_path / "site.conf").write_text(site)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (tmp_path / "nginx.conf").write_text(
        # Workers as this user: they read the test's private temporary directory.
        f"user {getpass.getuser()}; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; {temp} uwsgi_temp_path {tmp_path}/uwsgi; "
        f"scgi_temp_path {tmp_path}/scgi; include {tmp_path}/site.conf; }}\n"
    )
    args = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, timeout=30)  # noqa: S603
    assert checked.returncode == 0, checked.stderr
    subprocess.run(args, check=True, timeout=30)  # noqa: S603 - daemonizes
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run([*args, "-s", "stop"], timeout=30)  # noqa: S603
        upstream.shutdown()


def test_nginx_serves_evidence_with_the_headers_and_limits_logins(nginx):
    with urlopen(f"{nginx}/reporting/evidence/1/download/", timeout=10) as resp:  # noqa: S310
        assert resp.read() == b"%PDF-1.4 test"
        assert resp.headers["Content-Security-Policy"] == "sandbox"
        assert resp.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in resp.headers["Cache-Control"]
    codes = []
    for _ in range(30):
        try:
            with urlopen(Request(f"{nginx}/api/v1/auth/token/", b"{}", method="POST"), timeout=10):  # noqa: S310
                pass
        except HTTPError as err:
            codes.append(err.code)
    assert codes[:20] == [400] * 20 and 429 in codes[20:]
    with pytest.raises(HTTPError) as err:
        urlopen(f"{nginx}/protected/evidence/a.pdf", timeout=10)  # noqa: S310
    assert err.value.code == 404  # internal: only an X-Accel-Redirect reaches it

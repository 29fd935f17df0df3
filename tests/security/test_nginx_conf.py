"""deploy/nginx.conf: evidence served by X-Accel-Redirect keeps Django's download headers, the
login routes are rate limited, TLS ends here (port 80 only redirects) and Django is told the
client's scheme. Parsed here; checked and run by nginx (and openssl) when installed."""

from __future__ import annotations

import getpass
import http.client
import re
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

CONF = Path(__file__).resolve().parents[2] / "deploy" / "nginx.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")


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


def _server(listen: str) -> str:
    """The body of the server block with ``listen <listen>``."""
    text, bodies, at = _conf(), [], 0
    while (at := text.find("\nserver {", at)) >= 0:
        at += 1
        bodies.append(_block(text[at:], "server"))
    (body,) = [b for b in bodies if any(d.startswith(listen) for d in _directives(b, "listen"))]
    return body


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
    server = _server("443 ssl")
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in _directives(server, "proxy_set_header")
    for location in ("location /", "location = /accounts/login/", "location = /api/v1/auth/token/"):
        assert not _directives(_block(server, location), "proxy_set_header")


def test_forwarded_proto_keeps_an_upstream_value():
    """$scheme alone told Django "http" behind a TLS proxy: SECURE_SSL_REDIRECT looped forever."""
    server = _server("443 ssl")
    assert "X-Forwarded-Proto $dti_forwarded_proto" in _directives(server, "proxy_set_header")
    mapping = _block(_conf(), "map $http_x_forwarded_proto $dti_forwarded_proto")
    rules = dict(
        line.split(None, 1) for line in mapping.replace(";", "\n").split("\n") if line.strip()
    )
    assert rules == {"default": "$http_x_forwarded_proto", '""': "$scheme"}


def test_tls_ends_here_and_plain_http_only_redirects():
    tls = _server("443 ssl")
    assert _directives(tls, "ssl_certificate") == ["/etc/nginx/certs/fullchain.pem"]
    assert _directives(tls, "ssl_certificate_key") == ["/etc/nginx/certs/privkey.pem"]
    plain = _server("80")
    assert "proxy_pass" not in plain and "alias" not in plain
    assert _directives(_block(plain, "location /"), "return") == ["301 https://$host$request_uri"]


# --- with nginx ----------------------------------------------------------------------------------


class _Upstream(BaseHTTPRequestHandler):
    """Django's answer to a download behind nginx: headers plus X-Accel-Redirect."""

    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path == "/echo-proto/":
            body = (self.headers.get("X-Forwarded-Proto") or "").encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
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


def _free_port() -> int:
    probe = HTTPServer(("127.0.0.1", 0), _Upstream)
    port = probe.server_address[1]
    probe.server_close()
    return port


@pytest.fixture
def nginx(tmp_path):
    if not NGINX or not OPENSSL:
        pytest.skip("nginx or openssl is not installed")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(  # noqa: S603 - fixed argv: a throwaway self-signed certificate
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=localhost", "-keyout", str(certs / "privkey.pem"), "-out",
         str(certs / "fullchain.pem")],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    upstream = HTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    media = tmp_path / "media" / "evidence"
    media.mkdir(parents=True)
    (media / "a.pdf").write_bytes(b"%PDF-1.4 test")
    port, plain_port = _free_port(), _free_port()
    replacements = {
        "server web:8000;": f"server 127.0.0.1:{upstream.server_address[1]};",
        "/data/media/": f"{tmp_path}/media/",
        "/etc/nginx/certs/": f"{certs}/",
        "listen 443 ssl default_server;": f"listen 127.0.0.1:{port} ssl;",
        "listen 80 default_server;": f"listen 127.0.0.1:{plain_port};",
    }
    site = _conf()
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
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
        yield {"url": f"https://127.0.0.1:{port}", "plain_port": plain_port}
    finally:
        subprocess.run([*args, "-s", "stop"], timeout=30)  # noqa: S603
        upstream.shutdown()


def _tls() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False  # the test's self-signed certificate
    context.verify_mode = ssl.CERT_NONE
    return context


def test_nginx_serves_evidence_with_the_headers_and_limits_logins(nginx):
    base, tls = nginx["url"], _tls()
    with urlopen(f"{base}/reporting/evidence/1/download/", timeout=10, context=tls) as resp:  # noqa: S310
        assert resp.read() == b"%PDF-1.4 test"
        assert resp.headers["Content-Security-Policy"] == "sandbox"
        assert resp.headers["X-Frame-Options"] in ("DENY", "SAMEORIGIN")
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in resp.headers["Cache-Control"]
    codes = []
    for _ in range(30):
        try:
            with urlopen(  # noqa: S310
                Request(f"{base}/api/v1/auth/token/", b"{}", method="POST"), timeout=10, context=tls
            ):
                pass
        except HTTPError as err:
            codes.append(err.code)
    assert codes[:20] == [400] * 20 and 429 in codes[20:]
    with pytest.raises(HTTPError) as err:
        urlopen(f"{base}/protected/evidence/a.pdf", timeout=10, context=tls)  # noqa: S310
    assert err.value.code == 404  # internal: only an X-Accel-Redirect reaches it


def test_nginx_tells_django_the_clients_scheme_and_redirects_plain_http(nginx):
    base, tls = nginx["url"], _tls()
    with urlopen(f"{base}/echo-proto/", timeout=10, context=tls) as resp:  # noqa: S310
        assert resp.read() == b"https"
    # A TLS proxy in front already said https: forwarded as is, never rewritten.
    forwarded = Request(f"{base}/echo-proto/", headers={"X-Forwarded-Proto": "https"})
    with urlopen(forwarded, timeout=10, context=tls) as resp:  # noqa: S310
        assert resp.read() == b"https"
    plain = http.client.HTTPConnection("127.0.0.1", nginx["plain_port"], timeout=10)
    try:
        plain.request("GET", "/accounts/login/?next=/", headers={"Host": "dti.example.gov.vn"})
        resp = plain.getresponse()
        resp.read()
        assert resp.status == 301
        assert resp.headers["Location"] == "https://dti.example.gov.vn/accounts/login/?next=/"
        plain.request("GET", "/nginx-health")
        resp = plain.getresponse()
        assert (resp.status, resp.read()) == (200, b"ok\n")  # the container health check
    finally:
        plain.close()


def test_request_bodies_are_buffered_before_they_reach_gunicorn():
    """Unbuffered, an upload held one of gunicorn's 8 threads (2 workers x 4) for as long as the
    client took to send it: a few agencies uploading 20 MB over slow links on deadline day left
    nobody else a thread. nginx buffers the body (to disk past its memory buffers) first."""
    server = _server("443 ssl")
    assert _directives(server, "proxy_request_buffering") in ([], ["on"])
    for location in ("location /", "location = /accounts/login/", "location = /api/v1/auth/token/"):
        assert _directives(_block(server, location), "proxy_request_buffering") in ([], ["on"])

"""The OpenAPI schema validates and the docs are served offline (no CDN)."""

from __future__ import annotations

import re

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def test_schema_validates(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/auth/token/" in text


def test_schema_endpoint(client, user_a):
    client.force_login(user_a)
    r = client.get("/api/schema/")
    assert r.status_code == 200


def test_docs_are_offline(client, user_a):
    client.force_login(user_a)
    r = client.get("/api/docs/")
    assert r.status_code == 200
    body = r.content.decode()
    external = [u for u in re.findall(r'(?:src|href)="([^"]+)"', body) if u.startswith("http")]
    assert external == [], external
    assert "swagger-ui" in body

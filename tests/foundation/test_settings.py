"""Settings from the environment: production refuses weak keys; check --deploy is clean."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(env_extra: dict[str, str | None], *args: str) -> subprocess.CompletedProcess[str]:
    """manage.py with ``env_extra`` over this environment (a None value unsets the variable)."""
    drop = {"DTI_TESTING", "DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.pop("DEBUG", None)
    env.update({k: v for k, v in env_extra.items() if v is not None})
    for name in [k for k, v in env_extra.items() if v is None]:
        env.pop(name, None)
    env["DJANGO_SETTINGS_MODULE"] = "dti_portal.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PROD = {
    "DEBUG": "0",
    "SECRET_KEY": "x7!" + "k" * 30 + "Q9#" + "z" * 30,
    "ALLOWED_HOSTS": "dti.example.gov.vn",
    "EMAIL_URL": "smtp+tls://dti:pw@mail.example.gov.vn:587",
    "SITE_URL": "https://dti.example.gov.vn",
}


def test_check_deploy_has_no_warnings():
    result = _run(PROD, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    env = dict(PROD)
    env["SECRET_KEY"] = ""
    result = _run(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("hosts", [None, ""])
def test_production_refuses_to_start_without_allowed_hosts(hosts):
    """The development default (localhost) made a server answer 400 to its real name."""
    result = _run(dict(PROD, ALLOWED_HOSTS=hosts), "check")
    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set" in result.stderr


def test_manage_py_on_an_unconfigured_checkout_runs_in_development_mode():
    """Neither DEBUG nor SECRET_KEY set (a developer's clone, no .env): manage.py works."""
    if (ROOT / ".env").exists():
        pytest.skip("this checkout has a .env")
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DTI_TESTING"}}
    env["DJANGO_SETTINGS_MODULE"] = "dti_portal.settings"
    result = subprocess.run(  # noqa: S603 - our own interpreter and manage.py
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_a_server_with_a_secret_key_keeps_the_production_guard():
    """SECRET_KEY set and DEBUG unset is a server: a weak key is still refused."""
    result = _run({"SECRET_KEY": "short"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY is too weak" in result.stderr


def test_production_refuses_a_weak_secret_key():
    env = dict(PROD, SECRET_KEY="short")
    result = _run(env, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _example_env() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def test_production_refuses_the_env_example_secret_key():
    """.env.example's key is long enough for the length check: copied as is, it went live."""
    placeholder = _example_env()["SECRET_KEY"]
    assert len(placeholder) >= 50
    result = _run(dict(PROD, SECRET_KEY=placeholder), "check")
    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder" in result.stderr


def test_production_refuses_the_env_example_database_password():
    password = _example_env()["POSTGRES_PASSWORD"]
    url = f"postgres://dti:{password}@127.0.0.1:5432/dti"  # refused before any connection
    result = _run(dict(PROD, DATABASE_URL=url), "check")
    assert result.returncode != 0
    assert "database password is a placeholder" in result.stderr


def test_debug_accepts_the_placeholder_key():
    """A developer's copy of .env.example keeps working with DEBUG on."""
    result = _run({"DEBUG": "1", "SECRET_KEY": _example_env()["SECRET_KEY"]}, "check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_embedded_defaults_without_services(settings):
    from django.conf import settings as s

    if os.environ.get("DATABASE_URL"):
        pytest.skip("running against an external database")
    assert s.DATABASES["default"]["ENGINE"].endswith("sqlite3")


def test_time_zone_and_language_defaults(settings):
    from django.conf import settings as s

    assert s.TIME_ZONE == "Asia/Ho_Chi_Minh"
    assert s.LANGUAGE_CODE == "vi"
    assert s.AUTH_USER_MODEL == "agencies.User"
    assert s.PASSWORD_HASHERS  # tests use a fast hasher; production Argon2 (checked below)


def test_production_hasher_is_argon2():
    from dti_portal import settings as prod_settings

    assert prod_settings.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


def test_each_middleware_once():
    """A middleware listed twice runs twice (messages were stored twice per response)."""
    from django.conf import settings

    assert len(set(settings.MIDDLEWARE)) == len(settings.MIDDLEWARE)


@pytest.mark.parametrize("name", ["EXPORT_RETENTION_DAYS", "MEDIA_ORPHAN_GRACE_HOURS"])
def test_janitor_periods_of_zero_are_refused(name):
    """With 0 the nightly janitors would remove an upload in flight or an export being made."""
    result = _run({**PROD, name: "0"}, "check")
    assert result.returncode != 0
    assert "must be at least 1" in result.stderr


def test_a_database_url_that_does_not_parse_names_the_password_rule():
    """docker-compose builds DATABASE_URL from POSTGRES_PASSWORD: a base64 password's "/" broke
    it with "Port could not be cast to integer value"."""
    url = "postgres://dti:ab/cd+ef@db:5432/dti"
    result = _run(dict(PROD, DATABASE_URL=url), "check")
    assert result.returncode != 0
    assert "DATABASE_URL does not parse" in result.stderr
    assert "POSTGRES_PASSWORD" in result.stderr
    assert "ab/cd" not in result.stderr  # the password is not printed


def _email_settings(env_extra: dict[str, str | None]) -> dict[str, object]:
    code = (
        "import json; from django.conf import settings as s; print(json.dumps({k: getattr(s, k, "
        "None) for k in ('EMAIL_BACKEND', 'EMAIL_HOST', 'EMAIL_PORT', 'EMAIL_HOST_USER', "
        "'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'EMAIL_USE_SSL')}))"
    )
    result = _run({**PROD, "EMAIL_URL": None, **env_extra}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_usual_email_settings_configure_smtp():
    """API.md: EMAIL_URL "or the usual email settings"; EMAIL_HOST alone left the console."""
    got = _email_settings(
        {
            "EMAIL_HOST": "mail.example.gov.vn",
            "EMAIL_PORT": "587",
            "EMAIL_HOST_USER": "dti",
            "EMAIL_HOST_PASSWORD": "pw",
            "EMAIL_USE_TLS": "1",
        }
    )
    assert got == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "mail.example.gov.vn",
        "EMAIL_PORT": 587,
        "EMAIL_HOST_USER": "dti",
        "EMAIL_HOST_PASSWORD": "pw",
        "EMAIL_USE_TLS": True,
        "EMAIL_USE_SSL": False,
    }


def test_email_url_still_wins_and_nothing_set_is_the_console():
    got = _email_settings(
        {"EMAIL_URL": "smtp+tls://u:p@smtp.example.gov.vn:587", "EMAIL_HOST": "other"}
    )
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"], got["EMAIL_USE_TLS"]) == (
        "smtp.example.gov.vn",
        587,
        True,
    )
    assert _email_settings({"EMAIL_HOST": None})["EMAIL_BACKEND"] == (
        "django.core.mail.backends.console.EmailBackend"
    )


@pytest.mark.parametrize(
    ("env_extra", "code"),
    [
        ({"EMAIL_URL": None, "EMAIL_HOST": None}, "dti.W001"),
        ({"SITE_URL": None}, "dti.W002"),
        ({"SITE_URL": "http://dti.example.gov.vn"}, "dti.W002"),
    ],
)
def test_check_deploy_warns_of_mail_that_goes_nowhere(env_extra, code):
    """Console e-mail: reminders and escalations printed to the log; SITE_URL left at its
    development default: every e-mailed link pointed at 127.0.0.1."""
    result = _run({**PROD, **env_extra}, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert code in result.stdout + result.stderr

"""What a province deploys: docker-compose.yml, the Dockerfile, deploy/nginx.conf, .env.example
and the README's settings table agree with the settings (read without Docker: nothing here
starts a container)."""

from __future__ import annotations

import os
import re
import shelve
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = (ROOT / "dti_portal" / "settings.py").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
NGINX = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")


def _settings_variables() -> set[str]:
    """The environment variables the settings read (``env.<cast>("NAME", ...)``)."""
    return set(re.findall(r"\benv\.[a-z_]+\(\s*\"([A-Z][A-Z0-9_]+)\"", SETTINGS))


def _compose_variables() -> set[str]:
    """The variables docker-compose itself substitutes (``${NAME...}``), from .env."""
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", COMPOSE_TEXT))


def _readme_table_variables() -> set[str]:
    section = README.split("## Settings (environment variables)", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def _env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


def _mounts(service: str) -> dict[str, str]:
    """target -> source of a service's volumes ("source:target[:mode]")."""
    return {v.split(":")[1]: v.split(":")[0] for v in SERVICES[service].get("volumes", [])}


def _nginx_directive(name: str) -> list[str]:
    code = "\n".join(line.split("#", 1)[0] for line in NGINX.splitlines())
    return [m.strip() for m in re.findall(rf"(?:^|[;{{\s]){name}\s+([^;]+);", code)]


def test_every_setting_read_from_the_environment_is_documented():
    missing = _settings_variables() - _readme_table_variables()
    assert not missing, f"README's settings table lacks {sorted(missing)}"


def test_every_documented_variable_exists():
    unknown = _readme_table_variables() - _settings_variables() - _compose_variables()
    assert not unknown, f"README documents variables nothing reads: {sorted(unknown)}"


def test_env_example_names_only_variables_that_are_read():
    unknown = set(_env_example()) - _settings_variables() - _compose_variables()
    assert not unknown, sorted(unknown)


def test_api_contract_settings_exist():
    """API.md's settings list (DATABASE_URL ... LANGUAGE_CODE) is read by the settings."""
    contract = {
        "DATABASE_URL",
        "REDIS_URL",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "MEDIA_ROOT",
        "EMAIL_URL",
        "TIME_ZONE",
        "LANGUAGE_CODE",
    }
    assert contract <= _settings_variables()


def test_compose_passes_only_variables_the_settings_read():
    environment = COMPOSE["x-app"]["environment"]
    assert set(environment) - _settings_variables() == set()
    assert environment["DEBUG"] == "0"
    assert environment["TIME_ZONE"] == "Asia/Ho_Chi_Minh"
    assert environment["SENDFILE_BACKEND"] == "django_sendfile.backends.nginx"
    assert environment["FILE_UPLOAD_TEMP_DIR"].startswith(environment["MEDIA_ROOT"] + "/")


def test_services_restart_and_have_health_checks():
    assert set(SERVICES) == {"db", "redis", "migrate", "web", "worker", "beat", "nginx"}
    for name, service in SERVICES.items():
        if name == "migrate":  # a one-off: runs before web, worker and beat
            assert service["restart"] == "no"
            assert service["command"][:3] == ["python", "manage.py", "migrate"]
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"], name
    for name in ("web", "worker", "beat"):
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert SERVICES["worker"]["command"][:4] == ["celery", "-A", "dti_portal", "worker"]
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "dti_portal", "beat"]


def test_beat_schedule_names_registered_tasks():
    from django.conf import settings

    from dti_portal.celery import app

    app.loader.import_default_modules()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "scoring.tasks.recompute_all_open",
        "evidence.tasks.send_deadline_reminders",
        "scoring.exports.tasks.expire_exports",
        "evidence.tasks.remove_orphan_files",
    } <= tasks
    assert tasks <= set(app.tasks)


def test_volumes_persist_database_media_and_backups():
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata", "media", "backups"}
    media_root = COMPOSE["x-app"]["environment"]["MEDIA_ROOT"]
    for name in APP_SERVICES:
        mounts = _mounts(name)
        assert mounts[media_root] == "media" and mounts["/backups"] == "backups", name
    assert _mounts("db")["/var/lib/postgresql/data"] == "pgdata"
    assert _mounts("redis")["/data"] == "redisdata"
    # Beat's schedule survives a restart: it is on the media volume.
    schedule = SERVICES["beat"]["command"][SERVICES["beat"]["command"].index("-s") + 1]
    assert schedule.startswith(media_root + "/")
    # The image creates the mount points owned by its user (an empty volume copies them).
    assert f"-o dti -g dti -m 0750 {media_root}" in DOCKERFILE
    assert "/backups" in DOCKERFILE


def test_containers_run_as_the_app_user_not_root():
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    for name in APP_SERVICES:
        assert "user" not in SERVICES[name]


def test_web_command_matches_the_image_and_logs_to_stdout():
    command = SERVICES["web"]["command"]
    image_cmd = yaml.safe_load(re.search(r"^CMD\s+(\[.*\])$", DOCKERFILE, flags=re.M)[1])
    assert command[: len(image_cmd)] == image_cmd
    assert command[command.index("--access-logfile") + 1] == "-"
    assert "PYTHONUNBUFFERED=1" in DOCKERFILE


def test_web_health_check_reaches_the_health_view_over_plain_http():
    test = SERVICES["web"]["healthcheck"]["test"]
    url = urlsplit(next(arg for arg in test if arg.startswith("http://")))
    assert f"0.0.0.0:{url.port}" in SERVICES["web"]["command"]
    assert resolve(url.path).url_name == "health"
    # Production redirects plain HTTP to HTTPS except this path (settings' own list).
    assert re.search(r"SECURE_REDIRECT_EXEMPT = \[r\"(.+)\"\]", SETTINGS)[1] == "^health/$"
    assert re.match("^health/$", url.path.lstrip("/"))
    # The Host it sends must be allowed, or the check answers 400 and nginx never starts.
    host = test[test.index("-H") + 1].removeprefix("Host:").strip()
    assert host in _env_example()["ALLOWED_HOSTS"].split(",")
    checks = re.search(r"checks=\[([^\]]+)\]", (ROOT / "dti_portal" / "urls.py").read_text())[1]
    assert "Database" in checks and "Cache" in checks  # the cache is Redis with REDIS_URL


def test_nginx_serves_protected_files_from_the_media_volume():
    from django.conf import settings

    media_root = COMPOSE["x-app"]["environment"]["MEDIA_ROOT"]
    assert _mounts("nginx")[media_root] == "media"
    assert SERVICES["nginx"]["volumes"][1].endswith(":ro")
    assert _nginx_directive("alias") == [media_root + "/"]
    assert f"location {settings.SENDFILE_URL}/ {{" in NGINX
    assert "internal;" in NGINX.split(f"location {settings.SENDFILE_URL}/ {{", 1)[1].split("}")[0]
    assert settings.MEDIA_URL == settings.SENDFILE_URL + "/"
    # Nothing in Django serves MEDIA_ROOT publicly.
    urls = (ROOT / "dti_portal" / "urls.py").read_text()
    assert "static(settings.MEDIA_URL" not in urls


def test_nginx_body_limit_admits_the_largest_upload():
    from django.conf import settings

    (limit,) = _nginx_directive("client_max_body_size")
    assert limit.endswith("m")
    body_limit = int(limit[:-1]) * 1024 * 1024
    assert body_limit > settings.EVIDENCE_MAX_UPLOAD_BYTES
    assert body_limit > settings.WORKBOOK_MAX_UPLOAD_BYTES


def _beat_health(schedule_dir: Path) -> int:
    """Runs the beat container's health check with the media volume at ``schedule_dir``."""
    command = SERVICES["beat"]["healthcheck"]["test"]
    assert command[0] == "CMD-SHELL"
    media_root = COMPOSE["x-app"]["environment"]["MEDIA_ROOT"]
    script = command[1].replace("$$", "$").replace(media_root, str(schedule_dir))
    return subprocess.run(["sh", "-c", script], check=False).returncode  # noqa: S603,S607


@pytest.mark.parametrize("backend", ["dbm.dumb", "default"])
def test_beat_health_check_follows_the_schedule_file(tmp_path, backend):
    """Beat's shelve is one file with gdbm, three (.dat, .dir, .bak) with dbm.dumb: the check
    holds for both, and fails once beat stopped writing it (a hung beat)."""
    schedule = SERVICES["beat"]["command"][SERVICES["beat"]["command"].index("-s") + 1]
    media_root = COMPOSE["x-app"]["environment"]["MEDIA_ROOT"]
    path = tmp_path / os.path.relpath(schedule, media_root)
    assert _beat_health(tmp_path) != 0  # no schedule yet
    if backend == "dbm.dumb":
        import dbm.dumb

        with shelve.Shelf(dbm.dumb.open(str(path), "c")) as shelf:
            shelf["entries"] = {}
    else:
        with shelve.open(str(path)) as shelf:
            shelf["entries"] = {}
    assert _beat_health(tmp_path) == 0
    old = time.time() - 3600
    for written in tmp_path.iterdir():
        os.utime(written, (old, old))
    assert _beat_health(tmp_path) != 0


@pytest.mark.parametrize("service", ["web", "worker", "beat"])
def test_readme_without_docker_runs_the_compose_commands(service):
    """README's "Production without Docker" starts each process as compose does."""
    section = README.split("## Production without Docker", 1)[1].split("\n## ", 1)[0]
    command = " ".join(SERVICES[service]["command"]).replace("0.0.0.0:", "127.0.0.1:")
    assert f".venv/bin/{command}" in section


def test_image_installs_the_locked_dependencies_with_their_hashes():
    """The Dockerfile said "hashes checked" but exported the lock with --no-hashes."""
    export = re.search(r"uv export ([^>]+)>", DOCKERFILE)[1]
    assert "--frozen" in export and "--no-hashes" not in export
    assert re.search(r"pip install --require-hashes -r requirements\.txt", DOCKERFILE)

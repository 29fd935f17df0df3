#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path


def _configured(*names: str) -> bool:
    """Whether the environment or the project's .env sets any of ``names``."""
    if any(name in os.environ for name in names):
        return True
    env_file = Path(__file__).resolve().parent / ".env"
    if not env_file.is_file():
        return False
    keys = {
        line.split("=", 1)[0].strip().removeprefix("export ").strip()
        for line in env_file.read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    }
    return any(name in keys for name in names)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dti_portal.settings")
    # A machine with neither DEBUG nor SECRET_KEY configured is a developer's checkout: the
    # command line runs in development mode there. A server sets SECRET_KEY (compose: .env and
    # DEBUG=0), so the settings' production guard still applies to it; wsgi/asgi/celery never
    # take this default.
    if not _configured("DEBUG", "SECRET_KEY"):
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()

"""Counts written by the security tests for SECURITY.md (tests/artifacts/security-figures.json)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "artifacts" / "security-figures.json"
_lock = threading.Lock()


def record(key: str, **values: object) -> None:
    with _lock:
        PATH.parent.mkdir(parents=True, exist_ok=True)
        data = json.loads(PATH.read_text()) if PATH.exists() else {}
        data[key] = values
        PATH.write_text(json.dumps(data, indent=1, sort_keys=True, default=str))

"""Helpers of the Unicode-form tests: decomposed (NFD) input as macOS files and Unikey's
"tổ hợp" mode give it, and the NFC data migrations run on the current rows."""

from __future__ import annotations

import importlib
import unicodedata
from typing import Any

from django.apps import apps


def nfd(value: Any) -> Any:
    """``value`` decomposed when it is a string ("ở" → "o" + horn + hook), else as it is."""
    return unicodedata.normalize("NFD", value) if isinstance(value, str) else value


def run_data_migration(module: str) -> None:
    """The NFC data migration ``module``'s operation, on the current rows."""
    importlib.import_module(module).Migration.operations[0].code(apps, None)

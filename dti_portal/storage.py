"""Static files storage for production (hashed names, compressed, served by WhiteNoise)."""

from __future__ import annotations

import logging
from typing import Any

from whitenoise.storage import CompressedManifestStaticFilesStorage

log = logging.getLogger(__name__)


class StaticStorage(CompressedManifestStaticFilesStorage):
    """The manifest storage, tolerant of references to files that are not shipped.

    Vendored CSS/JS refer to source maps and font formats that are not in static/vendor; the
    default storage makes ``collectstatic`` fail on them, so production had no manifest and
    every page failed. Such a reference is left unhashed (and logged) instead.
    """

    def hashed_name(self, name: str, content: Any = None, filename: str | None = None) -> str:
        try:
            return super().hashed_name(name, content, filename)
        except ValueError:
            if content is not None:
                raise
            log.warning("static file %s is referenced but not shipped; left unhashed", name)
            return name

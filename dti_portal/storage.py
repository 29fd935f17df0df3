"""Storages: uploaded files written durably; static files for production (hashed names,
compressed, served by WhiteNoise)."""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Any

from django.core.files.storage import FileSystemStorage
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


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DurableFileSystemStorage(FileSystemStorage):
    """The file system storage, with every saved file on disk before ``save`` returns.

    Evidence is saved inside the transaction that inserts its row, before the commit (which
    PostgreSQL makes durable). Without a flush, a power cut in the seconds after an upload could
    leave a committed row whose file is empty or missing; so the file's data and its directory
    entry (a new name, or the rename of the streamed temporary file) are flushed first.
    """

    def _save(self, name: str, content: Any) -> str:
        name = super()._save(name, content)  # type: ignore[misc]  # not in django-stubs
        full_path = self.path(name)
        try:
            _fsync_path(full_path)  # the bytes
            _fsync_path(os.path.dirname(full_path))  # the name pointing at them
        except BaseException:
            # The caller never learns the name (``save`` raises), so it cannot remove the file:
            # removed here, or it would wait for the nightly janitor with its bytes unflushed.
            with contextlib.suppress(OSError):
                os.remove(full_path)
            raise
        return name

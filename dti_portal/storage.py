"""Storages: uploaded files written durably; static files for production (hashed names,
compressed, served by WhiteNoise)."""

from __future__ import annotations

import contextlib
import errno
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


#: What PostgreSQL's ``fsync_fname_ext`` ignores for a directory: some systems refuse to open
#: one (EISDIR, EACCES) and some file systems (CIFS, several FUSE and network volumes) refuse to
#: flush one (EINVAL, EBADF). There is nothing to retry and the file's own bytes were flushed,
#: so failing every upload on such a volume would protect nothing. Any other error still fails.
_DIRECTORY_OPEN_UNSUPPORTED = frozenset({errno.EISDIR, errno.EACCES})
_DIRECTORY_FSYNC_UNSUPPORTED = frozenset({errno.EBADF, errno.EINVAL})
#: The errno values already reported by this process: a volume that cannot flush directories
#: refuses on every save, and one warning says so; the repeats are debug lines.
_reported_unsupported: set[int | None] = set()


def fsync_path(path: str, *, directory: bool = False) -> None:
    """Flushes a file's bytes, or a directory's entries (``directory=True``), to disk.

    Any failure to flush a file raises. A directory on a file system that cannot flush
    directories is skipped with a log line, exactly the errors PostgreSQL skips (above).
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        if directory and exc.errno in _DIRECTORY_OPEN_UNSUPPORTED:
            _directory_not_flushed(path, exc)
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (directory and exc.errno in _DIRECTORY_FSYNC_UNSUPPORTED):
            raise
        _directory_not_flushed(path, exc)
    finally:
        os.close(fd)


def _directory_not_flushed(path: str, exc: OSError) -> None:
    level = logging.DEBUG if exc.errno in _reported_unsupported else logging.WARNING
    _reported_unsupported.add(exc.errno)
    log.log(
        level,
        "cannot flush directory %s (%s): this file system does not support it; files are "
        "still flushed, a crash may lose their newest directory entries",
        path,
        exc.strerror or exc,
    )


class DurableFileSystemStorage(FileSystemStorage):
    """The file system storage, with every saved file on disk before ``save`` returns.

    Evidence is saved inside the transaction that inserts its row, before the commit (which
    PostgreSQL makes durable). Without a flush, a power cut in the seconds after an upload could
    leave a committed row whose file is empty or missing; so the file's data and its directory
    entry (a new name, or the rename of the streamed temporary file) are flushed first, and so is
    the entry of every directory the save created (the first file of an agency or a period).
    Where the file system cannot flush directories at all, those flushes are skipped
    (``fsync_path``); a file that cannot be flushed always fails the save.
    """

    def _save(self, name: str, content: Any) -> str:
        created = self._missing_directories(os.path.dirname(self.path(name)))
        name = super()._save(name, content)  # type: ignore[misc]  # not in django-stubs
        full_path = self.path(name)
        try:
            fsync_path(full_path)  # the bytes
            fsync_path(os.path.dirname(full_path), directory=True)  # the name pointing at them
            for directory in created:  # deepest first: each new directory's name in its parent
                fsync_path(os.path.dirname(directory), directory=True)
        except BaseException:
            # The caller never learns the name (``save`` raises), so it cannot remove the file:
            # removed here, or it would wait for the nightly janitor with its bytes unflushed.
            with contextlib.suppress(OSError):
                os.remove(full_path)
            raise
        return name

    def _missing_directories(self, directory: str) -> list[str]:
        """The directories above a file to be saved that do not exist yet (the save creates
        them), deepest first, up to the storage's root."""
        root = os.path.abspath(self.location)
        missing = []
        while directory != root and not os.path.isdir(directory):
            parent = os.path.dirname(directory)
            if parent == directory:  # the file system's root: never expected under MEDIA_ROOT
                break
            missing.append(directory)
            directory = parent
        return missing

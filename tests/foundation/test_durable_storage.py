"""The durable storage on file systems that cannot flush directories (CIFS, FUSE, some network
volumes): the directory flushes PostgreSQL skips are skipped too (one warning per process), any
other failure still fails the save and removes the file."""

from __future__ import annotations

import errno
import logging
import os
import stat

import pytest
from django.core.files.base import ContentFile

import dti_portal.storage
from dti_portal.storage import DurableFileSystemStorage

NAME = "evidence/7/3/bien-ban.pdf"  # two directories the first save creates


@pytest.fixture
def storage(tmp_path, monkeypatch):
    # A fresh "already reported" set: each test sees the first warning of its process.
    monkeypatch.setattr(dti_portal.storage, "_reported_unsupported", set())
    return DurableFileSystemStorage(location=str(tmp_path))


def _is_directory(fd: int) -> bool:
    return stat.S_ISDIR(os.fstat(fd).st_mode)


def _fsync_failing(monkeypatch, code: int, *, on_directories: bool) -> None:
    real_fsync = os.fsync

    def fsync(fd):
        if _is_directory(fd) == on_directories:
            raise OSError(code, os.strerror(code))
        real_fsync(fd)

    monkeypatch.setattr(dti_portal.storage.os, "fsync", fsync)


def _warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "dti_portal.storage" and r.levelno == logging.WARNING
    ]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EBADF])
def test_directory_that_cannot_be_flushed_does_not_fail_the_save(
    storage, tmp_path, monkeypatch, caplog, code
):
    _fsync_failing(monkeypatch, code, on_directories=True)
    caplog.set_level(logging.DEBUG, logger="dti_portal.storage")
    first = storage.save(NAME, ContentFile(b"%PDF-1.7 one"))
    second = storage.save("evidence/7/4/bien-ban.pdf", ContentFile(b"%PDF-1.7 two"))
    assert (tmp_path / first).read_bytes() == b"%PDF-1.7 one"
    assert (tmp_path / second).read_bytes() == b"%PDF-1.7 two"
    # Six refused directory flushes (the file's directory and the three parents of the new
    # ones for the first save, two for the second): one warning, then debug lines only.
    warnings = _warnings(caplog)
    assert len(warnings) == 1 and "cannot flush directory" in warnings[0]
    assert sum(r.levelno == logging.DEBUG for r in caplog.records) == 5


def test_directory_that_cannot_be_opened_does_not_fail_the_save(storage, tmp_path, monkeypatch):
    """Some systems refuse to open a directory at all (EACCES): PostgreSQL skips it too."""
    real_open = os.open

    def refusing_open(path, flags, *args, **kwargs):
        if flags == os.O_RDONLY and os.path.isdir(path):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(dti_portal.storage.os, "open", refusing_open)
    name = storage.save(NAME, ContentFile(b"%PDF-1.7"))
    assert (tmp_path / name).read_bytes() == b"%PDF-1.7"


@pytest.mark.parametrize(
    ("code", "on_directories"),
    [
        (errno.EIO, True),  # an I/O error on the directory is a real failure
        (errno.ENOSPC, True),
        (errno.EINVAL, False),  # the tolerance is for directories only, never the file's bytes
        (errno.EIO, False),
    ],
)
def test_other_flush_errors_still_fail_the_save(
    storage, tmp_path, monkeypatch, code, on_directories
):
    """Any other flush failure fails the save and leaves no file behind."""
    _fsync_failing(monkeypatch, code, on_directories=on_directories)
    with pytest.raises(OSError) as exc:
        storage.save(NAME, ContentFile(b"%PDF-1.7"))
    assert exc.value.errno == code
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []

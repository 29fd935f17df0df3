"""Evidence uploads stream to a temporary file on disk and are hashed on the way in.

The SHA-256 of each file is computed chunk by chunk while the multipart parser writes it, so the
evidence service does not read the whole file back just to hash it (see
:func:`evidence.services.evidence_files.sha256_of`, which uses this digest only for the file it
was computed for, at the size it was computed for).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

#: Attribute of the uploaded file holding ``(size, hex digest)`` of the bytes written to it.
DIGEST_ATTR = "_evidence_sha256"


class HashingTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    """A :class:`TemporaryFileUploadHandler` that also computes each file's SHA-256.

    Chunks of 1 MB instead of 64 KB: the body is read from the server (gunicorn buffers what it
    receives and copies what it keeps at every read) and through the parser in a few large
    steps instead of many small ones. Memory per upload stays bounded by a few chunks, whatever
    the size of the file.
    """

    chunk_size = 1024 * 1024

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self._sha256 = hashlib.sha256()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        self._sha256.update(raw_data)
        super().receive_data_chunk(raw_data, start)  # written to the temporary file
        return None  # consumed: no later handler sees it

    def file_complete(self, file_size: int) -> UploadedFile | None:
        upload = super().file_complete(file_size)
        if upload is not None:
            setattr(upload, DIGEST_ATTR, (file_size, self._sha256.hexdigest()))
        return upload

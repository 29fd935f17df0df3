"""Where the time of one 5 MB evidence upload goes (bench/run.py, when the upload target is missed).

    DATABASE_URL=... python -m bench.upload_profile SUBMISSION_ID USERNAME

Times Django's multipart parsing of the request body (to a temporary file, hashed on the way, with
the evidence views' upload handler), the SHA-256 of the same bytes alone (the part of the parsing
no design can skip: duplicates and the backup drill rely on it), and profiles the evidence service
on the parsed file after one warm-up call (the first call imports the storage and prepares the
connection; a web worker pays that once, not per upload); prints one JSON line.
"""

from __future__ import annotations

import cProfile
import hashlib
import io
import json
import os
import pstats
import sys
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    from django.db import transaction
    from django.http.multipartparser import MultiPartParser
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    from agencies.models import User
    from bench.pdfgen import make_pdf
    from evidence import services
    from evidence.models import Submission
    from evidence.uploadhandlers import HashingTemporaryFileUploadHandler

    sub = Submission.objects.get(pk=int(sys.argv[1]))
    user = User.objects.get(username=sys.argv[2])
    payload = make_pdf(5 * 1024 * 1024, seed=11)

    class F(io.BytesIO):
        name = "bao-cao.pdf"

    body = encode_multipart(BOUNDARY, {"file": F(payload)})
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}

    def parsed() -> tuple[object, float]:
        t0 = time.perf_counter()
        _post, files = MultiPartParser(
            meta, io.BytesIO(body), [HashingTemporaryFileUploadHandler()], "utf-8"
        ).parse()
        return files["file"], time.perf_counter() - t0

    t0 = time.perf_counter()
    hashlib.sha256(payload).hexdigest()
    sha256_s = time.perf_counter() - t0

    def add(upload: object, prof: cProfile.Profile | None = None) -> float:
        """One service call, rolled back (the stored file is removed with it)."""
        with transaction.atomic():
            t0 = time.perf_counter()
            if prof:
                prof.enable()
            ev = services.evidence_add_file(submission=sub, actor=user, upload=upload)
            if prof:
                prof.disable()
            seconds = time.perf_counter() - t0
            transaction.set_rollback(True)
        ev.file.storage.delete(ev.file.name)
        upload.close()  # type: ignore[attr-defined]  # its temporary file was moved: nothing left
        return seconds

    # Warm-up: the first call imports the storage backend and prepares the connection.
    first, _first_parse = parsed()
    warmup_s = add(first)
    upload, parse_s = parsed()
    prof = cProfile.Profile()
    service_s = add(upload, prof)
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
    text = "\n".join(line for line in buf.getvalue().splitlines() if line.strip())
    print(
        json.dumps(
            {
                "parse_s": parse_s,
                "sha256_s": sha256_s,
                "warmup_s": warmup_s,
                "service_s": service_s,
                "mb": len(payload) / 2**20,
                "profile": text[-3500:],
            }
        )
    )


if __name__ == "__main__":
    main()

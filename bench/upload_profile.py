"""Where the time of one 5 MB evidence upload goes (bench/run.py, when the upload target is missed).

    DATABASE_URL=... python -m bench.upload_profile SUBMISSION_ID USERNAME

Times Django's multipart parsing of the request body (to a temporary file, hashed on the way, with
the evidence views' upload handler) and profiles the evidence service on the parsed file; prints
one JSON line.
"""

from __future__ import annotations

import cProfile
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
    t0 = time.perf_counter()
    _post, files = MultiPartParser(
        meta, io.BytesIO(body), [HashingTemporaryFileUploadHandler()], "utf-8"
    ).parse()
    parse_s = time.perf_counter() - t0
    upload = files["file"]

    # A warm connection, as in the web workers: the profile is the service, not the connect.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    prof = cProfile.Profile()
    t0 = time.perf_counter()
    sid = transaction.savepoint() if transaction.get_connection().in_atomic_block else None
    with transaction.atomic():
        prof.enable()
        services.evidence_add_file(submission=sub, actor=user, upload=upload)
        prof.disable()
        service_s = time.perf_counter() - t0
        transaction.set_rollback(True)
    del sid
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(14)
    text = "\n".join(line for line in buf.getvalue().splitlines() if line.strip())
    print(
        json.dumps(
            {
                "parse_s": parse_s,
                "service_s": service_s,
                "mb": len(payload) / 2**20,
                "profile": text[-3500:],
            }
        )
    )


if __name__ == "__main__":
    main()

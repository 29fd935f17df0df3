"""Valid PDF documents of a chosen size (a one-page PDF plus a binary stream), for uploads."""

from __future__ import annotations

import os


def make_pdf(size: int, seed: int = 0) -> bytes:
    """A structurally valid PDF (correct xref offsets) of about ``size`` bytes."""
    filler_len = max(0, size - 600)
    filler = (
        os.urandom(filler_len)
        if seed == 0
        else bytes((i * 31 + seed) % 256 for i in range(filler_len))
    )
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Minh chung) Tj ET\nendstream",
        b"<< /Length %d >>\nstream\n" % len(filler) + filler + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)

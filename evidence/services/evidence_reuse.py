"""Reusing evidence: an agency attaches again a file it handed in with a report it sent in an
earlier period (a new row pointing at the same stored file, audited)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from agencies.models import User
from agencies.services import audit
from dti_portal.errors import ValidationFailed

from ..models import SENT_STATES, EvidenceFile, Submission
from .evidence_files import _lock_writable, _room_for_one_more
from .periods import earlier_periods_q


def reusable_evidence_q(submission: Submission) -> Q:
    """Which files ``submission`` may attach again: its agency's original files handed in with
    a submission it sent (``SENT_STATES``: not a draft, not a returned item waiting to be sent
    again) in a period strictly before ``submission``'s (year, quarter; the annual round after
    Q4). The offer (``selectors.reusable_evidence``) and ``evidence_reuse`` both use it."""
    return Q(
        submission__agency_id=submission.agency_id,
        submission__state__in=SENT_STATES,
        kind=EvidenceFile.Kind.FILE,
        reused_from__isnull=True,
    ) & earlier_periods_q(submission.period, prefix="submission__period__")


@transaction.atomic
def evidence_reuse(
    *, submission: Submission, actor: User, source: EvidenceFile, request_id: str = ""
) -> EvidenceFile:
    """Attaches an earlier period's file of the same agency again: new row, same stored file."""
    sub = _lock_writable(submission=submission, actor=actor)
    original = source.reused_from or source
    if original.submission.agency_id != sub.agency_id or original.kind != EvidenceFile.Kind.FILE:
        raise ValidationFailed(
            _("Chỉ dùng lại được tài liệu của chính cơ quan mình."),
            errors={"source": [_("Chỉ dùng lại được tài liệu của chính cơ quan mình.")]},
        )
    if not EvidenceFile.objects.filter(reusable_evidence_q(sub), pk=original.pk).exists():
        message = _("Chỉ dùng lại được tài liệu đã gửi kèm báo cáo ở kỳ trước.")
        raise ValidationFailed(message, errors={"source": [message]})
    if _room_for_one_more(sub, sha256=original.sha256):
        raise ValidationFailed(
            _("Tài liệu này đã có trong báo cáo."),
            errors={"source": [_("Tài liệu này đã có trong báo cáo.")]},
        )
    ev = EvidenceFile.objects.create(
        submission=sub,
        kind=EvidenceFile.Kind.FILE,
        file=original.file.name,
        original_name=original.original_name,
        size=original.size,
        sha256=original.sha256,
        mime_type=original.mime_type,
        doc_number=original.doc_number,
        doc_date=original.doc_date,
        issuer=original.issuer,
        summary=original.summary,
        reused_from=original,
        uploaded_by=actor,
    )
    audit(
        actor=actor,
        action="evidence.reuse",
        obj=ev,
        data={"submission": sub.pk, "from": original.pk},
        request_id=request_id,
    )
    return ev

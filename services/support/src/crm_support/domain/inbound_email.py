"""An inbound email as the support desk reads it: who wrote, to which mailbox, about which case
(the ``[#1042]`` in the subject, or the message it replies to), what they wrote and attached."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from crm_shared.contracts.support import Attachment
from crm_support.domain.errors import InvalidValue

CASE_NUMBER = re.compile(r"\[#(\d+)\]")
QUOTE_HEADER = re.compile(r"^On .+ wrote:\s*$")


@dataclass(frozen=True)
class InboundMessage:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    message_id: str | None
    replies_to: tuple[str, ...]
    """Message-IDs from In-Reply-To and References, nearest first."""
    attachments: tuple[Attachment, ...]

    @property
    def case_number(self) -> int | None:
        found = CASE_NUMBER.search(self.subject)
        return int(found.group(1)) if found else None


def parse_email(raw: bytes, envelope_recipients: list[str] | None = None) -> InboundMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    sender = parseaddr(str(message.get("From", "")))[1].strip().lower()
    if "@" not in sender:
        raise InvalidValue("from", "the message names no sender address")
    recipients = envelope_recipients or [
        address for _, address in getaddresses([str(v) for v in message.get_all("To", [])])
    ]
    in_reply_to = _ids(str(message.get("In-Reply-To", "")))
    references = list(reversed(_ids(str(message.get("References", "")))))
    body_part = message.get_body(preferencelist=("plain", "html"))
    body = body_part.get_content() if body_part is not None else ""
    attachments = tuple(
        Attachment(
            filename=part.get_filename() or "attachment",
            content_type=part.get_content_type(),
            size_bytes=len(part.get_payload(decode=True) or b""),
        )
        for part in message.iter_attachments()
    )
    return InboundMessage(
        sender=sender,
        recipients=tuple(r.strip().lower() for r in recipients if r.strip()),
        subject=str(message.get("Subject", "")).strip() or "(no subject)",
        body=new_text(str(body)),
        message_id=next(iter(_ids(str(message.get("Message-ID", "")))), None),
        replies_to=tuple(dict.fromkeys(in_reply_to + references)),
        attachments=attachments,
    )


def new_text(body: str) -> str:
    """The reply without the quoted message under it."""
    kept = []
    for line in body.strip().splitlines():
        if QUOTE_HEADER.match(line.strip()):
            break
        if not line.startswith(">"):
            kept.append(line)
    return "\n".join(kept).strip() or body.strip()


def _ids(header: str) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", header)

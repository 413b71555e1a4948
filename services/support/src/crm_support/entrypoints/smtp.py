"""The built-in SMTP server for inbound email (aiosmtpd, on the service's own event loop).

A message is acknowledged (250) only once its case or reply is committed; when that fails for
a passing reason the answer is 451, and the sending server tries again later: no mail is lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from crm_shared.errors import PlatformError
from crm_support.application.inbound import InboundMail

log = logging.getLogger(__name__)


TRY_AGAIN = "451 4.3.0 Try again later"
"""A transient refusal: the sending server keeps the message and tries again later."""


class SupportMailHandler:
    def __init__(self, mail: InboundMail) -> None:
        self.mail = mail

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        try:
            known = await self.mail.is_mailbox(address)
        except Exception:  # the database is away: a 5xx would make the sender bounce the mail
            log.exception("looking up the mailbox %s failed; the sender will retry", address)
            return TRY_AGAIN
        if not known:
            return "550 5.1.1 No such support mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        try:
            received = await self.mail.receive(raw, list(envelope.rcpt_tos))
        except PlatformError as refused:
            return f"550 5.6.0 {refused.detail}"
        except Exception:
            log.exception("storing an inbound email failed; the sender will retry")
            return TRY_AGAIN
        return f"250 2.0.0 Accepted for case {received.case_id}"


async def start_smtp(mail: InboundMail, host: str, port: int) -> asyncio.Server:
    handler = SupportMailHandler(mail)
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(handler, hostname="crm-support", data_size_limit=25 * 1024 * 1024),
        host=host,
        port=port,
    )

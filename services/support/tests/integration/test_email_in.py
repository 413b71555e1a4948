"""Email in, through a real SMTP conversation (aiosmtpd in the service, smtplib as the sending
server) and through a provider's signed webhook: a new message opens a case, a reply joins
its thread, a redelivery is taken once, a stranger's mailbox is refused."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import smtplib
import socket
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import EmailMessage

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_shared.eventstore import EventStore
from crm_support.application.inbound import InboundMail
from crm_support.entrypoints.smtp import start_smtp

from .conftest import ADA, WEBHOOK_KEY, handlers

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def smtp_port(
    api: httpx.AsyncClient, engine: AsyncEngine, support_schema: str, key_encryption_key: str
) -> AsyncIterator[int]:
    queue = await api.put(
        "/queues/mail", json={"name": "Mail", "members": [{"user_id": "ann"}]}, headers=ADA
    )
    assert queue.status_code == 200
    box = await api.put(
        "/mailboxes/Help@Acme.example", json={"queue_id": "mail", "priority": "high"}, headers=ADA
    )
    assert box.status_code == 204, box.text
    cases = handlers(engine, support_schema, key_encryption_key, clock=lambda: datetime.now(UTC))
    port = free_port()
    server = await start_smtp(
        InboundMail(EventStore(engine, support_schema), cases), "127.0.0.1", port
    )
    try:
        yield port
    finally:
        server.close()
        await server.wait_closed()


def mail(subject: str, body: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Grace Hopper <grace@navy.example>"
    message["To"] = "help@acme.example"
    message["Subject"] = subject
    message["Message-ID"] = headers.pop("message_id", f"<{uuid.uuid4()}@navy.example>")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


async def send(port: int, message: EmailMessage, to: str = "help@acme.example") -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
            client.send_message(message, to_addrs=[to])

    await asyncio.to_thread(deliver)


async def cases_of(api: httpx.AsyncClient) -> list[dict[str, object]]:
    return list((await api.get("/cases", headers=ADA)).json()["items"])


async def test_a_mail_opens_a_case_and_a_reply_joins_its_thread(
    api: httpx.AsyncClient, smtp_port: int
) -> None:
    first = mail("Printer on fire", "Flames everywhere.")
    await send(smtp_port, first)

    [case] = await cases_of(api)
    assert case["channel"] == "email"
    assert case["priority"] == "high"
    assert case["queue_id"] == "mail"
    assert case["assignee_id"] == "ann"
    assert case["requester_email"] == "grace@navy.example"

    await send(smtp_port, mail(f"Re: [#{case['number']}] Printer on fire", "Still burning.\n> old"))
    await send(
        smtp_port,
        mail("Re: Printer on fire", "And smoke.", In_Reply_To=str(first["Message-ID"])),
    )
    await send(smtp_port, first)  # the sending server delivers it again

    assert len(await cases_of(api)) == 1
    thread = (await api.get(f"/cases/{case['id']}/messages", headers=ADA)).json()
    assert [m["body"] for m in thread] == ["Flames everywhere.", "Still burning.", "And smoke."]
    assert {m["author"] for m in thread} == {"customer"}


async def test_mail_to_an_unknown_mailbox_is_refused_in_the_smtp_conversation(
    smtp_port: int,
) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(smtp_port, mail("Hello", "anyone?"), to="nobody@acme.example")


async def test_while_the_database_is_away_mail_is_deferred_not_lost(
    smtp_port: int, api: httpx.AsyncClient, support_schema: str, key_encryption_key: str
) -> None:
    away = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:1/crm")
    cases = handlers(away, support_schema, key_encryption_key, clock=lambda: datetime.now(UTC))
    port = free_port()
    inbound = InboundMail(EventStore(away, support_schema), cases)
    server = await start_smtp(inbound, "127.0.0.1", port)
    message = mail("Printer on fire", "Again.")
    try:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as deferred:
            await send(port, message)
        [(code, _)] = deferred.value.recipients.values()
        assert code == 451  # not a bounce: the sending server keeps it and retries
    finally:
        server.close()
        await server.wait_closed()
        await away.dispose()
    assert await cases_of(api) == []
    await send(smtp_port, message)  # the retry, once the database is back
    [case] = await cases_of(api)
    assert case["subject"] == "Printer on fire"


def signed(fields: dict[str, str], key: str = WEBHOOK_KEY, age_s: int = 0) -> dict[str, str]:
    timestamp = str(int(time.time()) - age_s)
    token = uuid.uuid4().hex
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": timestamp, "token": token, "signature": signature}


async def test_the_signed_webhook_opens_a_case_and_refuses_forgeries(
    api: httpx.AsyncClient, smtp_port: int
) -> None:
    fields = {
        "recipient": "help@acme.example",
        "sender": "ada@lovelace.example",
        "subject": "Engine stuck",
        "body-plain": "It will not compute.",
        "Message-Id": "<w1@lovelace.example>",
    }
    received = await api.post("/public/inbound-email/mailgun", data=signed(fields))
    assert received.status_code == 200, received.text
    assert received.json()["new_case"] is True
    again = await api.post("/public/inbound-email/mailgun", data=signed(fields))
    assert again.json()["duplicate"] is True

    forged = await api.post("/public/inbound-email/mailgun", data=signed(fields, key="guess"))
    assert forged.status_code == 403
    stale = await api.post("/public/inbound-email/mailgun", data=signed(fields, age_s=3600))
    assert stale.status_code == 403
    stranger = await api.post(
        "/public/inbound-email/mailgun", data=signed({**fields, "recipient": "x@y.example"})
    )
    assert stranger.status_code == 404
    assert len(await cases_of(api)) == 1

"""What customers and mail providers reach without an account: the satisfaction survey behind
its signed link, and the inbound-email webhook (signed by the provider)."""

from __future__ import annotations

import hashlib
import hmac
import time
from email.message import EmailMessage
from typing import Annotated

from fastapi import APIRouter, Form, status

from crm_shared.errors import NotFound, PlatformError
from crm_shared.eventstore import EventStore
from crm_shared.http.requests import Who
from crm_support.adapters import read_model as rm
from crm_support.application.cases import CaseHandlers
from crm_support.application.inbound import InboundMail
from crm_support.domain.errors import NotAllowedNow, SurveyLinkInvalid
from crm_support.domain.survey_links import read_survey_token, survey_token
from crm_support.entrypoints.schemas import EmailReceived, SurveyIn, SurveyLink, SurveyRead

WEBHOOK_MAX_AGE_S = 300


class WebhookRefused(PlatformError):
    status_code = 403
    code = "webhook_signature_invalid"


class WebhookNotConfigured(PlatformError):
    status_code = 503
    code = "webhook_not_configured"


def surveys_router(
    cases: CaseHandlers, store: EventStore, signing_key: bytes, public_url: str
) -> APIRouter:
    router = APIRouter(tags=["satisfaction surveys"])

    @router.post("/cases/{case_id}/survey-link", response_model=SurveyLink)
    async def survey_link(case_id: str, who: Who) -> SurveyLink:
        """The link to send the customer once the case is resolved."""
        async with store.engine.connect() as connection:
            row = await rm.get_case(connection, store.schema, who.tenant_id, case_id)
        if row is None:
            raise NotFound(f"no case {case_id}")
        if row["status"] not in ("resolved", "closed"):
            raise NotAllowedNow("the survey opens once the case is resolved")
        token = survey_token(signing_key, who.tenant_id, case_id)
        return SurveyLink(url=f"{public_url.rstrip('/')}/public/surveys/{token}")

    async def case_of(token: str) -> tuple[str, str, dict[str, object]]:
        tenant_id, case_id = read_survey_token(signing_key, token)
        async with store.engine.connect() as connection:
            row = await rm.get_case(connection, store.schema, tenant_id, case_id)
        if row is None:
            raise SurveyLinkInvalid("this survey link is not valid")
        return tenant_id, case_id, row

    @router.get("/public/surveys/{token}", response_model=SurveyRead)
    async def survey(token: str) -> SurveyRead:
        _, _, row = await case_of(token)
        details = row["details"]
        assert isinstance(details, dict)
        return SurveyRead(
            case_number=int(row["number"]),  # type: ignore[call-overload]
            status=str(row["status"]),
            answered=details.get("survey") is not None,
        )

    @router.post(
        "/public/surveys/{token}",
        status_code=status.HTTP_201_CREATED,
        response_model=SurveyRead,
        responses={403: {"description": "Not a link we sent"}, 409: {"description": "Answered"}},
    )
    async def answer(token: str, body: SurveyIn) -> SurveyRead:
        """Score 1 to 5 and a comment; one answer per case."""
        tenant_id, case_id, _ = await case_of(token)
        await cases.answer_survey(tenant_id, case_id, body.score, body.comment)
        return await survey(token)

    return router


def inbound_router(mail: InboundMail, webhook_key: bytes | None) -> APIRouter:
    router = APIRouter(tags=["inbound email"])

    @router.post(
        "/public/inbound-email/mailgun",
        response_model=EmailReceived,
        responses={
            403: {"description": "Bad or stale signature"},
            404: {"description": "Not one of our mailboxes"},
        },
    )
    async def mailgun(
        timestamp: Annotated[str, Form()],
        token: Annotated[str, Form()],
        signature: Annotated[str, Form()],
        recipient: Annotated[str, Form()],
        sender: Annotated[str, Form()],
        subject: Annotated[str, Form()] = "",
        body_plain: Annotated[str, Form(alias="body-plain")] = "",
        message_id: Annotated[str | None, Form(alias="Message-Id")] = None,
        in_reply_to: Annotated[str | None, Form(alias="In-Reply-To")] = None,
        references: Annotated[str | None, Form(alias="References")] = None,
        body_mime: Annotated[str | None, Form(alias="body-mime")] = None,
    ) -> EmailReceived:
        """Mailgun's inbound routes (parsed, or ``body-mime`` from a MIME route): checked
        against the signing key and refused when older than five minutes (no replays)."""
        if webhook_key is None:
            raise WebhookNotConfigured("set SUPPORT_INBOUND_WEBHOOK_SIGNING_KEY")
        expected = hmac.new(webhook_key, f"{timestamp}{token}".encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature):
            raise WebhookRefused("the signature does not match")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WEBHOOK_MAX_AGE_S:
            raise WebhookRefused("the signature is too old")
        if body_mime:
            raw = body_mime.encode()
        else:
            message = EmailMessage()
            message["From"] = sender
            message["To"] = recipient
            message["Subject"] = subject
            for name, value in (
                ("Message-ID", message_id),
                ("In-Reply-To", in_reply_to),
                ("References", references),
            ):
                if value:
                    message[name] = value
            message.set_content(body_plain or "")
            raw = message.as_bytes()
        received = await mail.receive(raw, [recipient])
        return EmailReceived(
            case_id=received.case_id, new_case=received.new_case, duplicate=received.duplicate
        )

    return router

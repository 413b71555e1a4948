"""Reading an inbound email: sender, case reference, the new text, attachments."""

from __future__ import annotations

from email.message import EmailMessage

from crm_support.domain.inbound_email import parse_email


def email(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Grace Hopper <Grace@Navy.example>"
    message["To"] = "help@acme.example"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content("It still fails.\n\nOn Mon, Dec 1, 2026 Support wrote:\n> Try again\n")
    return message


def test_a_reply_names_its_case_and_keeps_only_the_new_text() -> None:
    message = email(
        Subject="Re: [#1042] Printer",
        Message_ID="<m2@navy.example>",
        In_Reply_To="<i-1@crm-support>",
        References="<m1@navy.example> <i-1@crm-support>",
    )
    parsed = parse_email(message.as_bytes())
    assert parsed.sender == "grace@navy.example"
    assert parsed.recipients == ("help@acme.example",)
    assert parsed.case_number == 1042
    assert parsed.body == "It still fails."
    assert parsed.message_id == "m2@navy.example"
    assert parsed.replies_to == ("i-1@crm-support", "m1@navy.example")


def test_attachments_are_described_not_kept() -> None:
    message = email(Subject="Logs")
    message.add_attachment(b"x" * 1000, maintype="text", subtype="plain", filename="log.txt")
    parsed = parse_email(message.as_bytes(), ["Help@Acme.example"])
    assert parsed.case_number is None
    assert parsed.recipients == ("help@acme.example",)
    [attachment] = parsed.attachments
    assert (attachment.filename, attachment.content_type, attachment.size_bytes) == (
        "log.txt",
        "text/plain",
        1000,
    )

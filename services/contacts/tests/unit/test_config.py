"""The contacts service's settings are documented with everyone else's."""

from __future__ import annotations

from pathlib import Path

from crm_contacts.config import ContactsSettings
from crm_shared.settings import section

DOC = Path(__file__).parents[4] / "docs" / "configuration.md"


def test_the_contacts_settings_are_in_the_configuration_document() -> None:
    assert section(ContactsSettings) in DOC.read_text()

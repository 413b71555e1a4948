"""The support service's settings are documented with everyone else's."""

from __future__ import annotations

from pathlib import Path

from crm_shared.settings import section
from crm_support.config import SupportSettings

DOC = Path(__file__).parents[4] / "docs" / "configuration.md"


def test_the_support_settings_are_in_the_configuration_document() -> None:
    assert section(SupportSettings) in DOC.read_text()

"""The gateway service's settings are documented with everyone else's."""

from __future__ import annotations

from pathlib import Path

from crm_gateway.config import GatewaySettings
from crm_shared.settings import section

DOC = Path(__file__).parents[4] / "docs" / "configuration.md"


def test_the_gateway_settings_are_in_the_configuration_document() -> None:
    assert section(GatewaySettings) in DOC.read_text()

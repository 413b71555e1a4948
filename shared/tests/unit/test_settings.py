"""Configuration comes from the environment, and the documented list is never stale."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_shared.settings import PlatformSettings, section

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


def test_settings_are_read_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/crm")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("CRM_RELAY_BATCH_SIZE", "50")
    settings = PlatformSettings()
    assert settings.async_database_url == "postgresql+asyncpg://u@db:5432/crm"
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.relay_batch_size == 50


def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_RELAY_BATCH_SIZE", "0")
    with pytest.raises(ValueError, match="relay_batch_size"):
        PlatformSettings()


def test_the_trace_service_name_falls_back_to_the_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_SERVICE_NAME", "contacts")
    assert PlatformSettings().trace_service_name == "contacts"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "contacts-eu")
    assert PlatformSettings().trace_service_name == "contacts-eu"


def test_the_configuration_document_is_up_to_date() -> None:
    assert section(PlatformSettings) in DOC.read_text(), "regenerate: see docs/configuration.md"

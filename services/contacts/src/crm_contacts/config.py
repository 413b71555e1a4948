"""The contacts service's own settings (prefix ``CONTACTS_``); shared ones: PlatformSettings."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ContactsSettings(BaseSettings):
    """Settings of the contacts service."""

    model_config = SettingsConfigDict(env_prefix="CONTACTS_", extra="ignore", frozen=True)

    db_schema: str = Field(
        "contacts", description="PostgreSQL schema holding the service's events and tables."
    )
    default_region: str | None = Field(
        None, description="ISO 3166 country for phone numbers given without +country code."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8101, description="Port of the HTTP API.")
    http_workers: int = Field(
        1, ge=1, le=64, description="Processes serving the API (each with a standby relay)."
    )
    run_relay: bool = Field(
        True, description="Run the outbox relay in this process (one replica publishes)."
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes (`openssl rand -base64 32`): wraps every"
        " person's data key. Required; keep it in a secret store, never change it"
        " (rotation re-wraps the keys: not built yet).",
    )
    run_importer: bool = Field(
        True, description="Run CSV imports in this process (replicas share them by lease)."
    )
    importer_interval_s: float = Field(
        1.0, gt=0, description="Seconds between two looks for waiting imports."
    )

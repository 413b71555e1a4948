"""The sales service's own settings (prefix ``SALES_``); shared ones: PlatformSettings."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SalesSettings(BaseSettings):
    """Settings of the sales service."""

    model_config = SettingsConfigDict(env_prefix="SALES_", extra="ignore", frozen=True)

    db_schema: str = Field(
        "sales", description="PostgreSQL schema holding the service's events and tables."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8102, description="Port of the HTTP API.")
    run_relay: bool = Field(
        True, description="Run the outbox relay in this process (one replica publishes)."
    )
    run_consumer: bool = Field(
        True,
        description="Consume crm.contacts.events in this process (merges re-point"
        " opportunities to the surviving contact).",
    )
    default_region: str | None = Field(
        None, description="ISO 3166 country for leads' phone numbers given without +country code."
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes (`openssl rand -base64 32`): wraps the data key"
        " of every lead's person. Required; keep it in a secret store.",
    )
    run_scheduler: bool = Field(
        True,
        description="Mark task reminders and overdue tasks in this process (replicas take turns).",
    )
    scheduler_interval_s: float = Field(
        5.0, gt=0, description="Seconds between two looks for due reminders and overdue tasks."
    )
    contacts_url: str | None = Field(
        None,
        description="Base URL of the contacts service (e.g. http://crm-contacts:8101): lead"
        " conversion creates the account and the contact there. Without it, conversion"
        " answers 503.",
    )
    contacts_client_id: str | None = Field(
        None,
        description="The sales service's account at the token issuer (CRM_AUTH_ISSUER), for"
        " calling the contacts service when it checks tokens (client credentials grant).",
    )
    contacts_client_secret: SecretStr | None = Field(
        None, description="The secret of that account."
    )
    run_conversions: bool = Field(
        True,
        description="Drive unfinished lead conversions in this process (replicas take turns).",
    )
    conversion_interval_s: float = Field(
        2.0, gt=0, description="Seconds between two looks for lead conversions to carry on."
    )

"""The support service's own settings (prefix ``SUPPORT_``); shared ones: PlatformSettings."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class SupportSettings(BaseSettings):
    """Settings of the support service."""

    model_config = SettingsConfigDict(env_prefix="SUPPORT_", extra="ignore", frozen=True)

    db_schema: str = Field(
        "support", description="PostgreSQL schema holding the service's events and tables."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8103, description="Port of the HTTP API.")
    public_url: str = Field(
        "http://127.0.0.1:8103",
        description="Where customers reach the service: survey links start with it.",
    )
    run_relay: bool = Field(
        True, description="Run the outbox relay in this process (one replica publishes)."
    )
    run_consumer: bool = Field(
        True,
        description="Consume crm.contacts.events in this process (merges re-point cases,"
        " erasures erase their words).",
    )
    run_timers: bool = Field(
        True, description="Fire SLA timers in this process (replicas share them, each fires once)."
    )
    timer_max_sleep_s: float = Field(
        1.0, gt=0, description="Longest pause between two looks for due SLA timers."
    )
    reopen_window_days: int = Field(
        7, ge=0, description="Days during which a resolved case can be reopened; then it closes."
    )
    key_encryption_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes (`openssl rand -base64 32`): wraps each case's"
        " data key. Required; keep it in a secret store.",
    )
    survey_signing_key: SecretStr | None = Field(
        None,
        description="Base64 of 32 random bytes: signs the satisfaction survey links. Required.",
    )
    inbound_webhook_signing_key: SecretStr | None = Field(
        None,
        description="The mail provider's webhook signing key (Mailgun style: HMAC-SHA256 of"
        " timestamp and token). Without it the inbound-email webhook answers 503.",
    )
    smtp_port: int | None = Field(
        None, description="Port of the built-in SMTP server for inbound email (none: off)."
    )
    smtp_host: str = Field("127.0.0.1", description="Address the SMTP server listens on.")

"""The gateway's own settings (prefix ``GATEWAY_``); the token issuer: PlatformSettings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    """Settings of the gateway."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    http_host: str = Field("127.0.0.1", description="Address the public API listens on.")
    http_port: int = Field(8100, description="Port of the public API.")
    contacts_url: str = Field("http://127.0.0.1:8101", description="The contacts service.")
    sales_url: str = Field("http://127.0.0.1:8102", description="The sales service.")
    support_url: str = Field("http://127.0.0.1:8103", description="The support service.")
    analytics_url: str = Field("http://127.0.0.1:8104", description="The analytics service.")
    upstream_timeout_s: float = Field(
        2.0, gt=0, description="How long the gateway waits for a service before answering 503."
    )
    breaker_failures: int = Field(
        5, ge=1, description="Failures in a row after which a service's circuit opens."
    )
    breaker_reset_s: float = Field(
        10.0, gt=0, description="How long an open circuit stays open before one trial call."
    )
    openapi_cache_s: float = Field(
        60.0, gt=0, description="How long the merged OpenAPI document is kept before refetching."
    )

"""The analytics service's own settings (prefix ``ANALYTICS_``); shared ones: PlatformSettings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AnalyticsSettings(BaseSettings):
    """Settings of the analytics service."""

    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", frozen=True)

    db_schema: str = Field(
        "analytics", description="PostgreSQL schema holding the service's read models."
    )
    http_host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    http_port: int = Field(8104, description="Port of the HTTP API.")
    run_consumer: bool = Field(
        True,
        description="Consume the services' topics in this process (replicas share the"
        " partitions in one consumer group).",
    )
    consumer_group: str | None = Field(
        None,
        description="Kafka consumer group of the first read-model generation (default"
        " <CRM_TOPIC_PREFIX>-analytics); a rebuilt generation N uses <group>.gN.",
    )
    generation_poll_s: float = Field(
        2.0,
        gt=0,
        description="How often a replica looks which read-model generation is live (after a"
        " rebuild's swap, it reads and feeds the new one).",
    )

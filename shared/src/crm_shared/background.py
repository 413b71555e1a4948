"""A service's background work: its outbox relay, its consumers of other services' topics and
its loops on a timer, started in the app's lifespan and stopped in the reverse order, each
given time to finish what it holds."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from contextlib import AsyncExitStack
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.consumer import ApplyEvent, ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.relay import OutboxRelay, RelayConfig
from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import ConsumerMetrics, RelayMetrics

DRAIN_S = 30.0
"""How long a loop may take to finish its turn once asked to stop."""
CONSUMER_DRAIN_S = 20.0
"""How long a consumer may take to finish the event in hand (below the pod's grace period)."""


class BackgroundWork:
    """Everything registered here stops when ``running`` closes: first ``stop`` is set, then
    each part is awaited, the last registered first."""

    def __init__(
        self,
        running: AsyncExitStack,
        engine: AsyncEngine,
        platform: PlatformSettings,
        registry: CollectorRegistry,
    ) -> None:
        self.stop = asyncio.Event()
        self._running = running
        self._engine = engine
        self._platform = platform
        self._registry = registry

    def loop(self, work: Coroutine[Any, Any, None]) -> None:
        """``work`` runs until ``stop`` is set (it must watch it)."""
        task = asyncio.create_task(work)
        self._running.push_async_callback(asyncio.wait_for, task, DRAIN_S)
        self._running.callback(self.stop.set)

    def relay(self, schema: str, topic: str, source: str, service: str) -> None:
        """The outbox relay of the service's event store in ``schema``, to ``topic``."""
        platform = self._platform
        relay = OutboxRelay(
            self._engine,
            RelayConfig(
                schema,
                topic,
                source,
                platform.kafka_bootstrap_servers,
                platform.relay_batch_size,
                platform.relay_poll_interval_ms / 1000,
                platform.relay_idle_poll_max_ms / 1000,
            ),
            RelayMetrics(self._registry, service=service, topic=topic),
        )
        self._running.push_async_callback(relay.close)
        self.loop(relay.run(self.stop))

    async def consumer(
        self,
        group: str,
        topics: Sequence[str],
        schema: str,
        apply: ApplyEvent,
        event_types: frozenset[str] | None = None,
    ) -> None:
        """An idempotent consumer in ``group`` (its claims kept in ``schema``), subscribed now;
        ``event_types``: the only types it applies (None: all)."""
        consumer = IdempotentConsumer(
            self._engine,
            ConsumerConfig(
                group,
                list(topics),
                schema,
                self._platform.kafka_bootstrap_servers,
                event_types=event_types,
            ),
            apply,
            ConsumerMetrics(self._registry, group=group),
        )
        broker = consumer_broker(
            self._platform.kafka_bootstrap_servers, [consumer], graceful_timeout=CONSUMER_DRAIN_S
        )
        await broker.start()
        self._running.push_async_callback(consumer.close)
        self._running.push_async_callback(broker.stop)

"""The outbox relay: publishes a service's committed events to its Kafka topic, in order.

At-least-once by construction: events are sent, the producer's acknowledgements awaited, and
only then is the checkpoint moved. A crash in between re-publishes the batch (consumers
deduplicate by event id); a broker outage stalls the relay, which retries with backoff and
never moves the checkpoint past an unacknowledged event. One relay per service and topic is
active at a time (a PostgreSQL advisory lock); other replicas wait as hot standbys.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.eventstore.commits import COMMITS
from crm_shared.eventstore.model import RecordedEvent
from crm_shared.relay.gaps import GapGuard
from crm_shared.relay.reader import OutboxReader
from crm_shared.relay.records import kafka_record_for
from crm_shared.telemetry.kafka_spans import start_publish_span
from crm_shared.telemetry.pipeline_metrics import RelayMetrics

log = logging.getLogger(__name__)

ProducerFactory = Callable[[], AIOKafkaProducer]


@dataclass(frozen=True, slots=True)
class RelayConfig:
    schema: str
    topic: str
    source: str
    bootstrap_servers: str
    batch_size: int = 500
    poll_interval: float = 0.02
    """The first wait when nothing was found; each empty look doubles it, up to
    ``idle_poll_max``. A commit of events in this process ends the wait at once."""
    idle_poll_max: float = 0.25
    """The longest wait between looks: how late a commit made by another process (another
    replica) may be noticed when the relay is idle."""
    checkpoint_interval: float = 0.5
    """While events keep coming, the position is saved at most this often (seconds); it is
    always saved once the relay has caught up. Saving it after every batch made each batch
    wait for a transaction of its own."""
    max_backoff: float = 5.0
    request_timeout_ms: int = 10_000


class OutboxRelay:
    def __init__(
        self,
        engine: AsyncEngine,
        config: RelayConfig,
        metrics: RelayMetrics | None = None,
        producer_factory: ProducerFactory | None = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.reader = OutboxReader(engine, config.schema)
        self.metrics = metrics
        self._producer_factory = producer_factory or self._default_producer
        self._producer: AIOKafkaProducer | None = None
        self._gaps = GapGuard()
        self._position: int | None = None
        self._checkpointed: int | None = None
        self._next_checkpoint = 0.0
        self._next_backlog_report = 0.0

    @property
    def position(self) -> int | None:
        """The last position published and checkpointed, once known."""
        return self._position

    def _default_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.config.bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=self.config.request_timeout_ms,
            client_id=f"relay-{self.config.schema}",
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set; survive broker and database outages."""
        backoff = 0.1
        while not stop.is_set():
            try:
                async with self._leadership(stop) as leadership:
                    if not leadership.held:
                        return
                    await self._publish_until(stop, leadership)
                    return
            except (KafkaError, OSError, OperationalError, DBAPIError) as error:
                log.warning("relay for %s paused: %r", self.config.topic, error)
                if self.metrics:
                    self.metrics.publish_errors.inc()
                await self._close_producer()
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, self.config.max_backoff)

    async def _publish_until(self, stop: asyncio.Event, leadership: _Leadership) -> None:
        wait = self.config.poll_interval
        while not stop.is_set():
            await leadership.confirm()
            seen = COMMITS.count(self.config.schema)
            if await self.publish_next_batch():
                wait = self.config.poll_interval
                continue
            await COMMITS.wait(self.config.schema, seen, wait, stop)
            wait = min(wait * 2, self.config.idle_poll_max)
        await self._checkpoint(due=True)  # stopping: the next leader starts from here

    def _leadership(self, stop: asyncio.Event) -> _Leadership:
        return _Leadership(self.engine, f"relay:{self.config.schema}:{self.config.topic}", stop)

    async def publish_next_batch(self) -> int:
        """Publish the next run of publishable events; returns how many were published."""
        if self._position is None:
            self._position = await self.reader.checkpoint(self.config.topic)
            self._checkpointed = self._position
        batch = await self.reader.read_after(self._position, self.config.batch_size)
        if batch.snapshot is None:
            await self._checkpoint(due=True)
            await self._report_backlog()
            return 0
        decision = self._gaps.decide(
            self._position, [e.global_position for e in batch.events], batch.snapshot
        )
        if decision.needs_horizon is not None:
            self._gaps.set_horizon(decision.needs_horizon, await self.reader.new_horizon())
        ready = batch.events[: decision.publishable]
        if ready:
            await self._send(ready)
            self._position = ready[-1].global_position
            if self.metrics:
                self.metrics.published.inc(len(ready))
                self.metrics.position.set(self._position)
        await self._checkpoint(due=not ready or time.monotonic() >= self._next_checkpoint)
        await self._report_backlog()
        return len(ready)

    async def _checkpoint(self, due: bool) -> None:
        """Save the position when ``due`` and it moved: under load at most every
        ``checkpoint_interval`` (a crash then republishes what the lost checkpoint covered,
        which consumers absorb), and whenever the relay has caught up."""
        if not due or self._position is None or self._position == self._checkpointed:
            return
        await self.reader.save_checkpoint(self.config.topic, self._position)
        self._checkpointed = self._position
        self._next_checkpoint = time.monotonic() + self.config.checkpoint_interval

    async def _send(self, ready: Sequence[RecordedEvent]) -> None:
        producer = await self._ensure_producer()
        deliveries = []
        for event in ready:
            record = kafka_record_for(event, self.config.source)
            with start_publish_span(self.config.topic, event, record) as headers:
                deliveries.append(
                    await producer.send(
                        self.config.topic, value=record.value, key=record.key, headers=headers
                    )
                )
        await asyncio.gather(*deliveries)

    async def _ensure_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = self._producer_factory()
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except KafkaError as error:  # pragma: no cover - best effort on a broken connection
                log.debug("closing producer: %r", error)

    async def _report_backlog(self) -> None:
        """At most once a second: an idle relay polls often, and need not ask this each time."""
        now = time.monotonic()
        if self.metrics is None or self._position is None or now < self._next_backlog_report:
            return
        self._next_backlog_report = now + 1.0
        head = await self.reader.head_position()
        self.metrics.backlog.set(max(head - self._position, 0))

    async def close(self) -> None:
        await self._close_producer()


class _Leadership:
    """Holds the advisory lock that makes this relay the only active one for its topic.

    The lock lives as long as its database session; ``confirm`` checks now and then that the
    session is still there, so a relay whose session died (and whose lock another replica may
    have taken) stops publishing and competes for the lock again.
    """

    CONFIRM_EVERY = 5.0

    def __init__(self, engine: AsyncEngine, key: str, stop: asyncio.Event) -> None:
        self.engine = engine
        self.key = key
        self.stop = stop
        self.held = False
        self._connection: AsyncConnection | None = None
        self._confirmed_at = 0.0

    async def __aenter__(self) -> _Leadership:
        self._connection = await self.engine.connect()
        while not self.stop.is_set():
            acquired = await self._connection.scalar(
                text("SELECT pg_try_advisory_lock(hashtext(:key))"), {"key": self.key}
            )
            await self._connection.commit()
            if acquired:
                self.held = True
                self._confirmed_at = time.monotonic()
                break
            await _sleep_or_stop(self.stop, 1.0)
        return self

    async def confirm(self) -> None:
        """Raise ``OperationalError``/``DBAPIError`` when the lock's session is gone."""
        if time.monotonic() - self._confirmed_at < self.CONFIRM_EVERY:
            return
        assert self._connection is not None
        await self._connection.execute(text("SELECT 1"))
        await self._connection.commit()
        self._confirmed_at = time.monotonic()

    async def __aexit__(self, *exc_info: object) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            if not self.held:
                return
            await connection.execute(
                text("SELECT pg_advisory_unlock(hashtext(:key))"), {"key": self.key}
            )
            await connection.commit()
        except (OperationalError, DBAPIError, OSError):
            pass  # the session is gone, and its lock with it
        finally:
            await connection.close()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)

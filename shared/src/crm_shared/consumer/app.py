"""A FastStream application running a service's consumers, with graceful shutdown.

On SIGTERM or SIGINT FastStream stops fetching, waits up to ``graceful_timeout`` for the batch
in hand (which is applied and committed as usual), then closes the Kafka consumer, which
leaves the group at once so its partitions move to the other replicas without waiting for a
session timeout.
"""

from __future__ import annotations

from collections.abc import Sequence

from faststream import FastStream
from faststream.kafka import KafkaBroker

from crm_shared.consumer.idempotent import IdempotentConsumer


def consumer_broker(
    bootstrap_servers: str, consumers: Sequence[IdempotentConsumer], graceful_timeout: float
) -> KafkaBroker:
    broker = KafkaBroker(bootstrap_servers, graceful_timeout=graceful_timeout)
    for consumer in consumers:
        consumer.subscribe(broker)
    return broker


def consumer_app(
    bootstrap_servers: str,
    consumers: Sequence[IdempotentConsumer],
    graceful_timeout: float = 25.0,
) -> FastStream:
    broker = consumer_broker(bootstrap_servers, consumers, graceful_timeout)
    return FastStream(broker, after_shutdown=[consumer.close for consumer in consumers])

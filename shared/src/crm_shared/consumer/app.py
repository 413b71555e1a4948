"""A FastStream application running a service's consumers, with graceful shutdown.

On SIGTERM or SIGINT FastStream stops fetching, waits up to ``graceful_timeout`` for the batch
in hand (which is applied and committed as usual), then closes the Kafka consumer, which
leaves the group at once so its partitions move to the other replicas without waiting for a
session timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from faststream import FastStream
from faststream.kafka import KafkaBroker

from crm_shared.consumer.idempotent import IdempotentConsumer

BROKER_LOGGER = logging.getLogger("crm.consumer.broker")
"""FastStream's records go through the service's own logging (JSON lines, CRM_LOG_LEVEL);
with its default logger it printed coloured lines of its own at INFO whatever the level."""


def consumer_broker(
    bootstrap_servers: str, consumers: Sequence[IdempotentConsumer], graceful_timeout: float
) -> KafkaBroker:
    broker = KafkaBroker(
        bootstrap_servers,
        graceful_timeout=graceful_timeout,
        logger=BROKER_LOGGER,
        # "Received" and "Processed", two lines per batch: the consumer metrics say as much
        log_level=logging.DEBUG,
    )
    for consumer in consumers:
        consumer.subscribe(broker)
    return broker


def consumer_app(
    bootstrap_servers: str,
    consumers: Sequence[IdempotentConsumer],
    graceful_timeout: float = 25.0,
) -> FastStream:
    broker = consumer_broker(bootstrap_servers, consumers, graceful_timeout)
    return FastStream(
        broker,
        logger=logging.getLogger("crm.consumer.app"),
        after_shutdown=[consumer.close for consumer in consumers],
    )

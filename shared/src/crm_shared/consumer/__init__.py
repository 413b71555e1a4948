"""Idempotent Kafka consumers with retries, dead letters and graceful shutdown."""

from crm_shared.consumer.app import consumer_app, consumer_broker
from crm_shared.consumer.dead_letters import dlq_topic
from crm_shared.consumer.idempotent import ApplyEvent, ConsumerConfig, IdempotentConsumer

__all__ = [
    "ApplyEvent",
    "ConsumerConfig",
    "IdempotentConsumer",
    "consumer_app",
    "consumer_broker",
    "dlq_topic",
]

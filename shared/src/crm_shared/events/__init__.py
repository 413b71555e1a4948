"""Event contracts: the CloudEvents envelope, its Kafka binding, typed event data."""

from crm_shared.events.contracts import EventContract
from crm_shared.events.envelope import EventEnvelope, dataschema_for, parse_dataschema
from crm_shared.events.kafka_binding import (
    InvalidEnvelope,
    KafkaRecord,
    from_kafka_record,
    to_kafka_record,
)
from crm_shared.events.registry import EventRegistry, MissingUpcaster, UnknownEventType, Upcaster

__all__ = [
    "EventContract",
    "EventEnvelope",
    "EventRegistry",
    "InvalidEnvelope",
    "KafkaRecord",
    "MissingUpcaster",
    "UnknownEventType",
    "Upcaster",
    "dataschema_for",
    "from_kafka_record",
    "parse_dataschema",
    "to_kafka_record",
]

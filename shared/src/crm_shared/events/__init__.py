"""Event contracts: the CloudEvents envelope, its Kafka binding, typed event data."""

from crm_shared.events.envelope import EventEnvelope, dataschema_for, parse_dataschema
from crm_shared.events.kafka_binding import (
    InvalidEnvelope,
    KafkaRecord,
    from_kafka_record,
    to_kafka_record,
)

__all__ = [
    "EventEnvelope",
    "InvalidEnvelope",
    "KafkaRecord",
    "dataschema_for",
    "from_kafka_record",
    "parse_dataschema",
    "to_kafka_record",
]

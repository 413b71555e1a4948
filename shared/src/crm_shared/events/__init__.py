"""Event contracts: the CloudEvents envelope, its Kafka binding, typed and versioned event data.

- ``EventEnvelope``: a CloudEvent 1.0 with the platform's extensions (``envelope``);
  ``envelope_for_event`` makes one for an event without an event store (``building``).
- ``to_kafka_record``/``from_kafka_record``: the Kafka binding, binary mode (``kafka_binding``).
- ``EventContract``/``ContractModel``: one pydantic class per event type and version
  (``contracts``), gathered with upcasters in an ``EventRegistry`` (``registry``).
- JSON Schema export and the backward-compatibility check: ``crm_shared.events.schemas``.

Plain Python and pydantic: nothing here does network or database I/O.
"""

from crm_shared.events.building import envelope_for_event
from crm_shared.events.contracts import ContractModel, EventContract
from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.errors import (
    InvalidEnvelope,
    InvalidEventData,
    InvalidRegistry,
    MissingUpcaster,
    UnknownEventType,
    UnknownSchemaVersion,
)
from crm_shared.events.kafka_binding import KafkaRecord, from_kafka_record, to_kafka_record
from crm_shared.events.naming import EVENT_TYPE, check_event_type, dataschema_for, parse_dataschema
from crm_shared.events.registry import EventRegistry, Upcaster
from crm_shared.events.schemas import (
    check_registry_against_published,
    compatibility_problems,
    json_schema,
    write_published_schemas,
)

__all__ = [
    "EVENT_TYPE",
    "ContractModel",
    "EventContract",
    "EventEnvelope",
    "EventRegistry",
    "InvalidEnvelope",
    "InvalidEventData",
    "InvalidRegistry",
    "KafkaRecord",
    "MissingUpcaster",
    "UnknownEventType",
    "UnknownSchemaVersion",
    "Upcaster",
    "check_event_type",
    "check_registry_against_published",
    "compatibility_problems",
    "dataschema_for",
    "envelope_for_event",
    "from_kafka_record",
    "json_schema",
    "parse_dataschema",
    "to_kafka_record",
    "write_published_schemas",
]

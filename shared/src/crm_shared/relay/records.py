"""From a stored event to the CloudEvent record other systems receive on the topic."""

from __future__ import annotations

from crm_shared.events.envelope import EventEnvelope, dataschema_for
from crm_shared.events.kafka_binding import KafkaRecord, to_kafka_record
from crm_shared.eventstore.model import RecordedEvent


def envelope_for(event: RecordedEvent, source: str) -> EventEnvelope:
    meta = event.metadata
    return EventEnvelope(
        id=str(event.event_id),
        source=source,
        type=event.event_type,
        time=event.occurred_at,
        subject=event.subject,
        dataschema=dataschema_for(event.event_type, event.schema_version),
        data=event.data,
        tenantid=meta.tenant_id,
        actor=meta.actor,
        correlationid=meta.correlation_id,
        causationid=meta.causation_id,
        traceparent=meta.traceparent,
        tracestate=meta.tracestate,
        streamid=event.stream_id,
        streamversion=event.stream_version,
        partitionkey=event.partition_key,
    )


def kafka_record_for(event: RecordedEvent, source: str) -> KafkaRecord:
    return to_kafka_record(envelope_for(event, source))

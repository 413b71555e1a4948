"""From a stored event to the CloudEvent record other systems receive on the topic."""

from __future__ import annotations

from datetime import UTC

from crm_shared.events.envelope import EventEnvelope, dataschema_for
from crm_shared.events.kafka_binding import KafkaRecord, record_from_attributes
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
    """The record to publish; the event was validated when it was appended (``NewEvent``)."""
    meta = event.metadata
    return record_from_attributes(
        {
            "id": str(event.event_id),
            "source": source,
            "type": event.event_type,
            "specversion": "1.0",
            "time": event.occurred_at.astimezone(UTC),
            "subject": event.subject,
            "dataschema": dataschema_for(event.event_type, event.schema_version),
            "tenantid": meta.tenant_id,
            "actor": meta.actor,
            "correlationid": meta.correlation_id,
            "causationid": meta.causation_id,
            "traceparent": meta.traceparent,
            "tracestate": meta.tracestate,
            "streamid": event.stream_id,
            "streamversion": event.stream_version,
            "partitionkey": event.partition_key,
        },
        event.data,
    )

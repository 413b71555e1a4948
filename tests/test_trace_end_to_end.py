"""One trace, on the running platform: a request to the gateway (a merge of two contacts), the
contacts service it reaches, the relay publishing the event to Kafka, and every consumer that
reacts to it (sales, support, analytics), each service a process of its own exporting spans
over OTLP/HTTP to a collector this test runs. The parent-child chain is checked link by link,
with the messaging attributes of the current OpenTelemetry semantic conventions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan

from crm_devstack.issuer import DevIssuer
from crm_devstack.platform import platform_processes
from crm_devstack.stack import Endpoints
from crm_shared.settings import PlatformSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONSUMERS = ["sales", "support", "analytics"]
"""The services consuming the contacts topic that act on a merge: each must show its processing
(sales and support pass over the contacts events they do not act on, a creation among them)."""


@dataclass(frozen=True)
class Span:
    service: str
    name: str
    kind: int
    trace_id: bytes
    span_id: bytes
    parent_id: bytes
    attributes: dict[str, Any]


def _value(value: AnyValue) -> Any:
    return getattr(value, value.WhichOneof("value") or "string_value")


class Collector:
    """An OTLP/HTTP trace receiver (protobuf), keeping every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        received = self.spans

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource_spans in request.resource_spans:
                    resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                    for scope in resource_spans.scope_spans:
                        received.extend(
                            Span(
                                str(resource.get("service.name")),
                                span.name,
                                span.kind,
                                span.trace_id,
                                span.span_id,
                                span.parent_span_id,
                                {a.key: _value(a.value) for a in span.attributes},
                            )
                            for span in scope.spans
                        )
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def collector() -> Iterator[Collector]:
    running = Collector()
    yield running
    running.close()


@pytest.fixture
def platform(
    stack: Endpoints,
    dev_issuer: DevIssuer,
    collector: Collector,
    tmp_path: Path,
    unique_name: str,
) -> Iterator[dict[str, str]]:
    exporting = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with platform_processes(stack, dev_issuer, tmp_path, unique_name, exporting) as urls:
        yield urls


def ancestry(span: Span, by_id: dict[bytes, Span]) -> list[Span]:
    """The span and its parents up to the root, in that order."""
    chain = [span]
    while chain[-1].parent_id:
        parent = by_id.get(chain[-1].parent_id)
        assert parent is not None, f"{chain[-1].service}/{chain[-1].name}: parent not exported"
        chain.append(parent)
    return chain


async def test_a_gateway_request_is_one_trace_through_kafka_into_every_consumer(
    platform: dict[str, str],
    collector: Collector,
    dev_issuer: DevIssuer,
    unique_name: str,
) -> None:
    token = dev_issuer.mint("sam", unique_name, ["sales"])
    authorised = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=platform["gateway"], timeout=30) as api:
        made = [
            await api.post("/contacts", json={"last_name": name}, headers=authorised)
            for name in ("Hopper", "Hopper")
        ]
        assert all(m.status_code == 201 for m in made), [m.text for m in made]
        survivor, duplicate = (m.json() for m in made)
        merged = await api.post(
            f"/contacts/{survivor['id']}/merge",
            json={"duplicate_id": duplicate["id"], "duplicate_version": duplicate["version"]},
            headers={**authorised, "If-Match": made[0].headers["ETag"]},
        )
    assert merged.status_code == 200, merged.text
    contact_id = survivor["id"]
    topic = PlatformSettings(topic_prefix=unique_name).topic("contacts")

    def processing(service: str) -> list[Span]:
        return [
            s
            for s in collector.spans
            if s.service == service
            and s.name == f"process {topic}"
            and s.attributes.get("messaging.kafka.message.key") == contact_id
        ]

    def merge_trace() -> bytes | None:
        """The trace of the merge: sales acts on nothing else of the survivor's."""
        spans = processing("sales")
        return spans[0].trace_id if spans else None

    def processing_the_merge(service: str) -> list[Span]:
        return [s for s in processing(service) if s.trace_id == merge_trace()]

    deadline = asyncio.get_running_loop().time() + 60
    while not all(processing_the_merge(service) for service in CONSUMERS):
        missing = [service for service in CONSUMERS if not processing_the_merge(service)]
        assert asyncio.get_running_loop().time() < deadline, f"no process span from {missing}"
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)  # the last parents' batches

    assert len(processing("sales")) == 1  # the survivor's creation passed over, unprocessed
    spans = list(collector.spans)
    by_id = {span.span_id: span for span in spans}
    roots: set[bytes] = set()
    for service in CONSUMERS:
        (process,) = processing_the_merge(service)
        chain = ancestry(process, by_id)
        root = chain[-1]
        roots.add(root.span_id)
        assert root.service == "gateway", [f"{s.service}/{s.name}" for s in chain]
        assert root.kind == OtlpSpan.SPAN_KIND_SERVER
        assert not root.parent_id
        assert root.name.startswith("POST ")
        assert {s.trace_id for s in chain} == {root.trace_id}

        publish = chain[1]
        assert process.kind == OtlpSpan.SPAN_KIND_CONSUMER
        assert publish.kind == OtlpSpan.SPAN_KIND_PRODUCER
        assert publish.service == "contacts"
        assert publish.name == f"send {topic}"
        contacts_server = next(
            s for s in chain[2:] if s.service == "contacts" and s.kind == OtlpSpan.SPAN_KIND_SERVER
        )
        assert "/contacts" in contacts_server.name
        assert [s.service for s in chain if s.kind == OtlpSpan.SPAN_KIND_SERVER] == [
            "contacts",
            "gateway",
        ]

        consumed = process.attributes
        assert consumed["messaging.system"] == "kafka"
        assert consumed["messaging.operation.type"] == "process"
        assert consumed["messaging.destination.name"] == topic
        assert str(consumed["messaging.consumer.group.name"]).startswith(unique_name)
        assert "messaging.destination.partition.id" in consumed
        assert "messaging.kafka.offset" in consumed
        published = publish.attributes
        assert published["messaging.system"] == "kafka"
        assert published["messaging.operation.type"] == "send"
        assert published["messaging.destination.name"] == topic
        assert published["messaging.kafka.message.key"] == contact_id

    assert len(roots) == 1, "every consumer's processing continues the one merge request"
    groups = {
        processing_the_merge(s)[0].attributes["messaging.consumer.group.name"] for s in CONSUMERS
    }
    assert len(groups) == len(CONSUMERS), "each service reads in a consumer group of its own"

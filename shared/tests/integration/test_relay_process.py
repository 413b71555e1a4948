"""The relay as ops run it: `python -m crm_shared.relay`, configured by the environment."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from crm_devstack.processes import free_port
from crm_shared.eventstore import EventStore

from .helpers import METADATA, contact_created, create_topics, new_stream_id, read_topic

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_publishes_serves_metrics_and_stops_on_sigterm(
    store: EventStore, schema: str, kafka_bootstrap: str, database_url: str
) -> None:
    topic = f"crm.{schema}.events"
    await create_topics(kafka_bootstrap, topic)
    streams = [new_stream_id() for _ in range(5)]
    for stream in streams:
        await store.append(stream, 0, [contact_created(stream)], METADATA)
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "CRM_SERVICE_NAME": "contacts",
        "CRM_LOG_FORMAT": "json",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "crm_shared.relay", "--schema", schema, "--metrics-port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        records = await read_topic(kafka_bootstrap, topic, expected=5, timeout=60)
        assert len(records) == 5
        metrics = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        )
        assert f'crm_relay_published_events_total{{service="contacts",topic="{topic}"}} 5.0' in (
            metrics
        )
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.to_thread(process.wait, 30)
    assert returncode == 0

"""The dev stack starts a real broker and a real database, and they keep their data."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from crm_devstack.cli import main as cli
from crm_devstack.kafka import KafkaBroker
from crm_devstack.postgres import PostgresServer
from crm_devstack.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"))
    broker.start()
    yield broker
    broker.stop()


async def produce(bootstrap: str, topic: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=b"k")
    finally:
        await producer.stop()


async def consume_all(bootstrap: str, topic: str, group: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        await consumer.commit()
        return [record.value for records in batch.values() for record in records]
    finally:
        await consumer.stop()


async def test_messages_survive_a_broker_restart_on_the_same_port(broker: KafkaBroker) -> None:
    await produce(broker.bootstrap_servers, "devstack.restart", b"before")
    port = broker.port
    await asyncio.to_thread(broker.stop)
    assert not broker.is_running()
    await asyncio.to_thread(broker.start)
    assert broker.port == port
    assert await consume_all(broker.bootstrap_servers, "devstack.restart", "g1") == [b"before"]


async def test_a_killed_broker_starts_again(broker: KafkaBroker) -> None:
    await produce(broker.bootstrap_servers, "devstack.kill", b"durable")
    await asyncio.to_thread(broker.kill)
    await asyncio.to_thread(broker.start)
    assert await consume_all(broker.bootstrap_servers, "devstack.kill", "g2") == [b"durable"]


async def test_consumer_groups_commit_and_resume(broker: KafkaBroker) -> None:
    await produce(broker.bootstrap_servers, "devstack.groups", b"one")
    assert await consume_all(broker.bootstrap_servers, "devstack.groups", "g3") == [b"one"]
    await produce(broker.bootstrap_servers, "devstack.groups", b"two")
    assert await consume_all(broker.bootstrap_servers, "devstack.groups", "g3") == [b"two"]


async def test_postgres_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path / "pg")
    await asyncio.to_thread(server.start)
    try:
        connection = await asyncpg.connect(server.url)
        await connection.execute("CREATE TABLE kept (value text); INSERT INTO kept VALUES ('x')")
        await connection.close()
        await asyncio.to_thread(server.stop)
        assert not server.is_running()
        await asyncio.to_thread(server.start)
        connection = await asyncpg.connect(server.url)
        assert await connection.fetchval("SELECT value FROM kept") == "x"
        await connection.close()
    finally:
        await asyncio.to_thread(server.stop)


def test_the_environment_names_infrastructure_to_use_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "kafka.example:9092")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/crm")
    stack = Stack(tmp_path)
    endpoints = stack.up()  # starts nothing
    assert endpoints.kafka_bootstrap_servers == "kafka.example:9092"
    assert endpoints.database_url == "postgresql://u@db.example/crm"
    assert not stack.kafka.is_running()
    assert not stack.postgres.is_running()


def test_status_fails_when_something_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr("crm_devstack.stack.default_state_dir", lambda: tmp_path)
    assert cli(["status"]) == 3
    assert "stopped" in capsys.readouterr().out

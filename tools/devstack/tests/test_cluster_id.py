"""KRaft cluster ids are ones Kafka's storage tool accepts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from crm_devstack import kafka


def test_a_cluster_id_never_starts_with_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    # 0xF8 encodes to "-" as the first URL-safe base64 character.
    draws: Iterator[uuid.UUID] = iter(
        [uuid.UUID(bytes=b"\xf8" + b"\x00" * 15), uuid.UUID(bytes=b"\x01" * 16)]
    )
    monkeypatch.setattr(kafka.uuid, "uuid4", lambda: next(draws))

    cluster_id = kafka._cluster_id()

    assert not cluster_id.startswith("-")
    assert cluster_id == "AQEBAQEBAQEBAQEBAQEBAQ"


def test_a_cluster_id_is_22_url_safe_characters() -> None:
    cluster_id = kafka._cluster_id()

    assert len(cluster_id) == 22
    assert set(cluster_id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )

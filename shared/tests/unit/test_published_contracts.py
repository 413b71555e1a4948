"""Published event schemas only ever grow: every contract stays compatible with its file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm_shared.contracts import contacts, sales, support
from crm_shared.events import EventRegistry
from crm_shared.events.schemas import check_registry_against_published

PUBLISHED = Path(__file__).parents[2] / "schemas"
REGISTRIES = {
    "contacts": contacts.REGISTRY,
    "sales": sales.REGISTRY,
    "support": support.REGISTRY,
}


@pytest.mark.parametrize("service", sorted(REGISTRIES))
def test_contracts_are_compatible_with_their_published_schemas(service: str) -> None:
    registry: EventRegistry = REGISTRIES[service]
    published = {
        path
        for contract in registry
        for path in [PUBLISHED / contract.event_type / f"v{contract.schema_version}.json"]
    }
    assert all(path.exists() for path in published), (
        "publish: python -m crm_shared.events.schemas write"
    )
    problems = [
        p
        for p in check_registry_against_published(registry, PUBLISHED)
        if p.split(" ")[0].split(".")[1] == service
    ]
    assert problems == []

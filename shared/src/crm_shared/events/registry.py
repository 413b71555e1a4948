"""The catalogue of a service's event types: resolve, upcast, decode and encode.

Built explicitly from a list of contract classes, never filled as a side effect of imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from crm_shared.events.contracts import EventContract
from crm_shared.events.envelope import EventEnvelope, parse_dataschema

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of version N of an event type into the data of version N + 1."""


class UnknownEventType(LookupError):
    pass


class MissingUpcaster(LookupError):
    pass


class EventRegistry:
    def __init__(
        self,
        contracts: Iterable[type[EventContract]],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        """``upcasters[(type, n)]`` turns version ``n`` data into version ``n + 1`` data."""
        self._contracts: dict[tuple[str, int], type[EventContract]] = {}
        for contract in contracts:
            if contract.key() in self._contracts:
                raise ValueError(f"{contract.key()} is registered twice")
            self._contracts[contract.key()] = contract
        self._upcasters = dict(upcasters or {})
        self._latest: dict[str, int] = {}
        for event_type, version in self._contracts:
            self._latest[event_type] = max(version, self._latest.get(event_type, 0))
        for event_type, latest in self._latest.items():
            for version in range(1, latest):
                if (event_type, version) not in self._upcasters:
                    raise MissingUpcaster(f"{event_type}: no upcaster from v{version}")

    def __iter__(self) -> Any:
        return iter(sorted(self._contracts.values(), key=lambda c: c.key()))

    def __contains__(self, key: object) -> bool:
        return key in self._contracts

    def resolve(self, event_type: str, version: int) -> type[EventContract]:
        try:
            return self._contracts[(event_type, version)]
        except KeyError:
            raise UnknownEventType(f"{event_type} v{version} is not registered") from None

    def latest(self, event_type: str) -> type[EventContract]:
        if event_type not in self._latest:
            raise UnknownEventType(f"{event_type} is not registered")
        return self._contracts[(event_type, self._latest[event_type])]

    def decode_data(self, event_type: str, version: int, data: dict[str, Any]) -> EventContract:
        """The data of any known version, upcast to and validated as the latest version."""
        latest = self.latest(event_type).schema_version
        if version > latest:
            # A newer version is a breaking change by definition: refuse rather than misread;
            # the event waits in the dead-letter topic until this consumer is upgraded.
            raise UnknownEventType(f"{event_type} v{version} is newer than v{latest}")
        for step in range(version, latest):
            data = self._upcasters[(event_type, step)](dict(data))
        return self.latest(event_type).model_validate(data)

    def decode(self, envelope: EventEnvelope) -> EventContract:
        event_type, version = parse_dataschema(envelope.dataschema)
        if event_type != envelope.type:
            raise ValueError(f"dataschema names {event_type}, the event is {envelope.type}")
        return self.decode_data(event_type, version, envelope.data)

    @staticmethod
    def encode(contract: EventContract) -> tuple[str, int, dict[str, Any]]:
        """The type, version and JSON data of an event to append."""
        return contract.event_type, contract.schema_version, contract.model_dump(mode="json")

"""The catalogue of a service's event types: resolve, upcast, decode and encode.

Built explicitly, once, in the module that owns the contracts; never filled as a side effect
of imports::

    REGISTRY = EventRegistry(
        [ContactCreated, ContactCreatedV2, ContactArchived],
        upcasters={ContactCreated: split_name},  # v1 data -> v2 data
    )

Every version from 1 to the newest stays registered (events are immutable: old ones are read
forever), and every version but the newest has an upcaster to the next one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from crm_shared.events.contracts import EventContract
from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.errors import (
    InvalidEventData,
    InvalidRegistry,
    MissingUpcaster,
    UnknownEventType,
    UnknownSchemaVersion,
)
from crm_shared.events.naming import parse_dataschema

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the data of version N of an event type into the data of version N + 1.

It gets its own deep copy of the data: it may change and return it.
"""

UpcasterKey = type[EventContract] | tuple[str, int]
"""The version an upcaster starts from: its contract class, or ``(event_type, version)``."""


class EventRegistry:
    """The contracts a service produces or reads, every version, with the upcasters between."""

    def __init__(
        self,
        contracts: Iterable[type[EventContract]],
        upcasters: Mapping[UpcasterKey, Upcaster] | None = None,
    ) -> None:
        """``upcasters[ContactCreated]`` (or ``[(type, n)]``) turns v``n`` data into v``n + 1``."""
        self._contracts: dict[tuple[str, int], type[EventContract]] = {}
        for contract in contracts:
            self._add(contract)
        self._latest: dict[str, int] = {}
        for event_type, version in self._contracts:
            self._latest[event_type] = max(version, self._latest.get(event_type, 0))
        self._upcasters = {_upcaster_key(key): fn for key, fn in (upcasters or {}).items()}
        self._check_versions()

    def _add(self, contract: type[EventContract]) -> None:
        if not (isinstance(contract, type) and issubclass(contract, EventContract)):
            raise InvalidRegistry(f"{contract!r} is not an EventContract class")
        if not contract.is_concrete():
            raise InvalidRegistry(f"{contract.__name__} declares no event_type/schema_version")
        if contract.key() in self._contracts:
            other = self._contracts[contract.key()].__name__
            raise InvalidRegistry(
                f"{contract.__name__} and {other} are both {contract.event_type} "
                f"v{contract.schema_version}"
            )
        self._contracts[contract.key()] = contract

    def _check_versions(self) -> None:
        for event_type, latest in self._latest.items():
            gaps = [v for v in range(1, latest) if (event_type, v) not in self._contracts]
            if gaps:
                raise InvalidRegistry(
                    f"{event_type}: versions {gaps} are not registered; every version up to "
                    f"v{latest} must stay (stored events of those versions are read forever)"
                )
            for version in range(1, latest):
                if (event_type, version) not in self._upcasters:
                    raise MissingUpcaster(
                        f"{event_type}: no upcaster from v{version} to v{version + 1}"
                    )
        for event_type, version in self._upcasters:
            if version >= self._latest.get(event_type, 0):
                raise InvalidRegistry(
                    f"upcaster from {event_type} v{version}: no v{version + 1} is registered"
                )

    def __iter__(self) -> Iterator[type[EventContract]]:
        """Every registered contract, by event type then version."""
        return iter([self._contracts[key] for key in sorted(self._contracts)])

    def __len__(self) -> int:
        return len(self._contracts)

    def __contains__(self, key: object) -> bool:
        """Whether ``(event_type, version)`` is registered."""
        return key in self._contracts

    def event_types(self) -> list[str]:
        return sorted(self._latest)

    def versions(self, event_type: str) -> list[int]:
        return list(range(1, self._latest_version(event_type) + 1))

    def resolve(self, event_type: str, version: int) -> type[EventContract]:
        """The contract class of one version of an event type."""
        try:
            return self._contracts[(event_type, version)]
        except KeyError:
            latest = self._latest.get(event_type)
            if latest is not None and version > latest:
                raise UnknownSchemaVersion(
                    f"{event_type} v{version} is newer than v{latest}, the newest this reader "
                    "knows: upgrade it"
                ) from None
            raise UnknownEventType(f"{event_type} v{version} is not registered") from None

    def latest(self, event_type: str) -> type[EventContract]:
        """The contract class of the newest version of an event type."""
        return self._contracts[(event_type, self._latest_version(event_type))]

    def upcast(self, event_type: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        """The data of ``version`` turned into data of the newest version (not validated)."""
        self.resolve(event_type, version)
        upcast = copy.deepcopy(dict(data))
        for step in range(version, self._latest[event_type]):
            upcast = self._upcasters[(event_type, step)](upcast)
        return upcast

    def decode_data(self, event_type: str, version: int, data: Mapping[str, Any]) -> EventContract:
        """The data of any registered version, upcast to and validated as the newest version.

        A version newer than the newest registered one raises ``UnknownSchemaVersion``: a new
        version is a breaking change by definition, so the reader refuses rather than misread
        (the event waits in the dead-letter topic until this reader is upgraded).
        """
        latest = self.latest(event_type)
        upcast = self.upcast(event_type, version, data)
        try:
            return latest.model_validate(upcast)
        except ValidationError as error:
            raise InvalidEventData(
                f"{event_type} v{version} data read as v{latest.schema_version}: {error}"
            ) from error

    def decode(self, envelope: EventEnvelope) -> EventContract:
        """The envelope's data as the newest version of its type (``dataschema`` says which)."""
        event_type, version = parse_dataschema(envelope.dataschema)
        if event_type != envelope.type:  # the envelope refuses this; kept for model_construct
            raise InvalidEventData(
                f"event {envelope.id}: dataschema names {event_type}, the type is {envelope.type}"
            )
        return self.decode_data(event_type, version, envelope.data)

    def encode_data(self, contract: EventContract) -> tuple[str, int, dict[str, Any]]:
        """The type, version and JSON data of an event to append.

        The contract must be registered, not necessarily the newest version: a producer keeps
        writing the old version until every reader knows the new one.
        """
        registered = self._contracts.get(type(contract).key())
        if registered is not type(contract):
            raise UnknownEventType(
                f"{type(contract).__name__} ({contract.event_type} v{contract.schema_version}) "
                "is not the registered contract of its type and version"
            )
        return (
            contract.event_type,
            contract.schema_version,
            contract.model_dump(mode="json", by_alias=True),
        )

    def encode(self, contract: EventContract) -> tuple[str, int, dict[str, Any]]:
        """Same as ``encode_data``."""
        return self.encode_data(contract)

    def _latest_version(self, event_type: str) -> int:
        try:
            return self._latest[event_type]
        except KeyError:
            raise UnknownEventType(f"{event_type} is not registered") from None


def _upcaster_key(key: UpcasterKey) -> tuple[str, int]:
    if isinstance(key, tuple):
        return key
    return key.key()

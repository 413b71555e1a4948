"""Typed event data: one explicit pydantic class per event type and schema version.

    class EmailAddress(ContractModel):  # a value object nested in event data
        address: str

    class ContactCreated(EventContract):
        event_type = "crm.contacts.contact.created"
        schema_version = 1

        contact_id: str
        email: EmailAddress | None = None

``event_type`` and ``schema_version`` are class variables (the base declares them as
``ClassVar``, so the short spelling above is typed; ``event_type: ClassVar[str] = ...`` works
too). They are checked when the class is defined. A class that declares neither is abstract
(a base for a service's contracts); a contract declares both.

Unknown fields, decided per direction:

- Reading is tolerant. ``model_validate``/``model_validate_json`` (what the registry, FastStream
  and FastAPI use) ignore fields the class does not declare, at every nesting level, so a
  consumer built against an older contract reads data from a newer producer (additive
  evolution). For the same reason the published JSON Schema stays open: no
  ``additionalProperties: false``.
- Producing is strict. Keyword construction (``ContactCreated(contact_id=..., emial=...)``)
  refuses undeclared fields, nested dicts included, with pydantic's ``extra_forbidden`` error:
  a misspelt field is never dropped silently on its way into the log.

Evolution is additive: a new optional field keeps the version; anything else is a new class
with the next version and an upcaster from the previous one (see ``EventRegistry``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from crm_shared.events.naming import EVENT_TYPE, dataschema_for


class ContractModel(BaseModel):
    """Frozen, JSON-only data: tolerant when read, strict when built by keyword."""

    model_config = ConfigDict(frozen=True, extra="ignore", allow_inf_nan=False)

    def __init__(self, /, **data: Any) -> None:
        __tracebackhide__ = True
        self.__pydantic_validator__.validate_python(data, self_instance=self, extra="forbid")

    # Tells pydantic that this __init__ only validates (RootModel's does the same): then
    # ``model_validate`` validates directly, with the config's tolerant ``extra="ignore"``,
    # instead of calling __init__. The tests pin both behaviours.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


class EventContract(ContractModel):
    """The data of one event type at one schema version."""

    event_type: ClassVar[str]
    schema_version: ClassVar[int]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        event_type = getattr(cls, "event_type", None)
        version = getattr(cls, "schema_version", None)
        if event_type is None and version is None:
            return  # abstract: a base for contracts
        if event_type is None or version is None:
            raise TypeError(f"{cls.__name__}: declare both event_type and schema_version")
        if not isinstance(event_type, str) or not EVENT_TYPE.match(event_type):
            raise TypeError(
                f"{cls.__name__}: event_type {event_type!r} breaks the naming "
                "crm.<service>.<entity>.<verb_past_tense>"
            )
        if type(version) is not int or version < 1:
            raise TypeError(f"{cls.__name__}: schema_version must be an int >= 1")

    @classmethod
    def is_concrete(cls) -> bool:
        """Whether the class names an event type and version (not an abstract base)."""
        return getattr(cls, "event_type", None) is not None

    @classmethod
    def key(cls) -> tuple[str, int]:
        """``(event_type, schema_version)``."""
        return cls.event_type, cls.schema_version

    @classmethod
    def dataschema(cls) -> str:
        """The URN of this version's schema: the events' ``dataschema`` and the JSON ``$id``."""
        return dataschema_for(cls.event_type, cls.schema_version)

"""Typed event data: one explicit pydantic class per event type and schema version.

    class ContactCreated(EventContract):
        event_type: ClassVar[str] = "crm.contacts.contact.created"
        schema_version: ClassVar[int] = 1

        contact_id: str
        name: str

Evolution is additive: a new optional field keeps the version; anything else is a new class
with the next version and an upcaster from the previous one (see ``EventRegistry``). Readers
ignore fields they do not know, so an old consumer reads data written by a newer producer.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from crm_shared.events.envelope import EVENT_TYPE


class EventContract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: ClassVar[str]
    schema_version: ClassVar[int]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if getattr(cls, "__abstract_contract__", False) or "event_type" not in cls.__dict__:
            return
        if not EVENT_TYPE.match(cls.event_type):
            raise TypeError(f"{cls.__name__}: event_type {cls.event_type!r} breaks the naming")
        if not isinstance(cls.__dict__.get("schema_version"), int) or cls.schema_version < 1:
            raise TypeError(f"{cls.__name__}: schema_version must be an int >= 1")

    @classmethod
    def key(cls) -> tuple[str, int]:
        return cls.event_type, cls.schema_version

"""Data keys of data subjects, kept beside the log (never in it), wrapped by the service's KEK.

The tables live in the service's schema (alembic branch ``privacy``: pass ``PRIVACY_MIGRATIONS``
to ``upgrade``). Every call takes the connection of the caller's unit of work, so a key is
created with the subject's first event and destroyed with its erasure event, atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.eventstore.migrate import validate_schema_name
from crm_shared.eventstore.requirements import SUBJECT_ERASED, requirement
from crm_shared.privacy.sealing import KeyEncryptionKey, SealError, SubjectCipher, new_data_key
from crm_shared.sql import Reads, sql

if TYPE_CHECKING:
    from crm_shared.eventstore import UnitOfWork

PRIVACY_MIGRATIONS = Path(__file__).parent / "migrations" / "versions"


@dataclass(frozen=True)
class NewSubjectKey:
    """A new subject's data key and the INSERT (``:name`` parameters) that keeps it, for a
    caller to run inside a statement of its own with the subject's first rows: the statement
    names the INSERT's result (a WITH query) and selects ``requirement`` of that name. Run
    alone, the INSERT returns a row if it kept the key: pass their number to ``confirm``."""

    subject_id: str
    key: bytes
    statement: str
    params: dict[str, Any]
    schema: str

    def requirement(self, kept: str) -> str:
        """That the WITH query ``kept`` (this INSERT) kept the key; else the statement is
        ``Refused`` (``SUBJECT_ERASED``): answer it with ``erased``."""
        return requirement(self.schema, f"(SELECT count(*) FROM {kept}) = 1", SUBJECT_ERASED)

    def confirm(self, stored: int) -> None:
        """Raise ``SealError`` when the key was refused: the subject was erased."""
        if stored != 1:
            raise self.erased()

    def erased(self) -> SealError:
        return SealError(f"{self.subject_id} was erased: it cannot be given a new key")


class SubjectKeyStore:
    def __init__(self, schema: str, kek: KeyEncryptionKey) -> None:
        self.schema = validate_schema_name(schema)
        self.kek = kek
        self._insert_key = (
            f'INSERT INTO "{self.schema}".subject_keys (subject_id, tenant_id, wrapped_key)'
            " SELECT :key_subject, :key_tenant, :key_wrapped WHERE NOT EXISTS"
            f' (SELECT 1 FROM "{self.schema}".erased_subjects WHERE subject_id = :key_subject)'
            " RETURNING subject_id"
        )

    def new_key(self, tenant_id: str, subject_id: str) -> NewSubjectKey:
        """A data key for a new subject, not kept yet (see ``NewSubjectKey``)."""
        key = new_data_key()
        return NewSubjectKey(
            subject_id,
            key,
            self._insert_key,
            {
                "key_subject": subject_id,
                "key_tenant": tenant_id,
                "key_wrapped": self.kek.wrap(subject_id, key),
            },
            self.schema,
        )

    async def create(self, uow: UnitOfWork, tenant_id: str, subject_id: str) -> bytes:
        """A new data key for a new subject, kept in ``uow`` (refused for an erased one)."""
        new = self.new_key(tenant_id, subject_id)
        new.confirm(await uow.execute(new.statement, new.params))
        return new.key

    async def store_many(
        self, connection: AsyncConnection, tenant_id: str, keys: dict[str, bytes]
    ) -> None:
        """Keep the data keys of many new subjects, in one statement (bulk imports)."""
        if not keys:
            return
        result = await connection.execute(
            sql(
                f'INSERT INTO "{self.schema}".subject_keys (subject_id, tenant_id, wrapped_key)'
                " SELECT k.id, :tenant, k.wrapped FROM unnest(CAST(:ids AS text[]),"
                " CAST(:wrapped AS bytea[])) AS k(id, wrapped) WHERE NOT EXISTS"
                f' (SELECT 1 FROM "{self.schema}".erased_subjects e WHERE e.subject_id = k.id)'
            ),
            {
                "tenant": tenant_id,
                "ids": list(keys),
                "wrapped": [self.kek.wrap(i, key) for i, key in keys.items()],
            },
        )
        if result.rowcount != len(keys):
            raise SealError("an erased subject cannot be given a new key")

    async def cipher(self, reads: Reads, subject_id: str) -> SubjectCipher:
        """The subject's cipher; keyless (opens nothing) when the subject was erased.
        ``reads``: a command's unit of work, or ``DriverReads`` for a query."""
        return (await self.ciphers(reads, [subject_id]))[subject_id]

    async def ciphers(self, reads: Reads, subject_ids: Iterable[str]) -> dict[str, SubjectCipher]:
        """The cipher of each subject: keyed, erased, or keyless (never given a key)."""
        ids = list(dict.fromkeys(subject_ids))
        rows = await reads.fetch(
            f'SELECT subject_id, wrapped_key, NULL AS erased FROM "{self.schema}".subject_keys'
            " WHERE subject_id = ANY(:ids) UNION ALL"
            f' SELECT subject_id, NULL, true FROM "{self.schema}".erased_subjects'
            " WHERE subject_id = ANY(:ids)",
            {"ids": ids},
        )
        ciphers = {i: SubjectCipher(i, None) for i in ids}
        for row in rows:
            subject_id = row["subject_id"]
            if row["erased"]:
                ciphers[subject_id] = SubjectCipher(subject_id, None, erased=True)
            else:
                key = self.kek.unwrap(subject_id, row["wrapped_key"])
                ciphers[subject_id] = SubjectCipher(subject_id, key)
        return ciphers

    async def is_erased(self, connection: AsyncConnection, subject_id: str) -> bool:
        result = await connection.execute(
            sql(f'SELECT 1 FROM "{self.schema}".erased_subjects WHERE subject_id = :id'),
            {"id": subject_id},
        )
        return result.first() is not None

    async def destroy(self, connection: AsyncConnection, tenant_id: str, subject_id: str) -> None:
        """Forget the subject's key for good and leave a tombstone saying so."""
        await connection.execute(
            sql(f'DELETE FROM "{self.schema}".subject_keys WHERE subject_id = :id'),
            {"id": subject_id},
        )
        await connection.execute(
            sql(
                f'INSERT INTO "{self.schema}".erased_subjects (subject_id, tenant_id)'
                " VALUES (:id, :tenant) ON CONFLICT DO NOTHING"
            ),
            {"id": subject_id, "tenant": tenant_id},
        )

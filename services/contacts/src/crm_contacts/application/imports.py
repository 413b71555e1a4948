"""CSV imports: upload (streamed into the database), then a worker that applies the rows in
batches, each batch one transaction with its progress, resumable after a crash."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args

from crm_contacts.adapters import bulk_read_model, imports_store
from crm_contacts.adapters.custom_fields import load_catalogue
from crm_contacts.adapters.imports_store import ImportJob
from crm_contacts.application.csv_stream import CsvRows
from crm_contacts.application.handlers import ContactHandlers
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.custom_fields import FieldCatalogue
from crm_contacts.domain.errors import InvalidValue
from crm_contacts.domain.imports import Mapping, Mode, OnDuplicate, contact_id_for
from crm_shared.caller import Caller
from crm_shared.contracts.contacts import REGISTRY
from crm_shared.errors import NotFound, PlatformError
from crm_shared.eventstore import EventStore, UnitOfWork, new_events
from crm_shared.privacy import SubjectCipher, new_data_key
from crm_shared.privacy.keystore import SubjectKeyStore

log = logging.getLogger(__name__)

CHUNK_BYTES = 1024 * 1024
BATCH_ROWS = 1000
LEASE_SECONDS = 60.0


class LeaseLost(Exception):
    """Another worker took the job over (this one was presumed dead): stop, roll back."""


@dataclass
class BatchOutcome:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(imports_store.COUNTS, 0))
    errors: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Parsed:
    rows: list[tuple[int, str, Contact, bytes, dict[str, Any]]] = field(default_factory=list)
    """(line, contact id, the new contact, its key, the row's details)."""
    outcome: BatchOutcome = field(default_factory=BatchOutcome)


class ImportHandlers:
    def __init__(
        self,
        store: EventStore,
        keys: SubjectKeyStore,
        contacts: ContactHandlers,
        default_region: str | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.contacts = contacts
        self.default_region = default_region
        self.worker_id = worker_id or f"importer-{uuid.uuid4()}"

    async def start(
        self,
        caller: Caller,
        upload: AsyncIterator[bytes],
        raw_mapping: object,
        mode: str,
        on_duplicate: str,
    ) -> str:
        """Check the mapping against the header, keep the file in chunks, queue the job."""
        mapping = Mapping.parse(raw_mapping)
        if mode not in get_args(Mode):
            raise InvalidValue("mode", "dry_run or apply")
        if on_duplicate not in get_args(OnDuplicate):
            raise InvalidValue("on_duplicate", "skip, update or create")
        import_id = str(uuid.uuid4())
        digest = hashlib.sha256()
        size = 0
        async with self.store.unit_of_work() as uow:
            seq = 0
            pending = b""
            async for data in upload:
                if seq == 0 and size == 0:
                    await _check_header(mapping, data)
                digest.update(data)
                size += len(data)
                pending += data
                while len(pending) >= CHUNK_BYTES:
                    await imports_store.add_chunk(
                        uow.connection, self.store.schema, import_id, seq, pending[:CHUNK_BYTES]
                    )
                    pending = pending[CHUNK_BYTES:]
                    seq += 1
            if size == 0:
                raise InvalidValue("file", "the file is empty")
            if pending:
                await imports_store.add_chunk(
                    uow.connection, self.store.schema, import_id, seq, pending
                )
            await imports_store.add_job(
                uow.connection,
                self.store.schema,
                import_id,
                caller.tenant_id,
                caller.actor,
                digest.hexdigest(),
                size,
                mapping.columns,
                mode,
                on_duplicate,
            )
        return import_id

    async def job(self, tenant_id: str, import_id: str) -> ImportJob:
        async with self.store.engine.connect() as connection:
            found = await imports_store.get_job(connection, self.store.schema, tenant_id, import_id)
        if found is None:
            raise NotFound(f"no import {import_id}")
        return found

    async def errors(
        self, tenant_id: str, import_id: str, after_line: int, limit: int
    ) -> list[tuple[int, str, str]]:
        await self.job(tenant_id, import_id)
        async with self.store.engine.connect() as connection:
            return await imports_store.errors_page(
                connection, self.store.schema, import_id, after_line, limit
            )

    async def run_once(self) -> bool:
        """Take the oldest waiting (or abandoned) job and run it to its end."""
        async with self.store.engine.begin() as connection:
            job = await imports_store.claim(
                connection, self.store.schema, self.worker_id, LEASE_SECONDS
            )
        if job is None:
            return False
        try:
            await self._run(job)
        except LeaseLost:
            log.warning("import %s was taken over by another worker", job.import_id)
            return True
        except Exception as error:
            if isinstance(error, PlatformError | UnicodeDecodeError | ValueError | csv.Error):
                await self._finish(job, "failed", str(error))
                return True
            raise  # the database or the broker: the lease runs out, a worker resumes it
        await self._finish(job, "completed", None)
        return True

    async def _finish(self, job: ImportJob, status: str, problem: str | None) -> None:
        async with self.store.engine.begin() as connection:
            await imports_store.finish(
                connection, self.store.schema, job.import_id, status, problem
            )

    async def _run(self, job: ImportJob) -> None:
        mapping = Mapping(job.mapping)
        rows = CsvRows(imports_store.chunks(self.store.engine, self.store.schema, job.import_id))
        header = await rows.read_header()
        mapping.check_header(header)
        async with self.store.unit_of_work() as uow:
            catalogue, _ = await load_catalogue(uow, job.tenant_id)
        done = 0
        batch: list[tuple[int, list[str]]] = []
        # While one batch's transaction runs in PostgreSQL, the next batch is parsed here:
        # batches still commit one after the other, in file order.
        writing: asyncio.Task[None] | None = None
        try:
            async for line, values in rows.rows():
                done += 1
                if done <= job.rows_done:
                    continue  # applied before a crash: its batch committed with its progress
                batch.append((line, values))
                if len(batch) == BATCH_ROWS:
                    parsed = await self._parse(job, mapping, header, catalogue, batch)
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self._apply(job, parsed, done))
                    batch = []
            parsed = await self._parse(job, mapping, header, catalogue, batch)
            if writing is not None:
                await writing
            writing = None
            await self._apply(job, parsed, done)
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(BaseException):
                    await writing

    async def _parse(
        self,
        job: ImportJob,
        mapping: Mapping,
        header: list[str],
        catalogue: FieldCatalogue,
        batch: list[tuple[int, list[str]]],
    ) -> Parsed:
        """Each row as a new contact (sealed with its own new key), or its error."""
        parsed = Parsed()
        for index, (line, values) in enumerate(batch):
            if index % 100 == 99:
                await asyncio.sleep(0)  # let the previous batch's transaction move on
            contact_id = contact_id_for(job.tenant_id, job.file_sha256, line)
            try:
                row_details = mapping.details(header, values)
                row_details.custom_fields = catalogue.from_text(row_details.custom_fields)
                key = new_data_key()
                contact = Contact.create(
                    contact_id,
                    row_details,
                    self.default_region,
                    catalogue,
                    cipher=SubjectCipher(contact_id, key),
                )
            except InvalidValue as error:
                parsed.outcome.errors.append((line, error.field, error.reason))
                parsed.outcome.counts["failed"] += 1
                continue
            parsed.rows.append((line, contact_id, contact, key, row_details.__dict__))
        return parsed

    async def _apply(self, job: ImportJob, parsed: Parsed, done: int) -> None:
        """Decide each parsed row against the database, write the batch and its progress, in
        one transaction."""
        caller = Caller(job.tenant_id, job.actor, job.import_id)
        outcome = parsed.outcome
        created: list[tuple[Contact, bytes]] = []
        updates: list[tuple[int, str, dict[str, Any]]] = []
        parsed_rows = parsed.rows
        async with self.store.unit_of_work() as uow:
            schema = self.store.schema
            existing = await bulk_read_model.existing_ids(
                uow.connection, schema, job.tenant_id, [p[1] for p in parsed_rows]
            )
            emails = sorted({e["address"] for p in parsed_rows for e in p[2].state["emails"]})
            phones = sorted({n["number"] for p in parsed_rows for n in p[2].state["phones"]})
            owners = await bulk_read_model.owners_of_identifiers(
                uow.connection, schema, job.tenant_id, emails, phones
            )
            for line, contact_id, contact, key, fields in parsed_rows:
                if contact_id in existing:
                    outcome.counts["unchanged"] += 1
                    continue
                identifiers = [("email", e["address"]) for e in contact.state["emails"]]
                identifiers += [("phone", n["number"]) for n in contact.state["phones"]]
                duplicate = next((owners[i] for i in identifiers if i in owners), None)
                if duplicate is None or job.on_duplicate == "create":
                    created.append((contact, key))
                    outcome.counts["created"] += 1
                    for identifier in identifiers:
                        owners.setdefault(identifier, contact_id)  # a later row of this file
                elif job.on_duplicate == "skip":
                    outcome.counts["skipped"] += 1
                else:
                    updates.append((line, duplicate, fields))
            if job.mode == "apply":
                await self._write(uow, caller, created, updates, outcome)
            else:
                outcome.counts["updated"] += len(updates)
            await imports_store.add_errors(uow.connection, schema, job.import_id, outcome.errors)
            kept = await imports_store.record_progress(
                uow.connection,
                schema,
                job.import_id,
                self.worker_id,
                done,
                outcome.counts,
                LEASE_SECONDS,
            )
            if not kept:
                raise LeaseLost(job.import_id)

    async def _write(
        self,
        uow: UnitOfWork,
        caller: Caller,
        created: list[tuple[Contact, bytes]],
        updates: list[tuple[int, str, dict[str, Any]]],
        outcome: BatchOutcome,
    ) -> None:
        schema = self.store.schema
        now = datetime.now(UTC)
        await self.keys.store_many(
            uow.connection, caller.tenant_id, {c.contact_id: key for c, key in created}
        )
        streams = [
            (c.contact_id, new_events(REGISTRY, c.pending, c.contact_id, c.contact_id, now))
            for c, _ in created
        ]
        await uow.append_new_streams(streams, caller.event_metadata())
        for contact, _ in created:
            contact.version = len(contact.pending)
            contact.pending.clear()
        await bulk_read_model.insert_new_contacts(
            uow.connection, schema, caller.tenant_id, [c for c, _ in created], now
        )
        for line, contact_id, details in updates:
            contact = await self.contacts.load(uow, caller, contact_id)
            version = contact.version
            changes = {
                k: v for k, v in details.items() if v not in (None, [], {}) and k != "custom_fields"
            }
            if details.get("custom_fields"):
                changes["custom_fields"] = details["custom_fields"]
            try:
                catalogue, _ = await load_catalogue(uow, caller.tenant_id)
                contact.update(changes, self.default_region, catalogue)
            except PlatformError as error:
                field_name = getattr(error, "field", "row")
                outcome.errors.append((line, field_name, error.detail))
                outcome.counts["failed"] += 1
                continue
            if contact.pending:
                await self.contacts.save(uow, caller, contact, version)
                outcome.counts["updated"] += 1
            else:
                outcome.counts["unchanged"] += 1


async def _check_header(mapping: Mapping, first_bytes: bytes) -> None:
    async def one() -> AsyncIterator[bytes]:
        yield first_bytes

    try:
        header = await CsvRows(one()).read_header()
    except (UnicodeDecodeError, ValueError):
        raise InvalidValue("file", "not a UTF-8 CSV file with a header row") from None
    mapping.check_header(header)


async def run_importer(handlers: ImportHandlers, interval_s: float, stop: asyncio.Event) -> None:
    """Run waiting imports one after another until ``stop``; look again every ``interval_s``."""
    while not stop.is_set():
        try:
            worked = await handlers.run_once()
        except Exception:  # the database may be away: the job's lease lets another resume it
            log.exception("an import failed to run; it will be resumed")
            worked = False
        if not worked:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)

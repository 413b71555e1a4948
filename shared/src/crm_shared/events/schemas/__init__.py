"""JSON Schemas of the event contracts, and the rules that keep published ones compatible.

Other systems read ``shared/schemas/<event type>/v<N>.json``. Once published, a version's
schema may only grow (see ``compatibility``); anything else is a new version with an upcaster.

    python -m crm_shared.events.schemas write <module:registry> <directory>
    python -m crm_shared.events.schemas check <module:registry> <directory> [--service NAME]
"""

from crm_shared.events.schemas.cli import load_registry, main
from crm_shared.events.schemas.compatibility import compatibility_problems
from crm_shared.events.schemas.export import (
    DRAFT_2020_12,
    json_schema,
    render,
    schema_path,
    write_published_schemas,
)
from crm_shared.events.schemas.published import (
    PublishedSchema,
    check_registry_against_published,
    published_schemas,
    unpublished,
)

__all__ = [
    "DRAFT_2020_12",
    "PublishedSchema",
    "check_registry_against_published",
    "compatibility_problems",
    "json_schema",
    "load_registry",
    "main",
    "published_schemas",
    "render",
    "schema_path",
    "unpublished",
    "write_published_schemas",
]

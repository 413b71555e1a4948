"""``python -m crm_shared.events.schemas write|check <module:attribute> <directory>``.

``write`` publishes the JSON Schema of every registered contract version, after checking that
no change breaks what is already published (it then refuses and writes nothing). ``check``
only checks; run it in a service's tests or CI. The exit status is 0 when all is well, 1 on
problems, 2 on a usage error (such as a target that is not an ``EventRegistry``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from crm_shared.events.registry import EventRegistry
from crm_shared.events.schemas.export import write_published_schemas
from crm_shared.events.schemas.published import check_registry_against_published, unpublished


def load_registry(target: str) -> EventRegistry:
    """The ``EventRegistry`` at ``module:attribute`` (the attribute defaults to ``REGISTRY``)."""
    module_name, _, attribute = target.partition(":")
    try:
        registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    except (ImportError, AttributeError) as error:
        raise LookupError(f"cannot load {target}: {error}") from error
    if not isinstance(registry, EventRegistry):
        raise LookupError(f"{target} is a {type(registry).__name__}, not an EventRegistry")
    return registry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crm_shared.events.schemas",
        description="Publish and check the JSON Schemas of event contracts.",
    )
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("registry", help="module:attribute of an EventRegistry")
    parser.add_argument("directory", type=Path, help="the published schemas, e.g. shared/schemas")
    parser.add_argument(
        "--service",
        action="append",
        dest="services",
        help="consider only this service's published files (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        registry = load_registry(args.registry)
    except LookupError as error:
        print(error, file=sys.stderr)
        return 2
    problems = check_registry_against_published(registry, args.directory, args.services)
    if problems:
        if args.command == "write":
            print("refusing to write: published schemas would break", file=sys.stderr)
        print(*problems, sep="\n")
        return 1
    if args.command == "write":
        for path in write_published_schemas(registry, args.directory):
            print(f"wrote {path}")
        return 0
    for label in unpublished(registry, args.directory):
        print(f"not yet published: {label}")
    print("compatible")
    return 0

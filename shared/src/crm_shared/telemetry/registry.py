"""Metric families registered once per Prometheus registry, shared by whoever uses it.

A family (``Counter("crm_relay_published_events", ...)``) may be registered only once on a
registry, yet a process may hold several relays (one per topic) or consumers (one per group)
on its registry. Families are therefore built on first use for a registry and reused; the
registry is passed in, never a module-level global, so tests create as many as they like.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar, cast
from weakref import WeakKeyDictionary

from prometheus_client import CollectorRegistry

_Families = TypeVar("_Families")

_built: WeakKeyDictionary[CollectorRegistry, dict[object, object]] = WeakKeyDictionary()
_lock = threading.Lock()


def families_on(
    registry: CollectorRegistry, build: Callable[[CollectorRegistry], _Families]
) -> _Families:
    """``build(registry)``, called once per registry; later calls return the same families."""
    with _lock:
        per_registry = _built.setdefault(registry, {})
        if build not in per_registry:
            per_registry[build] = build(registry)
        return cast(_Families, per_registry[build])

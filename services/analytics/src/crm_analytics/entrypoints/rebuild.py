"""``crm-analytics-rebuild``: rebuild the read models from offset zero beside the live ones,
printing progress (one JSON line every few seconds), then swap them in.

Run it as a one-off process (a Kubernetes Job); the service's replicas keep serving the live
generation meanwhile and switch to the new one within ``ANALYTICS_GENERATION_POLL_S``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from crm_analytics.application.generations import Progress, rebuild
from crm_analytics.bootstrap import CONTROL_MIGRATIONS, MIGRATIONS
from crm_analytics.config import AnalyticsSettings
from crm_analytics.domain.sources import SOURCES
from crm_shared.database import database_engine
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings


def _print(progress: Progress) -> None:
    print(json.dumps(asdict(progress)), flush=True)


async def run(swap: bool) -> int:
    platform, settings = PlatformSettings(), AnalyticsSettings()
    await upgrade(platform.async_database_url, settings.db_schema, CONTROL_MIGRATIONS)
    engine = database_engine(platform)
    try:
        made = await rebuild(
            engine,
            platform.async_database_url,
            platform.kafka_bootstrap_servers,
            settings.db_schema,
            settings.consumer_group or platform.consumer_group("analytics"),
            [platform.topic(service) for service in SOURCES],
            MIGRATIONS,
            swap=swap,
            report=_print,
        )
    finally:
        await engine.dispose()
    state = "swapped in" if swap else "built (not swapped)"
    print(f"generation {made.generation} in schema {made.schema}: {state}", file=sys.stderr)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-swap", action="store_true", help="build it, keep the live one")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(run(swap=not args.no_swap)))


if __name__ == "__main__":
    main()

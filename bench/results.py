"""Where benchmark figures go: ``bench/results/<name>-<time>.json`` and ``<name>-latest.json``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def write(name: str, report: dict[str, Any]) -> None:
    """Keep ``report`` under a timestamped name and as the latest; print its summary."""
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(report, indent=2, sort_keys=True, default=str) + "\n"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{name}-{stamp}.json").write_text(text)
    (RESULTS / f"{name}-latest.json").write_text(text)
    print(json.dumps(report.get("summary", report), indent=2))

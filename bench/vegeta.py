"""Drive an HTTP API with vegeta (Go): a load generator that leaves the cores to the service.

Installed on first use with ``go install`` from the Go module proxy into ``.cache/go/bin``.
Each request of a run gets its own body (a JSON targets file), so no two creates collide.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VEGETA = "github.com/tsenart/vegeta/v12@v12.13.0"


def executable(repo: Path) -> Path:
    installed = repo / ".cache" / "go" / "bin" / "vegeta"
    if installed.exists():
        return installed
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the benchmark's load generator needs Go to install vegeta")
    environment = {**os.environ, "GOBIN": str(installed.parent)}
    subprocess.run([go, "install", VEGETA], check=True, env=environment)
    return installed


@dataclass(frozen=True)
class Target:
    method: str
    url: str
    headers: dict[str, str]
    body: dict[str, Any] | None = None
    """JSON body; None: no body (a GET)."""


def write_targets(path: Path, targets: Iterable[Target]) -> None:
    """Vegeta's JSON targets format: one request per line, in the order they are sent."""
    with path.open("w") as out:
        for target in targets:
            headers = dict(target.headers)
            line: dict[str, Any] = {"method": target.method, "url": target.url}
            if target.body is not None:
                headers["Content-Type"] = "application/json"
                line["body"] = base64.b64encode(json.dumps(target.body).encode()).decode()
            line["header"] = {name: [value] for name, value in headers.items()}
            out.write(json.dumps(line) + "\n")


OPEN_LOOP_MAX_CONNECTIONS = 512
"""Connections an open-loop attack may open to keep its rate while answers are slow."""


def attack(
    repo: Path,
    targets: Path,
    clients: int,
    seconds: float,
    results: Path,
    rate: int | None = None,
) -> dict[str, Any]:
    """``clients`` concurrent connections, each sending as soon as its answer arrives (a
    closed loop: it measures how many the service answers); or, given a ``rate``, that many
    requests a second sent on schedule whatever the answers (an open loop: it measures how
    long answers take at that load), starting on ``clients`` connections and opening more, up
    to ``OPEN_LOOP_MAX_CONNECTIONS``, when they are all waiting."""
    vegeta = str(executable(repo))
    if rate is None:
        pace = ["-rate=0", f"-workers={clients}", f"-max-workers={clients}"]
    else:
        pace = [
            f"-rate={rate}/1s",
            f"-workers={clients}",
            f"-max-workers={OPEN_LOOP_MAX_CONNECTIONS}",
        ]
    with targets.open("rb") as source, results.open("wb") as sink:
        subprocess.run(
            [
                vegeta,
                "attack",
                "-format=json",
                *pace,
                f"-duration={seconds}s",
                "-timeout=30s",
            ],
            stdin=source,
            stdout=sink,
            check=True,
        )
    report = subprocess.run(
        [vegeta, "report", "-type=json", str(results)], capture_output=True, check=True
    )
    data: dict[str, Any] = json.loads(report.stdout)
    return data


def summary(report: dict[str, Any], clients: int) -> dict[str, Any]:
    latencies = report["latencies"]

    def to_ms(nanoseconds: float) -> float:
        return nanoseconds / 1e6

    return {
        "clients": clients,
        "requests": report["requests"],
        "failures": report["requests"] - round(report["success"] * report["requests"]),
        "requests_per_s": report["throughput"],
        "p50_ms": to_ms(latencies["50th"]),
        "p99_ms": to_ms(latencies["99th"]),
        "status_codes": report["status_codes"],
    }

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
from collections.abc import Iterator
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


def write_targets(
    path: Path,
    url: str,
    headers: dict[str, str],
    bodies: Iterator[dict[str, Any]],
    count: int,
) -> None:
    with path.open("w") as targets:
        for _, body in zip(range(count), bodies, strict=False):
            target = {
                "method": "POST",
                "url": url,
                "header": {
                    **{k: [v] for k, v in headers.items()},
                    "Content-Type": ["application/json"],
                },
                "body": base64.b64encode(json.dumps(body).encode()).decode(),
            }
            targets.write(json.dumps(target) + "\n")


def attack(
    repo: Path, targets: Path, clients: int, seconds: float, results: Path
) -> dict[str, Any]:
    """``clients`` concurrent connections, each sending as soon as its answer arrives."""
    vegeta = str(executable(repo))
    with targets.open("rb") as source, results.open("wb") as sink:
        subprocess.run(
            [
                vegeta,
                "attack",
                "-format=json",
                "-rate=0",
                f"-workers={clients}",
                f"-max-workers={clients}",
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

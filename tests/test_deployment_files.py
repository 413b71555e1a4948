"""The files ops teams run the platform with, checked without a Docker engine: the Compose
file against the Compose specification and our own rules, the Dockerfile's targets."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from crm_devstack.services import SERVICES

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
SECRET = re.compile(r"(KEY|SECRET|PASSWORD)$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def dockerfile_targets() -> dict[str, list[str]]:
    """Each stage's lines, by the name after ``AS``."""
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in DOCKERFILE.read_text().splitlines():
        found = re.match(r"FROM \S+ AS (\S+)", line)
        if found:
            current = stages.setdefault(found.group(1), [])
        elif line.strip() and not line.startswith("#"):
            current.append(line)
    return stages


def compose_spec_check(path: Path) -> subprocess.CompletedProcess[str]:
    checker = str(Path(sys.executable).parent / "check-jsonschema")
    return subprocess.run(
        [checker, "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )


def test_the_compose_file_follows_the_compose_specification() -> None:
    checked = compose_spec_check(COMPOSE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_check_refuses_a_mistyped_key(tmp_path: Path) -> None:
    typo = tmp_path / "docker-compose.yml"
    typo.write_text(
        COMPOSE.read_text().replace("    image: postgres:17\n", "    imgae: postgres:17\n")
    )
    checked = compose_spec_check(typo)
    assert checked.returncode != 0
    assert "imgae" in checked.stdout


def test_every_service_runs_hardened_and_starts_after_what_it_needs(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for spec in SERVICES:
        service = services[spec.name]
        assert service["build"]["target"] == spec.name
        assert service["healthcheck"]["test"][0] == "CMD"
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in service["security_opt"]
        assert service["stop_grace_period"] == "40s"  # above the consumers' 20-25 s drain
        for dependency in service["depends_on"].values():
            assert dependency["condition"] == "service_healthy"
    assert set(services["gateway"]["depends_on"]) == {"contacts", "sales", "support", "analytics"}
    assert "healthcheck" in services["kafka"]
    assert "healthcheck" in services["postgres"]
    for infrastructure in ("otel-collector", "jaeger", "prometheus", "grafana"):
        assert infrastructure in services


def test_the_files_the_compose_file_mounts_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (COMPOSE.parent / source).exists(), f"{name} mounts {source}"


def test_no_secret_is_written_in_the_compose_file(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for variable, value in (service.get("environment") or {}).items():
            if SECRET.search(variable):
                assert str(value).startswith("${"), f"{name}: {variable} is written out"


def test_each_service_has_an_image_target_non_root_in_exec_form() -> None:
    targets = dockerfile_targets()
    runtime = targets["runtime"]
    assert any(line.startswith("USER 10001") for line in runtime)
    for spec in SERVICES:
        stage = targets[spec.name]
        [entrypoint] = [line for line in stage if line.startswith("ENTRYPOINT")]
        assert json.loads(entrypoint.removeprefix("ENTRYPOINT").strip()) == [spec.command]
        assert not any(line.startswith("USER") and "root" in line for line in stage)
    for lines in targets.values():
        for line in lines:
            if line.startswith(("ENV", "ARG")):
                assert not re.search(r"(KEY|SECRET|PASSWORD)\w*=", line), line

"""The workspace's boundaries: services never import each other, only the shared package.

`lint-imports` enforces the contracts in pyproject.toml; these tests make sure the contracts
keep covering every service package as services are added.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]


def service_packages() -> list[str]:
    return sorted(init.parent.name for init in ROOT.glob("services/*/src/*/__init__.py"))


def contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return list(config["contracts"])


def test_every_service_package_is_a_root_package_of_the_import_contracts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(service_packages()) <= set(config["root_packages"])


def test_services_are_declared_independent_of_each_other() -> None:
    services = service_packages()
    if len(services) < 2:
        return
    independent = [c for c in contracts() if c["type"] == "independence"]
    assert any(set(services) <= set(c["modules"]) for c in independent), services


def test_the_shared_package_is_forbidden_to_import_any_service() -> None:
    forbidden = {
        module
        for c in contracts()
        if c["type"] == "forbidden" and "crm_shared" in c["source_modules"]
        for module in c["forbidden_modules"]
    }
    assert set(service_packages()) | {"crm_devstack"} <= forbidden


def test_the_import_contracts_hold() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""The deployment checkers, fetched on first use and cached: Helm built from its Go module
(the Go module proxy is reachable where release downloads are not), the operators' CRDs from
their Go modules, and kubernetes-validate and checkov from the locked project in
``deploy/validation`` (kept apart: checkov pins libraries the services must not be held at)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from crm_devstack.processes import cache_dir, repo_root

HELM_MODULE = "helm.sh/helm/v3/cmd/helm"
HELM_VERSION = "v3.19.0"
KUBERNETES_VERSION = "1.33.0"
"""The Kubernetes version the chart is rendered and validated for."""

CLOUDNATIVEPG = ("github.com/cloudnative-pg/cloudnative-pg", "v1.27.1")
PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.85.0")
KEDA = ("github.com/kedacore/keda/v2", "v2.17.2")
CRD_FILES = {
    ("postgresql.cnpg.io", "Cluster"): (
        CLOUDNATIVEPG,
        "config/crd/bases/postgresql.cnpg.io_clusters.yaml",
    ),
    ("postgresql.cnpg.io", "ScheduledBackup"): (
        CLOUDNATIVEPG,
        "config/crd/bases/postgresql.cnpg.io_scheduledbackups.yaml",
    ),
    ("keda.sh", "ScaledObject"): (KEDA, "config/crd/bases/keda.sh_scaledobjects.yaml"),
    ("monitoring.coreos.com", "ServiceMonitor"): (
        PROMETHEUS_OPERATOR,
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
    ),
}
"""Where the CustomResourceDefinition of each custom kind the chart renders is found."""

VALIDATION_PROJECT = "deploy/validation"


def _go() -> str:
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the Go toolchain is needed to build helm and fetch CRDs: install go")
    return go


def helm() -> Path:
    """The helm binary, built once into the cache from its Go module at ``HELM_VERSION``."""
    target = cache_dir() / "tools" / f"helm-{HELM_VERSION}"
    binary = target / "helm"
    if binary.exists():
        return binary
    building = target.with_suffix(".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    subprocess.run(
        [_go(), "install", f"{HELM_MODULE}@{HELM_VERSION}"],
        env={**os.environ, "GOBIN": str(building), "CGO_ENABLED": "0"},
        check=True,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    shutil.rmtree(target, ignore_errors=True)
    building.rename(target)
    return binary


def go_module(module: tuple[str, str]) -> Path:
    """The folder of a Go module's source at a version, from the Go module cache."""
    path, version = module
    found = subprocess.run(
        [_go(), "mod", "download", "-json", f"{path}@{version}"],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return Path(json.loads(found.stdout)["Dir"])


def crd_file(group: str, kind: str) -> Path:
    module, relative = CRD_FILES[(group, kind)]
    return go_module(module) / relative


def validation_command(tool: str) -> list[str]:
    """How to run ``tool`` (kubernetes-validate, checkov) from the locked validation project."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed to run the deployment checks: run ./crm test")
    project = repo_root() / VALIDATION_PROJECT
    return [uv, "run", "--quiet", "--frozen", "--project", str(project), tool]

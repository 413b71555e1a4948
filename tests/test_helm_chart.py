"""The Helm chart in deploy/helm/crm, checked without a cluster: ``helm lint --strict`` with
values.schema.json refusing typos, the rendered manifests valid for Kubernetes
(kubernetes-validate --strict) and the operators' custom resources valid for their CRDs, a
checkov scan with nothing failing but the skips explained in deploy/validation/checkov.yaml,
and the rules ops teams rely on: probes, hardening, drain time, network reach, topics."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from prometheus_client import CollectorRegistry
from pydantic_settings import BaseSettings

from crm_analytics.config import AnalyticsSettings
from crm_contacts.config import ContactsSettings
from crm_devstack import tools
from crm_gateway.config import GatewaySettings
from crm_sales.config import SalesSettings
from crm_sales.entrypoints.contact_events import CONSUMER_GROUP as SALES_GROUP
from crm_shared.consumer import dlq_topic
from crm_shared.settings import PlatformSettings, environment_variable
from crm_shared.telemetry import ConsumerMetrics, HttpMetrics, RelayMetrics
from crm_support.config import SupportSettings
from crm_support.entrypoints.contact_events import CONSUMER_GROUP as SUPPORT_GROUP

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "crm"
PRODUCTION_VALUES = CHART / "ci" / "production-values.yaml"
CHECKOV_CONFIG = ROOT / "deploy" / "validation" / "checkov.yaml"
SERVICES = ["contacts", "sales", "support", "analytics", "gateway"]
WITH_DATABASE = ["contacts", "sales", "support", "analytics"]
MINIMAL = [
    "--set",
    "secrets.existingSecret=crm-keys",
    "--set",
    "auth.issuer=https://id.example.com",
    "--set",
    "database.urlSecret.name=crm-db",
    "--set",
    "networkPolicy.postgresPeers[0].ipBlock.cidr=10.0.0.0/8",
]


def helm(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tools.helm()), *arguments],
        capture_output=True,
        text=True,
        timeout=300,
    )


def render(*arguments: str) -> str:
    rendered = helm(
        "template",
        "crm",
        str(CHART),
        "--namespace",
        "crm",
        "--kube-version",
        tools.KUBERNETES_VERSION,
        *arguments,
    )
    assert rendered.returncode == 0, rendered.stderr
    return rendered.stdout


def documents(manifest: str) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(manifest) if document]


def refusal(*arguments: str) -> str:
    """helm template's error message for values it must refuse."""
    refused = helm(
        "template", "crm", str(CHART), "--kube-version", tools.KUBERNETES_VERSION, *arguments
    )
    assert refused.returncode != 0, "the chart rendered values it should refuse"
    return refused.stderr


@pytest.fixture(scope="module")
def production_manifest() -> str:
    return render("-f", str(PRODUCTION_VALUES))


@pytest.fixture(scope="module")
def production(production_manifest: str) -> list[dict[str, Any]]:
    return documents(production_manifest)


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def deployments(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, deployment in of_kind(manifests, "Deployment").items():
        yield name.removeprefix("crm-"), deployment


# --- helm lint and the values schema ---


def test_helm_lint_strict_passes_with_production_values() -> None:
    linted = helm(
        "lint",
        "--strict",
        "--kube-version",
        tools.KUBERNETES_VERSION,
        str(CHART),
        "-f",
        str(PRODUCTION_VALUES),
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("services.contacts.replica=3", "replica"),
        ("platform.topicPrefx=prod", "topicPrefx"),
        ("image.pullPolicy=Sometimes", "pullPolicy"),
        ("services.gateway.port=http", "port"),
        ("kafka.bootstrapServers=kafka", "bootstrapServers"),
    ],
)
def test_the_values_schema_refuses_typos_and_wrong_types(setting: str, named: str) -> None:
    assert named in refusal(*MINIMAL, "--set", setting)


def test_it_refuses_to_install_without_the_keys_secret() -> None:
    assert "secrets.existingSecret" in refusal("--set", "auth.issuer=https://id.example.com")


def test_it_refuses_an_open_api_unless_told_it_is_for_development() -> None:
    without_issuer = [*MINIMAL[:2], *MINIMAL[4:]]
    assert "auth.issuer" in refusal(*without_issuer)
    rendered = documents(render(*without_issuer, "--set", "auth.allowUnauthenticated=true"))
    platform = of_kind(rendered, "ConfigMap")["crm-platform"]["data"]
    assert "CRM_AUTH_ISSUER" not in platform


def test_it_refuses_a_grace_period_shorter_than_the_consumers_drain() -> None:
    message = refusal(*MINIMAL, "--set", "services.analytics.terminationGracePeriodSeconds=20")
    assert "services.analytics.terminationGracePeriodSeconds" in message
    assert "drain" in message


# --- validity for Kubernetes and the operators ---


def kubernetes_validate(path: Path) -> subprocess.CompletedProcess[str]:
    version = ".".join(tools.KUBERNETES_VERSION.split(".")[:2])
    return subprocess.run(
        [*tools.validation_command("kubernetes-validate"), "--strict", "-k", version, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_rendered_manifests_are_valid_for_kubernetes(
    production_manifest: str, tmp_path: Path
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(production_manifest)
    validated = kubernetes_validate(rendered)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "ERROR" not in validated.stdout


def test_kubernetes_validate_refuses_an_unknown_field(
    production: list[dict[str, Any]], tmp_path: Path
) -> None:
    broken = copy.deepcopy(of_kind(production, "Deployment")["crm-contacts"])
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken))
    assert kubernetes_validate(path).returncode != 0


def strict(schema: Any) -> Any:
    """A CRD's schema as the API server's strict field validation applies it: unknown fields
    are errors (the schema alone lets them through to be pruned)."""
    if isinstance(schema, dict):
        made = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in made
            and "additionalProperties" not in made
            and not made.get("x-kubernetes-preserve-unknown-fields")
        ):
            made["additionalProperties"] = False
        return made
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


def crd_validator(group: str, kind: str, version: str) -> jsonschema.Draft7Validator:
    definition = yaml.safe_load(tools.crd_file(group, kind).read_text())
    assert definition["spec"]["names"]["kind"] == kind
    served = {v["name"]: v for v in definition["spec"]["versions"] if v["served"]}
    schema = strict(served[version]["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema)


@pytest.mark.parametrize(
    ("kind", "group"),
    [
        ("Cluster", "postgresql.cnpg.io"),
        ("ScheduledBackup", "postgresql.cnpg.io"),
        ("ServiceMonitor", "monitoring.coreos.com"),
        ("ScaledObject", "keda.sh"),
    ],
)
def test_the_operators_resources_are_valid_for_their_crds(
    production: list[dict[str, Any]], kind: str, group: str
) -> None:
    resources = list(of_kind(production, kind).values())
    assert resources
    for resource in resources:
        api_group, version = resource["apiVersion"].split("/")
        assert api_group == group
        errors = [e.message for e in crd_validator(group, kind, version).iter_errors(resource)]
        assert errors == []

    mistyped = copy.deepcopy(resources[0])
    mistyped["spec"]["instancse"] = 3
    version = mistyped["apiVersion"].split("/")[1]
    assert list(crd_validator(group, kind, version).iter_errors(mistyped))


def test_the_topics_are_strimzi_kafka_topics_named_as_the_services_name_them(
    production: list[dict[str, Any]],
) -> None:
    platform = PlatformSettings(topic_prefix="crm")
    expected = {platform.topic(service) for service in ["contacts", "sales", "support"]}
    expected |= {dlq_topic(topic) for topic in expected}
    topics = of_kind(production, "KafkaTopic").values()
    assert {t["spec"]["topicName"] for t in topics} == expected
    for topic in topics:
        assert topic["apiVersion"] == "kafka.strimzi.io/v1"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "crm"
        assert set(topic["spec"]) == {"topicName", "partitions", "replicas", "config"}
        assert topic["spec"]["partitions"] >= 3
        config = topic["spec"]["config"]
        if not topic["spec"]["topicName"].endswith(".dlq"):
            assert config["retention.ms"] == "-1", "the topics are the history rebuilds read"


def test_checkov_finds_nothing_but_the_explained_skips(
    production_manifest: str, tmp_path: Path
) -> None:
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(production_manifest)
    scanned = subprocess.run(
        [
            *tools.validation_command("checkov"),
            "--config-file",
            str(CHECKOV_CONFIG),
            "-f",
            str(rendered),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert scanned.returncode == 0, scanned.stdout + scanned.stderr
    assert "Failed checks: 0" in scanned.stdout
    lines = CHECKOV_CONFIG.read_text().splitlines()
    for check in yaml.safe_load(CHECKOV_CONFIG.read_text())["skip-check"]:
        at = lines.index(f"  - {check}")
        assert lines[at - 1].strip().startswith("#"), f"{check} is skipped without a reason"


# --- what ops teams rely on ---


def test_liveness_never_depends_on_kafka_or_postgres(production: list[dict[str, Any]]) -> None:
    for _, deployment in deployments(production):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_pods_run_unprivileged_on_a_read_only_root(production: list[dict[str, Any]]) -> None:
    for _, deployment in deployments(production):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]
            assert context["runAsUser"] != 0
            assert {"requests", "limits"} <= set(container["resources"])


def test_every_stopping_pod_outlives_its_consumers_drain(
    production: list[dict[str, Any]],
) -> None:
    platform = of_kind(production, "ConfigMap")["crm-platform"]["data"]
    drain = float(platform["CRM_CONSUMER_GRACEFUL_TIMEOUT_S"])
    for _, deployment in deployments(production):
        pod = deployment["spec"]["template"]["spec"]
        pause = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert pod["terminationGracePeriodSeconds"] > drain + pause


def test_migrations_run_in_an_init_container_and_not_in_the_service(
    production: list[dict[str, Any]],
) -> None:
    assert of_kind(production, "ConfigMap")["crm-platform"]["data"]["CRM_MIGRATE_ON_START"] == (
        "false"
    )
    for service, deployment in deployments(production):
        pod = deployment["spec"]["template"]["spec"]
        if service in WITH_DATABASE:
            (init,) = pod["initContainers"]
            assert init["args"] == ["migrate"]
            assert init["image"] == pod["containers"][0]["image"]
        else:
            assert "initContainers" not in pod


def test_every_service_has_a_disruption_budget_and_an_autoscaler(
    production: list[dict[str, Any]],
) -> None:
    budgets = of_kind(production, "PodDisruptionBudget")
    autoscalers = of_kind(production, "HorizontalPodAutoscaler") | of_kind(
        production, "ScaledObject"
    )
    for service in SERVICES:
        assert budgets[f"crm-{service}"]["spec"]["minAvailable"] >= 1
        assert autoscalers[f"crm-{service}"]["spec"]["scaleTargetRef"]["name"] == f"crm-{service}"
    assert "crm-analytics" not in of_kind(production, "HorizontalPodAutoscaler"), "KEDA makes it"


def test_a_consumer_can_scale_on_its_groups_lag_with_keda(
    production: list[dict[str, Any]],
) -> None:
    scaled = of_kind(production, "ScaledObject")["crm-analytics"]["spec"]
    lag = next(t for t in scaled["triggers"] if t["type"] == "kafka")["metadata"]
    assert lag["consumerGroup"] == PlatformSettings(topic_prefix="crm").consumer_group("analytics")
    assert lag["bootstrapServers"] == "crm-kafka-bootstrap:9092"
    assert {t["type"] for t in scaled["triggers"]} == {"kafka", "cpu"}


@pytest.mark.parametrize(("service", "group"), [("sales", SALES_GROUP), ("support", SUPPORT_GROUP)])
def test_lag_scaling_watches_the_group_each_consumer_reads_in(service: str, group: str) -> None:
    rendered = documents(
        render(*MINIMAL, "--set", f"services.{service}.autoscaling.consumerLag.enabled=true")
    )
    scaled = of_kind(rendered, "ScaledObject")[f"crm-{service}"]["spec"]
    lag = next(t for t in scaled["triggers"] if t["type"] == "kafka")["metadata"]
    assert lag["consumerGroup"] == PlatformSettings(topic_prefix="crm").consumer_group(group)


def known_variables() -> set[str]:
    classes: list[type[BaseSettings]] = [
        PlatformSettings,
        ContactsSettings,
        SalesSettings,
        SupportSettings,
        AnalyticsSettings,
        GatewaySettings,
    ]
    return {
        environment_variable(settings, field)
        for settings in classes
        for field in settings.model_fields
    }


def test_configuration_names_only_variables_the_services_read_and_holds_no_secret(
    production: list[dict[str, Any]],
) -> None:
    known = known_variables()
    for name, config in of_kind(production, "ConfigMap").items():
        if name == "crm-dashboard":
            continue
        assert set(config["data"]) <= known, f"{name}: {set(config['data']) - known}"
        assert not [key for key in config["data"] if "SECRET" in key or key.endswith("_KEY")]
    for _, deployment in deployments(production):
        for variable in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
            if "secretKeyRef" in variable.get("valueFrom", {}):
                assert variable["name"] in known


def ingress_sources(policy: dict[str, Any]) -> list[str]:
    return [
        peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component", "")
        for rule in policy["spec"]["ingress"]
        for peer in rule.get("from", [])
        if "podSelector" in peer
    ]


def egress_ports(policy: dict[str, Any]) -> set[int]:
    return {port["port"] for rule in policy["spec"]["egress"] for port in rule.get("ports", [])}


def test_each_service_is_reached_only_by_its_callers_and_reaches_only_what_it_needs(
    production: list[dict[str, Any]],
) -> None:
    policies = of_kind(production, "NetworkPolicy")
    assert sorted(ingress_sources(policies["crm-contacts"])) == ["gateway", "sales"]
    for service in ["sales", "support", "analytics"]:
        assert ingress_sources(policies[f"crm-{service}"]) == ["gateway"]
    for service in SERVICES:
        assert policies[f"crm-{service}"]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert 5432 not in egress_ports(policies["crm-gateway"])
    assert 9092 not in egress_ports(policies["crm-gateway"])
    assert {5432, 9092} <= egress_ports(policies["crm-analytics"])
    assert 8101 in egress_ports(policies["crm-sales"])
    assert 8101 not in egress_ports(policies["crm-support"])


def test_images_are_pulled_by_digest_when_one_is_given() -> None:
    digest = "sha256:" + "ab" * 32
    rendered = documents(render(*MINIMAL, "--set", f"image.digests.gateway={digest}"))
    images = {
        service: deployment["spec"]["template"]["spec"]["containers"][0]["image"]
        for service, deployment in deployments(rendered)
    }
    assert images["gateway"].endswith(f"/gateway:0.1.0@{digest}")
    assert images["contacts"].endswith("/contacts:0.1.0")


def test_the_grafana_dashboard_is_shipped_for_the_sidecar(
    production: list[dict[str, Any]],
) -> None:
    dashboard = of_kind(production, "ConfigMap")["crm-dashboard"]
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert yaml.safe_load(dashboard["data"]["crm-platform.json"])["panels"]


def exposed_metric_names() -> set[str]:
    """Every sample name the services expose (their families, on one registry)."""
    registry = CollectorRegistry()
    http = HttpMetrics.on(registry)
    http.requests.labels(method="GET", route="/contacts", status="200").inc()
    http.duration.labels(method="GET", route="/contacts").observe(0.01)
    RelayMetrics(registry, service="contacts", topic="crm.contacts.events")
    consumer = ConsumerMetrics(registry, group="crm-analytics")
    consumer.set_lag("crm.contacts.events", 0, 0)
    consumer.dead_letter("crm.contacts.events")
    consumer.observe_handler("crm.contacts.contact.created", 0.001)
    return {sample.name for family in registry.collect() for sample in family.samples} | {
        family.name for family in registry.collect()
    }


def test_the_dashboard_charts_only_metrics_the_services_expose() -> None:
    dashboard = json.loads((CHART / "dashboards" / "crm-platform.json").read_text())
    expressions = [
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    ]
    charted = {name for expr in expressions for name in re.findall(r"\b(?:crm|http)_\w+", expr)}
    exposed = exposed_metric_names()
    assert charted
    assert charted <= exposed, charted - exposed
    for wanted in [
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "crm_consumer_lag_messages",
        "crm_relay_backlog_events",
        "crm_consumer_dlq_messages_total",
        "crm_consumer_newest_applied_event_timestamp_seconds",
    ]:
        assert wanted in charted

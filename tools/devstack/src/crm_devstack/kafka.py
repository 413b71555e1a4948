"""A real Apache Kafka broker without Docker: jars from Maven Central, run on Java 17.

Single node in KRaft combined mode (broker and controller), on loopback. The jars are resolved
once with Maven into the cache folder; the broker runs detached, so ``crm-stack up`` can return
while it keeps running, and its data and ports survive a stop and start.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import uuid
from importlib import resources
from pathlib import Path

from crm_devstack.processes import (
    DetachedServer,
    cache_dir,
    free_port,
    is_alive,
    port_accepts,
    spawn_detached,
    wait_until,
)

# 4.1 is the first line whose broker again answers the Metadata and JoinGroup versions that
# aiokafka speaks; our integration tests are the proof that the pair works.
DEFAULT_KAFKA_VERSION = "4.1.1"
LOG4J_VERSION = "2.25.3"
MIN_JAVA = 17


class KafkaUnavailable(RuntimeError):
    """Kafka cannot be resolved or started here; the message says what is missing."""


def java_major_version(java: str = "java") -> int:
    if shutil.which(java) is None:
        raise KafkaUnavailable("java is not on the PATH: install a JDK 17 or later")
    output = subprocess.run([java, "-version"], capture_output=True, text=True, check=True).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if match is None:
        raise KafkaUnavailable(f"cannot read the Java version from: {output!r}")
    major = int(match[1])
    return int(match[2]) if major == 1 and match[2] else major


def resolve_kafka(version: str = DEFAULT_KAFKA_VERSION) -> Path:
    """The folder of Kafka's runtime jars, resolved from Maven Central on first use."""
    libs = cache_dir() / f"kafka-{version}" / "libs"
    marker = libs / ".complete"
    if marker.exists():
        return libs
    if shutil.which("mvn") is None:
        raise KafkaUnavailable("mvn is not on the PATH: install Maven to resolve Kafka's jars")
    work = libs.parent
    work.mkdir(parents=True, exist_ok=True)
    template = resources.files("crm_devstack.resources").joinpath("kafka-pom.xml").read_text()
    pom = work / "pom.xml"
    pom.write_text(
        template.replace("@KAFKA_VERSION@", version).replace("@LOG4J_VERSION@", LOG4J_VERSION)
    )
    result = subprocess.run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise KafkaUnavailable(
            f"Maven could not resolve kafka_2.13:{version}:\n{result.stdout}\n{result.stderr}"
        )
    marker.write_text(version + "\n")
    return libs


class KafkaBroker(DetachedServer):
    """One broker whose configuration, data, log and pid live in ``state_dir``."""

    def __init__(
        self,
        state_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        version: str = DEFAULT_KAFKA_VERSION,
    ) -> None:
        super().__init__(state_dir)
        self.version = version
        saved = self.state.load()
        self.port = port or saved.get("port") or free_port()
        self.controller_port = controller_port or saved.get("controller_port") or free_port()
        self.log_file = state_dir / "kafka.log"

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> None:
        if self.is_running():
            return
        if java_major_version() < MIN_JAVA:
            raise KafkaUnavailable(f"Kafka {self.version} needs Java {MIN_JAVA} or later")
        libs = resolve_kafka(self.version)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        properties = self._write_configuration()
        classpath = f"{libs}/*"
        if not (self.state_dir / "data" / "meta.properties").exists():
            cluster_id = self.state.load().get("cluster_id") or _cluster_id()
            self.state.save(cluster_id=cluster_id)
            formatted = subprocess.run(
                [
                    "java",
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "-t",
                    cluster_id,
                    "-c",
                    str(properties),
                    "-g",
                ],
                capture_output=True,
                text=True,
            )
            if formatted.returncode != 0:
                raise KafkaUnavailable(
                    f"formatting the Kafka storage failed: {formatted.stderr or formatted.stdout}"
                )
        log_config = self.state_dir / "log4j2.properties"
        log_config.write_text(
            resources.files("crm_devstack.resources").joinpath("log4j2.properties").read_text()
        )
        pid = spawn_detached(
            [
                "java",
                "-Xms256m",
                "-Xmx512m",
                "-XX:+UseG1GC",
                # C1 only: C2 recompiling the broker's code took a third of a core for half a
                # second at a time, and on a developer's two cores that paused the platform
                # (360 reads at a steady 1,000/s stalled 100-300 ms with each burst, perf -a);
                # a local broker's few hundred events a second need no more than C1's code
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={log_config}",
                "-cp",
                classpath,
                "kafka.Kafka",
                str(properties),
            ],
            self.log_file,
        )
        self.state.save(
            pid=pid, port=self.port, controller_port=self.controller_port, version=self.version
        )
        wait_until(
            lambda: not is_alive(pid) or self._answers_metadata(),
            timeout,
            f"Kafka answering on {self.bootstrap_servers}",
            self.log_file,
        )
        if not is_alive(pid):
            tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-40:])
            raise KafkaUnavailable(f"the Kafka broker exited during start-up:\n{tail}")

    def _answers_metadata(self) -> bool:
        if not port_accepts(self.port):
            return False
        return asyncio.run(_metadata_answered(self.bootstrap_servers))

    def _write_configuration(self) -> Path:
        data = self.state_dir / "data"
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},"
            f"CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": "3",
            "auto.create.topics.enable": "true",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
        }
        path = self.state_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        return path


async def _metadata_answered(bootstrap: str) -> bool:
    from aiokafka import AIOKafkaClient
    from aiokafka.errors import KafkaError

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=2000)
    try:
        await client.bootstrap()
        return True
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()


def _cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's own Uuid.randomUuid, never one that starts with "-": the storage
    tool would read it as an option and refuse to format.
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id

"""docker-compose.yml describes the native stack's topology: same services, host ports, versions and settings.

No Docker engine runs here, so this is how the compose file is kept in step with infra/.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra import versions
from infra.readdb_roles import PROJECTOR_ROLE, READER_ROLE, ROLES_SQL
from infra.services import SERVICE_NAMES
from infra.settings import REPO_ROOT, Ports

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
CONFIG = REPO_ROOT / "infra" / "config"
# Natively FerretDB speaks MongoDB's wire protocol; in compose a real MongoDB stands in its place.
COMPOSE_NAME = {name: name for name in SERVICE_NAMES} | {"ferretdb": "mongodb"}
# Settings that name hosts, paths or ports differ between a container and a loopback process by design.
HOST_SPECIFIC = {
    "bootstrap.servers",
    "listeners",
    "rest.advertised.host.name",
    "rest.advertised.port",
    "plugin.path",
}


def properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


# The only ports published on every host interface: the two APIs. Everything else binds the host's loopback.
PUBLIC_SERVICES = {"writer", "readapi"}


def port_mappings(service: str) -> list[tuple[str, str]]:
    """(host address, host port or range) of each `ports:` entry; no address means every interface."""
    mappings = []
    for mapping in SERVICES[service].get("ports", []):
        parts = str(mapping).split(":")
        mappings.append((parts[0] if len(parts) == 3 else "0.0.0.0", parts[-2]))
    return mappings


def host_ports(service: str) -> set[int]:
    return {int(port.split("-")[0]) for _, port in port_mappings(service)}


def image_tag(service: str) -> str:
    return str(SERVICES[service]["image"]).rsplit(":", 1)[1]


def pom_property(pom: str, name: str) -> str:
    namespace = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(REPO_ROOT / "infra" / "maven" / pom).getroot()
    element = root.find(f"m:properties/m:{name}", namespace)
    assert element is not None
    assert element.text
    return element.text


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_native_service_has_a_compose_service_on_the_same_host_port(service: str) -> None:
    default_port = Ports.model_fields[service].default  # the defaults, whatever this shell overrides
    assert default_port in host_ports(COMPOSE_NAME[service])


def test_only_the_two_apis_are_published_beyond_the_hosts_loopback() -> None:
    """A store, Connect's REST API or a metrics port on every interface would be reachable from the network
    without any authentication (trust auth, no Kafka/Redis/Elasticsearch security)."""
    exposed = {service for service in SERVICES for address, _ in port_mappings(service) if address != "127.0.0.1"}
    assert exposed == PUBLIC_SERVICES


def test_apps_connect_to_postgres_as_their_own_roles() -> None:
    def user(service: str, variable: str) -> str:
        url = str(SERVICES[service]["environment"][variable])
        return url.split("://", 1)[1].split("@", 1)[0]

    assert user("writer", "CQRS_WRITER_DATABASE_URL") == "cqrs_writer"
    assert user("readapi", "CQRS_READAPI_DATABASE_URL") == "cqrs_readapi"
    assert user("webhooks", "CQRS_WEBHOOKS_DATABASE_URL") == "cqrs_webhooks"
    assert user("migrate", "CQRS_WRITER_MIGRATION_DATABASE_URL") == "postgres"  # the owner runs the DDL
    assert "migrate" in SERVICES["webhooks"]["depends_on"]  # its role is made by the migrations


def test_the_list_store_gets_its_roles_at_init_and_each_side_uses_its_own() -> None:
    """The same SQL the native stack runs (`infra/config/readdb_roles.sql`), as readdb's init script."""
    mounts = [str(volume).split(":")[:2] for volume in SERVICES["readdb"]["volumes"]]
    assert [f"./{ROLES_SQL.relative_to(REPO_ROOT)}", "/docker-entrypoint-initdb.d/roles.sql"] in mounts
    assert SERVICES["streams"]["environment"]["CQRS_STREAMS_READDB_USER"] == PROJECTOR_ROLE
    assert SERVICES["readapi"]["environment"]["CQRS_STREAMS_READDB_READER"] == READER_ROLE


def test_image_versions_match_the_pinned_native_versions() -> None:
    assert image_tag("postgres") == versions.POSTGRES_MAJOR
    assert image_tag("readdb") == versions.POSTGRES_MAJOR
    assert image_tag("kafka") == versions.KAFKA
    assert image_tag("elasticsearch") == versions.ELASTICSEARCH
    dockerfile = (REPO_ROOT / "infra" / "docker" / "connect.Dockerfile").read_text()
    assert f"FROM apache/kafka:{versions.KAFKA}" in dockerfile


def test_the_app_image_carries_every_package_the_wheel_ships() -> None:
    """The compose apps run `cqrs …`: an image without one of our packages fails on its first import."""
    import tomllib

    shipped = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]
    dockerfile = (REPO_ROOT / "infra" / "docker" / "app.Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (\w+) \1$", dockerfile, re.M))
    assert copied == set(shipped["packages"])


def test_maven_poms_default_to_the_pinned_versions() -> None:
    """The compose Connect image builds from the Debezium pom's defaults; the native install passes versions.py."""
    assert pom_property("kafka/pom.xml", "kafka.version") == versions.KAFKA
    assert pom_property("connect/pom.xml", "kafka.version") == versions.KAFKA
    assert pom_property("debezium/pom.xml", "debezium.version") == versions.DEBEZIUM
    assert pom_property("elasticsearch/pom.xml", "elasticsearch.version") == versions.ELASTICSEARCH


@pytest.mark.parametrize(
    ("service", "config", "wal_level"),
    [("postgres", "postgresql.conf", "logical"), ("readdb", "readdb.conf", "replica")],
)
def test_postgres_settings_match(service: str, config: str, wal_level: str) -> None:
    """The write model's cluster streams its WAL to Debezium; the read store's replicates nothing."""
    native = dict(re.findall(r"^(\w+)\s*=\s*'?([^'\s#]+)'?", (CONFIG / config).read_text(), re.M))
    flags = SERVICES[service]["command"]
    compose = dict(flag.split("=", 1) for flag in flags if "=" in flag)
    assert compose["wal_level"] == native["wal_level"] == wal_level
    for key, value in compose.items():
        assert native[key] == value, key


def test_the_read_store_is_its_own_database_server() -> None:
    from infra.services.postgres import Postgres, ReadDb

    assert SERVICES["readdb"]["environment"]["POSTGRES_DB"] == ReadDb.database != Postgres.database
    assert SERVICES["readdb"]["volumes"] != SERVICES["postgres"]["volumes"]
    assert "readdb" in SERVICES["streams"]["depends_on"]
    assert "readdb" in SERVICES["readapi"]["depends_on"]


def test_kafka_settings_match() -> None:
    native = properties(CONFIG / "kafka-server.properties")
    environment = SERVICES["kafka"]["environment"]
    compared = 0
    for variable, value in environment.items():
        key = variable.removeprefix("KAFKA_").lower().replace("_", ".")
        if key in native and key not in HOST_SPECIFIC and "{{" not in native[key]:
            assert native[key] == str(value), key
            compared += 1
    assert native["auto.create.topics.enable"] == "false"
    assert compared >= 10


def test_connect_worker_settings_match() -> None:
    native = properties(CONFIG / "connect-distributed.properties")
    container = properties(REPO_ROOT / "infra" / "docker" / "connect-distributed.properties")
    assert native.keys() == container.keys()
    for key in native.keys() - HOST_SPECIFIC:
        assert native[key] == container[key], key


def test_elasticsearch_settings_match() -> None:
    native = yaml.safe_load((CONFIG / "elasticsearch.yml").read_text().replace("{{", "").replace("}}", ""))
    for key, value in SERVICES["elasticsearch"]["environment"].items():
        if key != "ES_JAVA_OPTS":
            assert str(native[key]).lower() == str(value).lower(), key
    heap = re.findall(r"-Xm[sx]\d+m", SERVICES["elasticsearch"]["environment"]["ES_JAVA_OPTS"])
    from infra.services.elasticsearch import HEAP

    assert heap == HEAP.split()


def test_clickhouse_users_match() -> None:
    """clickhouse-server gets the native service's two users: `default` (the streams worker's) with a password, and a
    read-only `analyst` with the same limits; passwords come from the environment, never from the file."""
    from infra.clickhouse.config import ServerSettings

    defaults = {name: field.default for name, field in ServerSettings.model_fields.items()}
    environment = SERVICES["clickhouse"]["environment"]
    assert "CLICKHOUSE_SKIP_USER_SETUP" not in environment  # that would leave `default` without a password
    assert environment["CLICKHOUSE_USER"] == defaults["writer_user"]
    users_xml = REPO_ROOT / "infra" / "docker" / "clickhouse-analyst.xml"
    assert (
        f"./{users_xml.relative_to(REPO_ROOT)}:/etc/clickhouse-server/users.d/analyst.xml:ro"
        in (SERVICES["clickhouse"]["volumes"])
    )
    root = ET.parse(users_xml).getroot()
    (analyst,) = root.findall("users/*")
    assert analyst.tag == defaults["analyst_user"]
    password = analyst.find("password")
    assert password is not None
    assert not (password.text or "").strip()
    profile = root.find(f"profiles/{analyst.findtext('profile')}")
    assert profile is not None
    assert profile.findtext("readonly") == "1"
    for setting in ("max_execution_time", "max_memory_usage", "max_result_bytes"):
        native = defaults[f"analyst_{setting}_s" if setting == "max_execution_time" else f"analyst_{setting}"]
        assert profile.findtext(setting) == str(native), setting
    writer_variable = re.fullmatch(r"\$\{(\w+):\?.+\}", environment["CLICKHOUSE_PASSWORD"])
    analyst_variable = re.fullmatch(r"\$\{(\w+):\?.+\}", environment[password.get("from_env", "")])
    assert writer_variable is not None  # required variables: compose refuses to start without them
    assert analyst_variable is not None
    streams, readapi = SERVICES["streams"]["environment"], SERVICES["readapi"]["environment"]
    assert streams["CQRS_STREAMS_CLICKHOUSE_PASSWORD"] == environment["CLICKHOUSE_PASSWORD"]
    assert readapi["CQRS_READAPI_CLICKHOUSE_PASSWORD"] == environment[password.get("from_env", "")]
    assert "CQRS_STREAMS_CLICKHOUSE_PASSWORD" not in readapi  # the read API never holds the writer's password

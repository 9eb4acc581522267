"""Where Connect, Kafka and the source database are; defaults match the native stack."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.settings import Ports

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
TOPICS_FILE = Path(__file__).resolve().parent / "topics.yaml"


class ConnectorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQRS_CONNECTORS_")

    connect_url: str = f"http://127.0.0.1:{Ports().connect}"
    kafka_bootstrap: str = f"127.0.0.1:{Ports().kafka}"
    # How Connect (not this CLI) reaches Postgres: the same on loopback, `postgres` inside compose.
    postgres_host: str = "127.0.0.1"
    postgres_port: int = Ports().postgres
    # Debezium's own role (writer migration 0008_service_roles): REPLICATION, the published tables, its heartbeat.
    postgres_user: str = "cqrs_relay"
    postgres_password: str = ""
    postgres_database: str = "orders"
    # How this CLI reaches Postgres, to report the replication slot's lag.
    postgres_dsn: str = f"host=127.0.0.1 port={Ports().postgres} user=cqrs_relay dbname=orders connect_timeout=3"
    request_timeout_s: float = 30.0
    config_dir: Path = CONFIG_DIR
    topics_file: Path = TOPICS_FILE

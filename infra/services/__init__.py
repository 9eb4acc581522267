"""The eight native services, in start order (a service starts after those it depends on are healthy)."""

from infra.services.base import Service
from infra.services.clickhouse import ClickHouse
from infra.services.connect import Connect
from infra.services.elasticsearch import Elasticsearch
from infra.services.ferretdb import FerretDB
from infra.services.kafka import Kafka
from infra.services.postgres import Postgres, ReadDb
from infra.services.redis import Redis
from infra.settings import StackSettings

SERVICE_TYPES: tuple[type[Service], ...] = (
    Postgres,
    ReadDb,
    Redis,
    Kafka,
    Elasticsearch,
    FerretDB,
    ClickHouse,
    Connect,
)
SERVICE_NAMES = tuple(service.name for service in SERVICE_TYPES)


def all_services(settings: StackSettings) -> list[Service]:
    return [service_type(settings) for service_type in SERVICE_TYPES]


__all__ = ["SERVICE_NAMES", "SERVICE_TYPES", "Service", "all_services"]

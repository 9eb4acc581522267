"""Where the streams worker finds Kafka and the stores, and how it batches; defaults match the native stack."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.clickhouse.credentials import ANALYST_USER, WRITER_USER, stack_credentials
from infra.readdb_roles import PROJECTOR_ROLE, READER_ROLE
from infra.settings import Ports
from schemas.read_models import DLQ_PREFIX, EVENTS_TOPIC, MIRROR_PREFIX
from streams.contract import ANALYTICS, SEARCH


def _ports() -> Ports:
    return Ports()


def clickhouse_login(role: Literal["writer", "analyst"], *, password: bool = False) -> str:
    """A user name or password from the native stack's ClickHouse users file; empty before the stack made one
    (the server then refuses the connection with AUTHENTICATION_FAILED, which names the fix)."""
    credentials = stack_credentials()
    if credentials is None:
        return "" if password else {"writer": WRITER_USER, "analyst": ANALYST_USER}[role]
    if role == "writer":
        return credentials.writer_password.get_secret_value() if password else credentials.writer_user
    return credentials.analyst_password.get_secret_value() if password else credentials.analyst_user


class StreamsSettings(BaseSettings):
    """One model for the worker, the CLI and the tests; override with `CQRS_STREAMS_<FIELD>`.

    The name fields (`list_schema`, `mongo_database`, `search_alias`, `clickhouse_database`, `redis_prefix`,
    `group_prefix`, `dlq_prefix`) exist so that tests and parallel environments can run side by side on one stack.
    """

    model_config = SettingsConfigDict(env_prefix="CQRS_STREAMS_")

    host: str = "127.0.0.1"
    ports: Ports = Field(default_factory=_ports)
    # Per-service hosts, for networks where each service has its own name (docker-compose); default: `host`.
    kafka_host: str | None = None
    mongo_host: str | None = None
    elasticsearch_host: str | None = None
    clickhouse_host: str | None = None
    redis_host: str | None = None
    readdb_host: str | None = None

    topic: str = EVENTS_TOPIC
    group_prefix: str = ""
    """Prepended to every consumer group id (`<prefix><projection>.g<generation>`)."""
    dlq_prefix: str = DLQ_PREFIX
    """The DLQ topic of a projection is `<dlq_prefix><projection>`."""

    mongo_database: str = "orders"
    mongo_collection: str = "orders"
    """Readers resolve this name through the `read_models` pointer document to `orders_v<N>`."""
    mongo_position_filter: bool = False
    """Replacements match only an older stored position (`{_id, position: {$lt}}`): the store-side fence against a
    stale worker. On for MongoDB (compose); off for FerretDB 1.24, which would scan the collection per statement for
    any filter beyond a bare `_id` (the worker's lease fences there, `streams.ownership`)."""
    search_alias: str = "orders"
    """Readers use the alias; the worker writes to the index `<alias>-v<N>` behind it."""
    clickhouse_database: str = "analytics"
    clickhouse_user: str = Field(default_factory=lambda: clickhouse_login("writer"))
    clickhouse_password: SecretStr = Field(default_factory=lambda: SecretStr(clickhouse_login("writer", password=True)))
    """Default: the writer user of the native stack's generated users file (`cqrs stack credentials clickhouse`)."""
    redis_prefix: str = MIRROR_PREFIX
    readdb_database: str = "readmodels"
    readdb_user: str = PROJECTOR_ROLE
    """Who `readdb_url` connects as. The read API reads as `readdb_reader` (`as_list_reader`)."""
    readdb_password: SecretStr | None = None
    readdb_reader: str = READER_ROLE
    readdb_reader_password: SecretStr | None = None
    """No passwords on the native stack (loopback trust, as for the write model's roles); a deployment sets them."""
    list_schema: str = "lists"
    """Schema of the list read model in `readdb`: the view `orders` readers query, its generation tables
    `orders_v<N>` and the `generations` table that says which one the view shows."""

    batch_size: int = 2000
    """Most events handed to a projection at once; one bulk write per store per batch."""
    batch_timeout_s: float = 0.02
    """How long a batch waits to fill up before it is processed anyway: the freshness price of batching. Under load
    batches fill (or the previous flush is still running) long before this; when the topic is quiet, an event waits
    at most this long."""
    rebuild_batch_size: int = 10_000
    """Most events a rebuild hands over at once: nobody reads its generation yet, so it may batch for throughput alone
    (an order's events then mostly land in one batch, and most stores write one record per order and batch)."""
    batch_windows_s: dict[str, float] = Field(default_factory=lambda: {ANALYTICS: 0.5, SEARCH: 0.1})
    """Longer windows for the projections whose store pays per write request, not per row: ClickHouse makes a part
    per INSERT (and merges it later), so analytics takes at most two INSERTs a second (it may trail detail by that
    much); Elasticsearch shows writes only at its next refresh (`refresh_interval`) anyway. A projection not named
    here, or a `batch_timeout_s` above its window, uses `batch_timeout_s`."""
    state_cache_size: int = 200_000
    """Orders whose last applied state the worker keeps in memory, so most events need no store read."""
    flush_retry_max_s: float = 30.0
    """Longest pause between retries of a failed flush; a flush is retried until it succeeds."""
    target_check_s: float = 5.0
    """How often a worker checks that its target generation is still the one readers see."""
    metrics_port: int = 59400
    """Prometheus port of the first projection; the others follow (+1, +2, +3); 0 turns metrics off. Worker `k`
    of a projection (`workers`) serves on the port + 4·k."""
    metrics_host: str = "127.0.0.1"
    """Where the metrics ports listen: loopback natively; a container's Prometheus needs 0.0.0.0 (compose)."""
    workers: int = 1
    """Worker processes per projection (`cqrs streams worker --workers N`): they share the projection's consumer
    group, Kafka gives each some of the event topic's partitions, so at most one per partition does any work. Each
    worker also takes 1/N of the store's shared limits (FerretDB's connection pool): set it to the total across
    supervisors."""
    session_timeout_s: float = 10.0
    """How long the group waits for a silent worker before giving its partitions to the others (a killed worker's
    partitions move after this long)."""
    heartbeat_s: float = 3.0

    @property
    def lease_s(self) -> float:
        """How long a worker may stand still before it must assume its partitions moved (`streams.ownership`): the
        session less a heartbeat interval (the last heartbeat may be that old) and a second of margin."""
        return max(self.session_timeout_s - self.heartbeat_s - 1.0, 1.0)

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host or self.host}:{self.ports.kafka}"

    @property
    def mongo_url(self) -> str:
        return f"mongodb://{self.mongo_host or self.host}:{self.ports.ferretdb}/"

    @property
    def elasticsearch_url(self) -> str:
        return f"http://{self.elasticsearch_host or self.host}:{self.ports.elasticsearch}"

    @property
    def readdb_url(self) -> str:
        password = f":{quote(self.readdb_password.get_secret_value(), safe='')}" if self.readdb_password else ""
        server = f"{self.readdb_host or self.host}:{self.ports.readdb}"
        return f"postgresql://{quote(self.readdb_user, safe='')}{password}@{server}/{self.readdb_database}"

    def as_list_reader(self) -> StreamsSettings:
        """These settings as the read API's lists use them: `readdb_url` connects as the read-only role."""
        return self.model_copy(
            update={"readdb_user": self.readdb_reader, "readdb_password": self.readdb_reader_password}
        )

    @property
    def redis_url(self) -> str:
        return f"redis://{self.redis_host or self.host}:{self.ports.redis}/0"

    @property
    def clickhouse_server(self) -> str:
        return self.clickhouse_host or self.host

    def group_id(self, projection: str, generation: int) -> str:
        """The consumer group of one generation of a projection: a rebuild starts a fresh group at offset 0."""
        return f"{self.group_prefix}{projection}.g{generation}"

    def batch_window_s(self, projection: str) -> float:
        """How long a batch of `projection` waits to fill up (see `batch_windows_s`)."""
        return max(self.batch_windows_s.get(projection, 0.0), self.batch_timeout_s)

    def dlq_topic(self, projection: str) -> str:
        return f"{self.dlq_prefix}{projection}"

    def in_region(self, region: str) -> StreamsSettings:
        """These settings for the read region `region` (`docs/regions.md`): its own consumer groups, DLQ topics, Mongo
        database, search alias, ClickHouse database, list schema and mirror keys, beside the primary's on the same
        servers. The event topic stays: every region projects the one log, `events.Order`."""
        if not (0 < len(region) <= 16 and region.isascii() and region.isalnum() and region[0].isalpha()):
            raise ValueError(f"a region is 1-16 letters and digits, first a letter: {region[:20]!r}")
        region = region.lower()  # it names an Elasticsearch alias, which must be lowercase
        return self.model_copy(
            update={
                "group_prefix": f"{region}.{self.group_prefix}",
                "dlq_prefix": f"{self.dlq_prefix}{region}.",
                "mongo_database": f"{self.mongo_database}_{region}",
                "search_alias": f"{self.search_alias}-{region}",
                "clickhouse_database": f"{self.clickhouse_database}_{region}",
                "list_schema": f"{self.list_schema}_{region}",
                "redis_prefix": f"{self.redis_prefix}:{region}",
            }
        )

    def names_env(self) -> dict[str, str]:
        """The name fields as `CQRS_STREAMS_*` variables: a process started with them (a region's worker, read API or
        CLI) reads and writes the same read models as these settings."""
        names = ["group_prefix", "dlq_prefix", "mongo_database", "search_alias", "clickhouse_database", "list_schema"]
        names.append("redis_prefix")
        return {f"CQRS_STREAMS_{name.upper()}": str(getattr(self, name)) for name in names}

"""Every pinned version of the native stack, in one place (the Maven poms under infra/maven read theirs from here)."""

POSTGRES_MAJOR = "15"  # Debian bookworm's postgresql-15
REDIS_DEBIAN_PACKAGE = "redis-server"  # Debian bookworm's 7.0.x
KAFKA = "4.1.1"
DEBEZIUM = "3.3.2.Final"
ELASTICSEARCH = "8.19.21"  # 8.x runs on Java 17; the Python client is pinned to the same major
FERRETDB = "v1.24.2"  # last 1.x line: has the SQLite backend (2.x needs the DocumentDB Postgres extension)
GHZ = "v0.121.0"  # gRPC load generator for `cqrs bench writer --grpc` (Go, beside vegeta for HTTP)
JAVA_MIN_MAJOR = 17
PROMETHEUS = "v0.316.0"  # the Go module of Prometheus 3.16.0 (3.x is published as v0.3xx.y): promtool, for the rules
VEGETA = "v12.13.0"  # HTTP load generator for `cqrs bench readapi` (Go: the client must not be the bottleneck)
CLICKHOUSE_JDBC = "0.10.0"  # com.clickhouse:clickhouse-jdbc, the official JDBC driver (client compatibility suite)
CLICKHOUSE_GO = "v2.51.0"  # clickhouse-go/v2, as pinned in tests/infra/clickhouse_compat/go/go.mod

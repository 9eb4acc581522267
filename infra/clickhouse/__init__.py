"""ClickHouse for the native stack: one process owns the chdb data dir and speaks ClickHouse's HTTP interface.

chdb (embedded ClickHouse) lets only one process open a data directory, but the streams worker, the read API
and analysts all need it at once. `server` owns the directory and serves the subset of the HTTP protocol that
clickhouse-connect uses, so every client keeps its ordinary `clickhouse_connect.get_client(host, port)`
code that talks to a real clickhouse-server under docker-compose. README.md here lists the protocol subset.
"""

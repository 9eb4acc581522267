"""Runners bring batches of records from Kafka to a `BatchHandler` and commit offsets after it returns.

`kafka` is the default: a bare aiokafka consumer that overlaps writing one batch with fetching and deciding the next,
also used by rebuilds (a bounded job with a progress bar). `faust` (a Faust agent per projection) keeps the same
contract and passes the same tests; it processes one batch at a time and costs more CPU per event and when idle
(`docs/performance.md` measures both in one run).
"""

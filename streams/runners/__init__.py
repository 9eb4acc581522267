"""Runners bring batches of records from Kafka to a `BatchHandler` and commit offsets after it returns.

`faust` is the default (a Faust agent per projection); `kafka` is the same contract on a bare aiokafka consumer,
used by rebuilds (a bounded job with a progress bar) and as a yardstick for Faust's per-event overhead.
"""

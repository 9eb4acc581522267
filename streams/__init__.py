"""Projections of the Order events into the read models, and the runtime that feeds them.

Layout: `projections/` turn events into store records (no I/O), `sinks/` write records to one store each behind the
`streams.sink.Sink` port, `engine` sequences a batch (duplicates, gaps, parked aggregates) and commits it,
`runners/` bring batches from Kafka (aiokafka by default, or Faust), `dlq`, `checkpoints`, `rebuild` and `cli` do
what their names say.
`contract` names what readers rely on (projections, reader-facing store names, checkpoint keys): the read API's
only way into this package, besides `settings`.
A projection never imports Faust or a store client.
"""

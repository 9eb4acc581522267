"""Where has my command got to? `GET /commands/{commandId}` answers the stored outcome and how far its events went.

Transport-free (the HTTP route and a gRPC call both wrap `CommandTracer.trace`):

- `relay_log`: the command's events in the event topic (partition, offsets) and parked events in the DLQ topics,
  read on demand through one Kafka consumer;
- `mirror`: each projection's applied version of the order, from the checkpoint mirror the workers keep in Redis;
- `announcements`: one pub/sub listener per process that wakes `?wait=applied` requests (no polling);
- `relay_state`: whether the relay (Debezium connector, its task, its replication slot) runs, for readiness;
- `model` and `tracer`: the trace document and how it is put together.
"""

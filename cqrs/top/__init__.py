"""`cqrs top`: a live terminal view of the pipeline, from the services' own /metrics and `cqrs projections status`."""

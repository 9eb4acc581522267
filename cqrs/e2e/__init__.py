"""End-to-end load, freshness and fault checks on the whole running pipeline (`cqrs bench e2e`, `cqrs chaos`).

`mix` chooses realistic commands from what a client knows; `reference` is the in-memory model of what the writer
accepted; `load` posts commands open-loop at a fixed rate; `freshness` times accepted → visible per store; `wire`
reads what reached `events.Order`; `chaos` kills and restarts services under load and checks convergence.
The sustainable rate: `commands` pregenerates a valid mix for vegeta, `lag` samples every projection's consumer
lag, `verdict` decides whether a rate held and which to try next, `sustainable` runs the steps; `cpu` reads what
each part of the pipeline spent per command.
"""

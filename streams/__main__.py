"""`python -m streams worker …`: the same commands as `cqrs streams`, without the root CLI (supervised children)."""

from streams.cli import app

app()

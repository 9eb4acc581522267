"""Batch import of commands: NDJSON in (`POST /commands/batch`, `cqrs import FILE`), one result per line out.

`lines` parses and validates one line into a command (or the problem with it), `commands` maps command names to
their bodies and domain commands, `apply` runs the lines through the command handler a chunk at a time (on
Postgres, one transaction per chunk).
"""

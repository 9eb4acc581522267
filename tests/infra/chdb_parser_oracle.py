"""The engine's own verdict on query texts: `python tests/infra/chdb_parser_oracle.py < queries.json`.

Reads a JSON list of query texts, prints a JSON list of verdicts: "multi" (ClickHouse's parser refuses the text as
several statements), "single" (it parses as one), "error" (any other syntax error). Runs in its own process because a
process hosts one chdb engine, and the test process must not claim it.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import chdb


def _escaped(text: str) -> str:
    """Query parameters are read in TSV-escaped form."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def verdict(engine: Any, query: str) -> str:
    try:
        engine.query("SELECT formatQuerySingleLine({q:String})", "TSV", params={"q": _escaped(query)})
    except Exception as exc:
        return "multi" if "Multi-statements are not allowed" in str(exc) else "error"
    return "single"


if __name__ == "__main__":
    engine = chdb.connect(":memory:")  # type: ignore[no-untyped-call, unused-ignore]  # typed or not, by how mypy finds chdb
    print(json.dumps([verdict(engine, query) for query in json.load(sys.stdin)]))

"""The `Idempotency-Key` header: its format, and the fingerprint that tells a retry from another request."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Annotated

from pydantic import BaseModel, WithJsonSchema

from servicekit.errors import FieldError, InvalidRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""1-255 printable ASCII characters: what `parse_key` takes, and what OpenAPI shows."""
_VALID_KEY = re.compile(KEY_PATTERN)
Key = Annotated[str | None, WithJsonSchema({"type": "string", "pattern": KEY_PATTERN})]
"""The header as a parameter: optional, never null."""


def parse_key(raw: str | None) -> str | None:
    """The key, if the header is present: 1-255 printable ASCII characters (a UUID is a good choice)."""
    if raw is None:
        return None
    if not _VALID_KEY.fullmatch(raw):
        raise InvalidRequest([FieldError(HEADER, "must be 1 to 255 printable ASCII characters")])
    return raw


def fingerprint(method: str, path: str, body: BaseModel | None, if_match: str | None) -> bytes:
    """sha256 over what makes two requests the same command: method, path, canonical body, If-Match.

    The body is canonicalised from the validated model (sorted keys, defaults filled in), so whitespace, key
    order or an explicit `"expectedVersion": null` do not make a retry look like a different request.
    """
    data = None if body is None else body.model_dump(mode="json", by_alias=True)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    material = "\n".join((method.upper(), path, canonical, if_match or ""))
    return hashlib.sha256(material.encode()).digest()

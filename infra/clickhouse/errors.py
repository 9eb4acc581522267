"""ClickHouse-style errors: a numeric code, `Code: N. DB::Exception: ... (NAME)` text, the HTTP status.

clickhouse-connect turns any non-2xx answer into DatabaseError, reading the code from the
X-ClickHouse-Exception-Code header and the symbolic name from the body, so both must look like the server's.
"""

from __future__ import annotations

import re

# The few codes this server raises itself (values from ClickHouse's src/Common/ErrorCodes.cpp).
SYNTAX_ERROR = 62
BAD_ARGUMENTS = 36
NOT_IMPLEMENTED = 48
UNKNOWN_COMPRESSION_METHOD = 89
TOO_LARGE_SIZE_COMPRESSED = 39
CHECKSUM_DOESNT_MATCH = 40
READONLY = 164
CANNOT_DECOMPRESS = 271
AUTHENTICATION_FAILED = 516
ACCESS_DENIED = 497
TIMEOUT_EXCEEDED = 159
STD_EXCEPTION = 1001

_NAMES = {
    SYNTAX_ERROR: "SYNTAX_ERROR",
    BAD_ARGUMENTS: "BAD_ARGUMENTS",
    NOT_IMPLEMENTED: "NOT_IMPLEMENTED",
    UNKNOWN_COMPRESSION_METHOD: "UNKNOWN_COMPRESSION_METHOD",
    TOO_LARGE_SIZE_COMPRESSED: "TOO_LARGE_SIZE_COMPRESSED",
    CHECKSUM_DOESNT_MATCH: "CHECKSUM_DOESNT_MATCH",
    READONLY: "READONLY",
    CANNOT_DECOMPRESS: "CANNOT_DECOMPRESS",
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED",
    ACCESS_DENIED: "ACCESS_DENIED",
    STD_EXCEPTION: "STD_EXCEPTION",
}

# Subset of clickhouse-server's exceptionCodeToHTTPStatus (HTTPHandler.cpp). Never 429/503/504 here:
# clickhouse-connect retries those, and a deterministic query error must not be retried.
_HTTP_STATUS = {
    194: 401,  # REQUIRED_PASSWORD
    192: 403,  # UNKNOWN_USER
    193: 403,  # WRONG_PASSWORD
    AUTHENTICATION_FAILED: 403,
    ACCESS_DENIED: 403,
    TIMEOUT_EXCEEDED: 408,  # clickhouse-server's mapping too; clickhouse-connect does not retry it
    6: 400,  # CANNOT_PARSE_TEXT
    27: 400,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
    BAD_ARGUMENTS: 400,
    43: 400,  # ILLEGAL_TYPE_OF_ARGUMENT
    47: 400,  # UNKNOWN_IDENTIFIER
    53: 400,  # TYPE_MISMATCH
    SYNTAX_ERROR: 400,
    73: 400,  # UNKNOWN_FORMAT
    UNKNOWN_COMPRESSION_METHOD: 400,
    115: 400,  # UNKNOWN_SETTING
    46: 404,  # UNKNOWN_FUNCTION
    60: 404,  # UNKNOWN_TABLE
    81: 404,  # UNKNOWN_DATABASE
    NOT_IMPLEMENTED: 501,
}

_CODE_RE = re.compile(r"Code: (\d+)\.")
_NAME_RE = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")


class ClickHouseError(Exception):
    """An error answered to the client; the server itself keeps running."""

    def __init__(self, code: int, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.http_status = http_status or _HTTP_STATUS.get(code, 500)

    @classmethod
    def raised_here(cls, code: int, detail: str, http_status: int | None = None) -> ClickHouseError:
        """An error of this server, worded like the engine's own."""
        name = _NAMES.get(code, "UNKNOWN")
        return cls(code, f"Code: {code}. DB::Exception: {detail}. ({name})", http_status)

    @classmethod
    def from_engine(cls, exc: BaseException) -> ClickHouseError:
        """chdb raises plain exceptions whose text holds the ClickHouse message, sometimes behind a wrapper
        prefix ("Streaming insert finish failed: Code: 33. ...")."""
        text = str(exc)
        start = text.find("Code: ")
        if start < 0:
            return cls.raised_here(STD_EXCEPTION, text or type(exc).__name__)
        message = text[start:].strip()
        match = _CODE_RE.match(message)
        return cls(int(match.group(1)) if match else STD_EXCEPTION, message)

    @property
    def name(self) -> str:
        """The symbolic name, e.g. UNKNOWN_TABLE (the last one: chdb sometimes nests messages)."""
        names = _NAME_RE.findall(self.message)
        return names[-1] if names else _NAMES.get(self.code, "UNKNOWN")

    def body(self, version: str) -> bytes:
        """clickhouse-server ends every error body with its version trailer; chdb only sometimes does."""
        text = self.message if "(version " in self.message else f"{self.message} (version {version})"
        return (text + "\n").encode()

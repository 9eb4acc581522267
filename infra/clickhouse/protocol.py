"""The HTTP side of ClickHouse's interface: credentials, URL parameters, the response headers clients read.

Framework-free (plain mappings in, dataclasses out) so the rules can be read and tested without a server.
Header mappings passed in must look names up case-insensitively (Starlette's `Headers` does).
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import hmac
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.parser import BytesParser
from enum import StrEnum

from infra.clickhouse.compression import DEFAULT_RESPONSE_LEVEL, choose_response_encoding
from infra.clickhouse.errors import (
    ACCESS_DENIED,
    AUTHENTICATION_FAILED,
    BAD_ARGUMENTS,
    NOT_IMPLEMENTED,
    ClickHouseError,
)

# URL parameters that steer the HTTP request itself and are never engine settings.
TRANSPORT_PARAMS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "user",
        "password",
        "query_id",
        "quota_key",
        "session_id",
        "session_timeout",
        "session_check",
        "close_session",
        "buffer_size",
        "wait_end_of_query",
        "compress",
        "decompress",
        "client_protocol_version",
        "role",
        "stacktrace",
    }
)

# Real engine settings that only mean something to clickhouse-server's HTTP handler (clickhouse-connect sends
# them on every request). Applying them to chdb is harmless but costs a SET per change, so they are dropped.
HTTP_ONLY_SETTINGS = frozenset(
    {
        "enable_http_compression",
        "http_zlib_compression_level",
        "http_native_compression_disable_checksumming_on_decompress",
        # Native TCP protocol settings the Go driver sends with compress=1; over HTTP a compressed answer is LZ4.
        "network_compression_method",
        "network_zstd_compression_level",
        "send_progress_in_http_headers",
        "http_headers_progress_interval_ms",
        "cancel_http_readonly_queries_on_client_close",
        "http_response_buffer_size",
        "http_wait_end_of_query",
        "add_http_cors_header",
    }
)

_SETTING_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DEFAULT_FORMAT = "TabSeparated"


class Role(StrEnum):
    WRITER = "writer"
    ANALYST = "analyst"


@dataclass(frozen=True, slots=True)
class User:
    name: str
    password: str
    role: Role


class UserDirectory:
    def __init__(self, users: list[User]) -> None:
        self._users = {user.name: user for user in users}

    def authenticate(self, name: str, password: str) -> User:
        user = self._users.get(name)
        # compare_digest even for unknown users, so timing does not reveal which names exist
        expected = user.password if user is not None else "\0never-matches"
        if not hmac.compare_digest(password.encode(), expected.encode()) or user is None:
            # Every user has a password (the server refuses to start otherwise), so a request without credentials,
            # which clickhouse-server reads as `default` with an empty password, always ends here.
            hint = "; no password was given (anonymous access is refused)" if not password else ""
            raise ClickHouseError.raised_here(
                AUTHENTICATION_FAILED,
                f"{name}: Authentication failed: password is incorrect, or there is no user with such name{hint}",
            )
        return user


def credentials(headers: Mapping[str, str], params: Mapping[str, str]) -> tuple[str, str]:
    """clickhouse-server's order: X-ClickHouse-User/Key headers, HTTP basic auth, `user`/`password`
    parameters; nothing given means the `default` user with an empty password."""
    user = headers.get("x-clickhouse-user")
    key = headers.get("x-clickhouse-key")
    if user is not None or key is not None:
        return user or "default", key or ""
    authorization = headers.get("authorization", "")
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ClickHouseError.raised_here(AUTHENTICATION_FAILED, "Malformed basic authorization header") from exc
        name, _, password = decoded.partition(":")
        return name or "default", password
    if authorization:
        raise ClickHouseError.raised_here(AUTHENTICATION_FAILED, "Only basic HTTP authorization is supported")
    return params.get("user", "default"), params.get("password", "")


# What a browser says about where a request comes from (Fetch Metadata); clients like clickhouse-connect send none.
_SAME_ORIGIN_FETCH = frozenset({"same-origin", "none"})


def refuse_cross_site(headers: Mapping[str, str]) -> None:
    """A web page on another origin must not make a browser run SQL here (CSRF into DDL: a form or `fetch` POST
    needs no CORS preflight, and basic-auth credentials a browser remembered would ride along). Browsers mark such
    requests with `Sec-Fetch-Site` and `Origin`; database clients send neither."""
    fetch_site = headers.get("sec-fetch-site")
    origin = headers.get("origin")
    own_origin = f"http://{headers.get('host', '')}"
    if (fetch_site is not None and fetch_site.lower() not in _SAME_ORIGIN_FETCH) or (
        origin is not None and origin.rstrip("/").lower() != own_origin.lower()
    ):
        raise ClickHouseError.raised_here(
            ACCESS_DENIED,
            f"Cross-site request refused (Origin: {origin or '-'}, Sec-Fetch-Site: {fetch_site or '-'}): "
            "this server takes queries from database clients, not from web pages of other sites",
        )


@dataclass(frozen=True, slots=True)
class QueryRequest:
    """Everything the engine call needs from the HTTP request, apart from the SQL itself."""

    query_id: str
    database: str
    default_format: str
    settings: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)  # {name:Type} bind parameters, without `param_`


_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"", "0", "false"})


def _flag(params: Mapping[str, str], name: str) -> bool:
    """clickhouse-server's boolean URL parameters: 1/0/true/false (any case); anything else is an error."""
    value = params.get(name, "").strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ClickHouseError.raised_here(BAD_ARGUMENTS, f"Cannot parse {name}={params[name]!r} as a boolean")


@dataclass(frozen=True, slots=True)
class Transport:
    """How the bodies travel: ClickHouse's compressed blocks (the JDBC and Go drivers' `compress`/`decompress`)
    and HTTP compression of the answer (`enable_http_compression` + `Accept-Encoding`)."""

    compress: bool = False  # the answer in compressed blocks
    decompress: bool = False  # the request body in compressed blocks
    verify_checksums: bool = True
    http_encoding: str | None = None  # Content-Encoding of the answer
    http_level: int = DEFAULT_RESPONSE_LEVEL


def transport(headers: Mapping[str, str], params: Mapping[str, str]) -> Transport:
    """Everything here is read as clickhouse-server's HTTP handler reads it; a feature this server does not have
    is refused by name rather than ignored, so a client never misreads a body."""
    if _flag(params, "session_check"):
        raise ClickHouseError.raised_here(
            NOT_IMPLEMENTED, "session_check=1 is not supported: this server keeps no HTTP sessions"
        )
    http_encoding = None
    # Unset means the engine's default, which is 1 in this ClickHouse version (system.settings says so): an
    # Accept-Encoding alone is enough, as with clickhouse-server.
    if "enable_http_compression" not in params or _flag(params, "enable_http_compression"):
        http_encoding = choose_response_encoding(headers.get("accept-encoding", ""))
    level_text = params.get("http_zlib_compression_level", str(DEFAULT_RESPONSE_LEVEL))
    if not level_text.isdigit():
        raise ClickHouseError.raised_here(BAD_ARGUMENTS, f"Invalid http_zlib_compression_level {level_text!r}")
    return Transport(
        compress=_flag(params, "compress"),
        decompress=_flag(params, "decompress"),
        verify_checksums=not _flag(params, "http_native_compression_disable_checksumming_on_decompress"),
        http_encoding=http_encoding,
        http_level=int(level_text),
    )


def query_request(headers: Mapping[str, str], params: Mapping[str, str]) -> QueryRequest:
    settings: dict[str, str] = {}
    bind: dict[str, str] = {}
    for name, value in params.items():
        if name.startswith("param_"):
            bind[name.removeprefix("param_")] = value
        elif name not in TRANSPORT_PARAMS and name not in HTTP_ONLY_SETTINGS:
            if not _SETTING_NAME_RE.fullmatch(name):
                raise ClickHouseError.raised_here(BAD_ARGUMENTS, f"Invalid setting name {name!r}")
            settings[name] = value
    return QueryRequest(
        query_id=params.get("query_id") or headers.get("x-clickhouse-query-id") or str(uuid.uuid4()),
        database=params.get("database") or headers.get("x-clickhouse-database") or "default",
        default_format=params.get("default_format") or headers.get("x-clickhouse-format") or _DEFAULT_FORMAT,
        settings=settings,
        params=bind,
    )


def form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a multipart/form-data body. clickhouse-connect sends `query` and `param_*` as form fields
    when the bind parameters are too long for a URL (> 4 KiB). File parts are ClickHouse "external data"
    (temporary tables sent with the query), which chdb cannot take: refused."""
    message = BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ClickHouseError.raised_here(BAD_ARGUMENTS, "Malformed multipart/form-data body")
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if part.get_filename() is not None or not isinstance(name, str):
            raise ClickHouseError.raised_here(NOT_IMPLEMENTED, "External data (file parts) is not supported")
        payload = part.get_payload(decode=True)
        fields[name] = payload.decode() if isinstance(payload, bytes) else ""
    return fields


def full_query(params: Mapping[str, str], body: bytes) -> bytes:
    """clickhouse-server: "the entire query consists of the `query` parameter, a line break and the body"."""
    query = params.get("query", "")
    return f"{query}\n".encode() + body if query else body


@dataclass(frozen=True, slots=True)
class Summary:
    read_rows: int = 0
    read_bytes: int = 0
    written_rows: int = 0
    written_bytes: int = 0
    result_bytes: int = 0
    elapsed_ns: int = 0

    def header(self) -> str:
        """X-ClickHouse-Summary: clickhouse-connect returns it as the insert/command QuerySummary; values are
        strings there, as clickhouse-server sends them."""
        values = {
            "read_rows": self.read_rows,
            "read_bytes": self.read_bytes,
            "written_rows": self.written_rows,
            "written_bytes": self.written_bytes,
            "total_rows_to_read": 0,
            "result_rows": 0,  # not reported by chdb
            "result_bytes": self.result_bytes,
            "elapsed_ns": self.elapsed_ns,
        }
        return json.dumps({key: str(value) for key, value in values.items()}, separators=(",", ":"))


def content_type(output_format: str) -> str:
    name = output_format.lower()
    if name.startswith("tabseparated") or name.startswith("tsv"):
        return "text/tab-separated-values; charset=UTF-8"
    if name.startswith("csv"):
        return "text/csv; charset=UTF-8"
    if name.startswith("json"):
        return "application/json; charset=UTF-8"
    if name in ("pretty", "prettycompact", "prettyspace", "vertical", "markdown", "values", "xml"):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"  # Native, RowBinary*, Arrow, Parquet, ...

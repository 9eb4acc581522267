"""Just enough SQL lexing to route an HTTP request the way clickhouse-server does.

The engine parses the SQL; this module only answers what the HTTP layer must know before calling it:
- the leading keyword (logging, metrics, refusing session statements),
- where an `INSERT ... FORMAT <fmt>` statement ends and its (possibly binary) data begins,
- the output format named by a trailing `FORMAT` clause (for the X-ClickHouse-Format header),
- whether the text holds several statements: clickhouse-server refuses them over HTTP, while chdb would run
  them all, which would let `SELECT 1; SET ...` slip session state past the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from infra.clickhouse.errors import BAD_ARGUMENTS, SYNTAX_ERROR, ClickHouseError

TokenKind = Literal["word", "string", "quoted", "punct"]

# One alternation scanned with finditer: a regex lexer runs at C speed, a char loop in Python far slower; that
# matters for large INSERT ... VALUES bodies. Every alternative starts with a distinct character class and the
# quoted forms end at their quote *or* at the end of text, so the scan is linear (no runaway backtracking).
_TOKEN_RE = re.compile(
    r"""
      (?P<ws>[ \t\n\r\f\v]+)
    | (?P<comment>--[^\n]*|\#[^\n]*|/\*.*?(?:\*/|\Z))
    | (?P<string>'(?:[^'\\]+|\\.|'')*(?:'|\Z))
    | (?P<quoted>"(?:[^"\\]+|\\.|"")*(?:"|\Z)|`(?:[^`\\]+|\\.|``)*(?:`|\Z))
    | (?P<heredoc>\$(?P<tag>[A-Za-z0-9_]*)\$.*?(?:\$(?P=tag)\$|\Z))
    | (?P<word>[A-Za-z0-9_\u0080-\U0010ffff]+)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)

# INSERT heads are short; only this much of a body is examined to find where the data starts.
_INSERT_HEAD_WINDOW = 64 * 1024
_WHITESPACE = b" \t\n\r\f\v"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    start: int
    end: int
    depth: int  # parenthesis nesting level; clauses that matter here live at depth 0


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement, split the way the engine call needs it."""

    kind: str  # leading keyword, upper case ("SELECT", "INSERT", ...); "" when there is none
    sql: str  # the whole statement, or for an INSERT with data: the statement up to (not incl.) FORMAT
    output_format: str | None = None  # explicit trailing `FORMAT x` of a non-INSERT statement
    insert_format: str | None = None  # set when the statement is `INSERT ... FORMAT x` followed by data
    data: bytes = b""  # the INSERT data (any format, possibly binary)


def tokens(text: str) -> Iterator[Token]:
    """Significant tokens (no whitespace or comments), lazily, so a caller can stop early."""
    depth = 0
    for match in _TOKEN_RE.finditer(text):
        group = match.lastgroup
        if group in ("ws", "comment"):
            continue
        value = match.group()
        if group == "punct":
            if value == ")":
                depth = max(depth - 1, 0)
            yield Token("punct", value, match.start(), match.end(), depth)
            if value == "(":
                depth += 1
            continue
        kind: TokenKind = "string" if group in ("string", "heredoc") else "quoted" if group == "quoted" else "word"
        yield Token(kind, value, match.start(), match.end(), depth)


def leading_keyword(text: str) -> str:
    for token in tokens(text):
        if token.kind == "word":
            return token.text.upper()
        return "SELECT" if token.text == "(" else ""
    return ""


def _format_name(token: Token) -> str:
    return token.text[1:-1] if token.kind == "quoted" else token.text


def _is_format_clause(before: Token | None, keyword: Token, name: Token) -> bool:
    """`FORMAT x` at top level, not a table or column that happens to be called `format`."""
    if keyword.depth != 0 or keyword.kind != "word" or keyword.text.upper() != "FORMAT":
        return False
    if name.kind not in ("word", "quoted"):
        return False
    return before is None or before.text.upper() not in ("INTO", "TABLE", "FUNCTION", ".", ",")


def _data_start(raw: bytes, after_format: int) -> int:
    """clickhouse-server's rule: data starts after the first newline following the format name, or after the
    whitespace when there is no newline. Binary data may itself start with whitespace bytes."""
    index = after_format
    while index < len(raw) and raw[index] in _WHITESPACE:
        index += 1
        if raw[index - 1] == 0x0A:
            break
    return index


def _split_insert(raw: bytes) -> Statement | None:
    """Find `INSERT ... FORMAT x` and split off its data, lexing only the head of the body.

    latin-1 maps every byte to one character, so offsets in the decoded head are byte offsets in the body and
    binary data after the head cannot make the decoding fail.
    """
    head = raw[:_INSERT_HEAD_WINDOW].decode("latin-1")
    before: Token | None = None
    keyword: Token | None = None
    for token in tokens(head):
        if keyword is not None and _is_format_clause(before, keyword, token):
            # Not stripped: a `-- comment` right before FORMAT must keep its newline, or it would comment out
            # whatever the engine appends to the statement.
            sql = raw[: keyword.start].decode("utf-8")
            data = raw[_data_start(raw, token.end) :]
            return Statement("INSERT", sql, insert_format=_format_name(token), data=data)
        if token.depth == 0 and token.kind == "word" and token.text.upper() in ("VALUES", "SELECT", "WITH"):
            return None  # data inline as SQL text (VALUES) or no data at all (INSERT ... SELECT)
        if token.text == ";":
            return None
        before, keyword = keyword, token
    return None


def _check_single_statement(text: str) -> str | None:
    """Returns the output format of a trailing FORMAT clause; raises on a second statement."""
    output_format: str | None = None
    before: Token | None = None
    keyword: Token | None = None
    ended = False
    for token in tokens(text):
        if ended and token.text != ";":
            raise ClickHouseError.raised_here(SYNTAX_ERROR, "Multi-statements are not allowed")
        if token.text == ";":
            ended = True
            continue
        if keyword is not None and _is_format_clause(before, keyword, token):
            output_format = _format_name(token)
        before, keyword = keyword, token
    return output_format


def parse_statement(raw: bytes) -> Statement:
    """Split the full query bytes (URL `query` + newline + body) into what the engine call needs."""
    kind = leading_keyword(raw[:_INSERT_HEAD_WINDOW].decode("latin-1"))
    if kind == "INSERT":
        try:
            split = _split_insert(raw)
        except UnicodeDecodeError as exc:
            raise ClickHouseError.raised_here(BAD_ARGUMENTS, "INSERT statement is not valid UTF-8") from exc
        if split is not None:
            return split
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ClickHouseError.raised_here(BAD_ARGUMENTS, "Query is not valid UTF-8") from exc
    return Statement(kind, text, output_format=_check_single_statement(text))


def is_session_statement(kind: str) -> bool:
    """SET/USE change the state of the engine session this server shares between all clients of a role; with
    clickhouse-server over HTTP they only persist inside an HTTP session, which this server does not keep."""
    return kind in ("SET", "USE")


def format_name_is_valid(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) is not None

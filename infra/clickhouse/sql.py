"""Just enough SQL lexing to route an HTTP request the way clickhouse-server does.

The engine parses the SQL; this module only answers what the HTTP layer must know before calling it:
- the leading keyword (logging, metrics, refusing session statements),
- where an `INSERT ... FORMAT <fmt>` statement ends and its (possibly binary) data begins,
- the output format named by a trailing `FORMAT` clause (for the X-ClickHouse-Format header),
- whether the text holds several statements: clickhouse-server refuses them over HTTP, while chdb would run
  them all, which would let `SELECT 1; SET ...` slip session state past the server.

The lexer works on bytes, as ClickHouse's does (src/Parsers/Lexer.cpp), and follows its rules wherever a `;` or a
leading keyword could hide: `$` continues a bare word (`a$$` is one word); a heredoc is `$tag$…$tag$` with a tag
of word characters; U+2018…U+2019 quotes make a string and U+201C…U+201D an identifier, with no escapes inside;
block comments nest; `#` starts a comment only before a space or `!`, and `//` starts one too; Unicode spaces are
whitespace. Any other non-ASCII byte is an error token for the engine and punctuation here. A token the engine
reads "to the end of the text" (an unclosed quote) makes the engine fail right there, so nothing after it can
run. A test compares these verdicts with the engine's own parser (tests/infra/test_clickhouse_security.py).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from infra.clickhouse.errors import BAD_ARGUMENTS, SYNTAX_ERROR, ClickHouseError

TokenKind = Literal["word", "string", "quoted", "punct"]

_UNICODE_SPACE = (
    rb"\xc2[\x85\xa0]|\xe1\xa0\x8e|\xe2\x80[\x80-\x8d\xa8\xa9\xaf]|\xe2\x81[\x9f\xa0]|\xe3\x80\x80|\xef\xbb\xbf"
)
# One alternation scanned with finditer: a regex lexer runs at C speed, a byte loop in Python far slower; that
# matters for large INSERT ... VALUES bodies. Quoted forms end at their quote *or* at the end of text, so the scan
# does not backtrack. The order of the alternatives is the engine's order of checks. Two tokens are resolved by
# hand (the scan stops there and resumes after them): block comments, which nest, and anything starting with `$`,
# whose heredoc closing is looked up in an index (a regex search per `$` would be quadratic in `$a1$ $a2$ …`).
_TOKEN_RE = re.compile(
    rb"(?P<ws>(?:[ \t\n\r\f\v]|" + _UNICODE_SPACE + rb")+)"
    rb"""
    | (?P<comment>--[^\n]*|//[^\n]*|\#[ !][^\n]*)
    | (?P<block>/\*)
    | (?P<string>'(?:[^'\\]+|\\.|'')*(?:'|\Z)|\xe2\x80\x98(?=.{3}).*?(?:\xe2\x80\x99|\Z))
    | (?P<quoted>"(?:[^"\\]+|\\.|"")*(?:"|\Z)|`(?:[^`\\]+|\\.|``)*(?:`|\Z)|\xe2\x80\x9c(?=.{3}).*?(?:\xe2\x80\x9d|\Z))
    | (?P<dollar>\$)
    | (?P<binary>[xX]'(?=.)(?:[0-9A-Fa-f]*'|.*)|[bB]'(?=.)(?:[01]*'|.*))
    | (?P<number>[0-9][A-Za-z0-9_]*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<punct>.)
    """,
    re.VERBOSE | re.DOTALL,
)
# Block comments nest (`/* /* */ still a comment */`), which a regex cannot count: they are scanned by hand.
_COMMENT_MARK_RE = re.compile(rb"/\*|\*/")
# Every place a heredoc delimiter `$tag$` starts (they may overlap: `$a$b$` holds `$a$` and `$b$`).
_HEREDOC_MARK_RE = re.compile(rb"(?=(\$[A-Za-z0-9_]*\$))")
_DOLLAR_WORD_RE = re.compile(rb"\$[A-Za-z0-9_$]*")
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_KINDS: dict[str | None, TokenKind] = {"string": "string", "binary": "string", "quoted": "quoted"}

# INSERT heads are short; only this much of a body is examined to find where the data starts.
_INSERT_HEAD_WINDOW = 64 * 1024
_WHITESPACE = b" \t\n\r\f\v"


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    start: int  # byte offsets
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


def _block_comment_end(data: bytes, start: int) -> int | None:
    """Where the (nested) comment opened at `start` ends; None when it is never closed."""
    depth = 0
    for mark in _COMMENT_MARK_RE.finditer(data, start):
        depth += 1 if mark.group() == b"/*" else -1
        if depth == 0:
            return mark.end()
    return None


class _Heredocs:
    """Where each heredoc delimiter occurs, indexed on the first `$` token, so finding a closing is a lookup."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._starts: dict[bytes, list[int]] | None = None

    def end(self, start: int) -> int | None:
        """The end of the heredoc opened at `start`, or None when `start` opens none (no closing delimiter)."""
        if self._starts is None:
            self._starts = {}
            for mark in _HEREDOC_MARK_RE.finditer(self._data):
                self._starts.setdefault(mark.group(1), []).append(mark.start())
        opening = _HEREDOC_MARK_RE.match(self._data, start)
        if opening is None:
            return None
        delimiter = opening.group(1)
        starts = self._starts[delimiter]
        closing = bisect.bisect_left(starts, start + len(delimiter))
        return starts[closing] + len(delimiter) if closing < len(starts) else None


def _dollar_token(data: bytes, start: int, heredocs: _Heredocs) -> tuple[TokenKind, int]:
    """The engine's order at a `$`: a heredoc if its delimiter closes later, a lone `$` before a non-word byte,
    otherwise a bare word (`$` counts as a word character there)."""
    end = heredocs.end(start)
    if end is not None:
        return "string", end
    if start + 1 == len(data) or data[start + 1] not in _WORD_BYTES:
        return "punct", start + 1
    word = _DOLLAR_WORD_RE.match(data, start)
    assert word is not None
    return "word", word.end()


def tokens(data: bytes) -> Iterator[Token]:
    """Significant tokens (no whitespace or comments), lazily, so a caller can stop early."""
    depth = 0
    heredocs = _Heredocs(data)
    position: int | None = 0
    while position is not None:
        resume_at, position = position, None
        for match in _TOKEN_RE.finditer(data, resume_at):
            group, start = match.lastgroup, match.start()
            if group == "block":
                position = _block_comment_end(data, start)  # the scan resumes after it
                if position is None:  # an error token for the engine, up to the end
                    yield Token("punct", "/*", start, len(data), depth)
                break
            if group == "dollar":
                kind, position = _dollar_token(data, start, heredocs)
                yield Token(kind, data[start:position].decode("utf-8", "surrogateescape"), start, position, depth)
                break
            if group in ("ws", "comment"):
                continue
            value = match.group().decode("utf-8", "surrogateescape")
            if group == "punct":
                if value == ")":
                    depth = max(depth - 1, 0)
                yield Token("punct", value, start, match.end(), depth)
                if value == "(":
                    depth += 1
                continue
            yield Token(_KINDS.get(group, "word"), value, start, match.end(), depth)


def leading_keyword(data: bytes) -> str:
    for token in tokens(data):
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
    """Find `INSERT ... FORMAT x` and split off its data, lexing only the head of the body (binary data after the
    head is never lexed)."""
    before: Token | None = None
    keyword: Token | None = None
    for token in tokens(raw[:_INSERT_HEAD_WINDOW]):
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


def _check_single_statement(data: bytes) -> str | None:
    """Returns the output format of a trailing FORMAT clause; raises on a second statement."""
    output_format: str | None = None
    before: Token | None = None
    keyword: Token | None = None
    ended = False
    for token in tokens(data):
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
    kind = leading_keyword(raw[:_INSERT_HEAD_WINDOW])
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
    return Statement(kind, text, output_format=_check_single_statement(raw))


def is_session_statement(kind: str) -> bool:
    """SET/USE change the state of the engine session this server shares between all clients of a role; with
    clickhouse-server over HTTP they only persist inside an HTTP session, which this server does not keep."""
    return kind in ("SET", "USE")


def format_name_is_valid(name: str) -> bool:
    return re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) is not None

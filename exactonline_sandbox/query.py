"""The OData v2 query options the sandbox understands: `$filter`, `$orderby`, `$select`.

A filter is tokenized and parsed by hand into closures (never `eval`): a malformed filter, an
unknown field or a literal of the wrong kind answers 400 `Bad Request - Error in query syntax.`
as the real API does, so a client that builds filters badly fails here before it fails in
production (where each 400 also counts against the hourly error limit).

Comparison semantics follow Exact's SQL Server backend: string comparisons ignore case; GUIDs
compare case-insensitively; `datetime'...'` literals are Amsterdam wall-clock time and compare
against `/Date(ms)/` values; comparing null with gt/ge/lt/le is false.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exactonline_sandbox.formats import date_ms, is_guid, wall_literal_ms

SYNTAX_ERROR = "Bad Request - Error in query syntax."

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
Getter = Callable[[Row], Any]


class QueryError(ValueError):
    """A query option the API would refuse with 400; `message` is Exact's text."""

    def __init__(self, message: str = SYNTAX_ERROR) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- tokens

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<typed>(?:guid|datetime|datetimeoffset|time)'(?:[^']|'')*')
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[LlMmDdFf]?)
  | (?P<punct>[(),])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # "string", "guid", "datetime", "int", "decimal", "name", "punct"
    text: str
    value: Any = None


def tokenize(text: str) -> list[Token]:
    """Split a filter into tokens; any character outside the grammar is a syntax error."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise QueryError()
        pos = m.end()
        kind = m.lastgroup
        raw = m.group()
        if kind == "ws":
            continue
        if kind == "string":
            tokens.append(Token("string", raw, raw[1:-1].replace("''", "'")))
        elif kind == "typed":
            prefix, _, rest = raw.partition("'")
            body = rest[:-1].replace("''", "'")
            if prefix == "guid":
                if not is_guid(body):
                    raise QueryError()
                tokens.append(Token("guid", raw, body.lower()))
            elif prefix == "datetime":
                try:
                    tokens.append(Token("datetime", raw, wall_literal_ms(body)))
                except ValueError as exc:
                    raise QueryError() from exc
            else:
                raise QueryError()
        elif kind == "number":
            suffix = raw[-1] if raw[-1].isalpha() else ""
            digits = raw[:-1] if suffix else raw
            if suffix in ("L", "l"):
                if not re.fullmatch(r"-?\d+", digits):
                    raise QueryError()
                tokens.append(Token("int", raw, int(digits)))
            elif suffix or "." in digits or "e" in digits.lower():
                tokens.append(Token("decimal", raw, float(digits)))
            else:
                tokens.append(Token("int", raw, int(digits)))
        elif kind == "punct":
            tokens.append(Token("punct", raw))
        else:
            tokens.append(Token("name", raw))
    return tokens


# --------------------------------------------------------------------------- values

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_KEYWORDS = _COMPARISONS | {"and", "or", "not"}
_LITERAL_WORDS = {"true": True, "false": False, "null": None}
_STRING_FUNCS = {"trim", "tolower", "toupper", "length"}
_BOOL_FUNCS = {"substringof", "startswith", "endswith"}


@dataclass(frozen=True)
class Value:
    """A compiled value expression: how to get it from a row and what kind of thing it is."""

    get: Getter
    kind: str  # "field:<catalogue type>", "string", "guid", "datetime", "int", "decimal", "bool", "null", "func"
    constant: bool = False


def _constant(value: Any) -> Getter:
    """A literal's getter: the same value for every row."""
    return lambda row: value


def _field(name: str) -> Getter:
    """A field's getter: the row's value (None when the row lacks it)."""
    return lambda row: row.get(name)


def _fold(value: Any) -> Any:
    """Case-insensitive comparison key for strings (SQL Server collation); other values as-is."""
    return value.casefold() if isinstance(value, str) else value


def _as_ms(value: Any) -> Any:
    if isinstance(value, str):
        return date_ms(value)
    return value


_NUMERIC = {"int", "float", "decimal"}


def _check_kinds(left: Value, right: Value) -> None:
    """Refuse comparisons Exact's parser refuses: a literal of the wrong kind for the field."""
    for a, b in ((left, right), (right, left)):
        if not a.kind.startswith("field:") or not b.constant:
            continue
        ftype = a.kind[6:]
        lit = b.kind
        if lit == "null":
            continue
        if ftype in ("int", "float") and lit not in ("int", "decimal"):
            raise QueryError()
        if ftype == "bool" and lit != "bool":
            raise QueryError()
        if ftype == "string" and lit in ("int", "decimal", "bool"):
            raise QueryError()


def _comparison(op: str, left: Value, right: Value) -> Predicate:
    _check_kinds(left, right)
    lget, rget = left.get, right.get
    if "datetime" in (left.kind, right.kind):

        def lget(row: Row, g: Getter = left.get) -> Any:
            return _as_ms(g(row))

        def rget(row: Row, g: Getter = right.get) -> Any:
            return _as_ms(g(row))

    else:

        def lget(row: Row, g: Getter = left.get) -> Any:
            return _fold(g(row))

        def rget(row: Row, g: Getter = right.get) -> Any:
            return _fold(g(row))

    if op == "eq":
        return lambda row: lget(row) == rget(row)
    if op == "ne":
        return lambda row: lget(row) != rget(row)

    def ordered(row: Row) -> bool:
        a, b = lget(row), rget(row)
        if a is None or b is None:
            return False
        try:
            if op == "gt":
                return a > b
            if op == "ge":
                return a >= b
            if op == "lt":
                return a < b
            return a <= b
        except TypeError:
            return False

    return ordered


# --------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over the token list: or > and > not > comparison > primary."""

    def __init__(self, tokens: list[Token], fields: Mapping[str, str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise QueryError()
        self.pos += 1
        return tok

    def expect_punct(self, text: str) -> None:
        tok = self.take()
        if tok.kind != "punct" or tok.text != text:
            raise QueryError()

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "name" and tok.text in words

    def parse(self) -> Predicate:
        pred = self.parse_or()
        if self.peek() is not None:
            raise QueryError()
        return pred

    def parse_or(self) -> Predicate:
        parts = [self.parse_and()]
        while self.at_word("or"):
            self.take()
            parts.append(self.parse_and())
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(p(row) for p in parts)

    def parse_and(self) -> Predicate:
        parts = [self.parse_not()]
        while self.at_word("and"):
            self.take()
            parts.append(self.parse_not())
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(p(row) for p in parts)

    def parse_not(self) -> Predicate:
        if self.at_word("not"):
            self.take()
            inner = self.parse_not()
            return lambda row: not inner(row)
        return self.parse_comparison()

    def parse_comparison(self) -> Predicate:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.text == "(":
            # A parenthesised boolean expression, unless it is a parenthesised value compared
            # with something (rare; not supported: Exact's own clients never send it).
            self.take()
            inner = self.parse_or()
            self.expect_punct(")")
            return inner
        left = self.parse_value()
        if self.at_word(*_COMPARISONS):
            op = self.take().text
            right = self.parse_value()
            return _comparison(op, left, right)
        return self._as_predicate(left)

    def _as_predicate(self, value: Value) -> Predicate:
        if value.kind in ("bool", "field:bool", "func"):
            get = value.get
            return lambda row: bool(get(row))
        raise QueryError()

    def parse_value(self) -> Value:
        tok = self.take()
        if tok.kind in ("string", "guid", "datetime", "int", "decimal"):
            v = tok.value
            return Value(_constant(v), tok.kind, constant=True)
        if tok.kind != "name":
            raise QueryError()
        word = tok.text
        if word in _LITERAL_WORDS:
            v = _LITERAL_WORDS[word]
            return Value(_constant(v), "null" if v is None else "bool", constant=True)
        if word in _KEYWORDS:
            raise QueryError()
        nxt = self.peek()
        if nxt is not None and nxt.kind == "punct" and nxt.text == "(":
            return self.parse_call(word)
        if word not in self.fields:
            raise QueryError()
        return Value(_field(word), "field:" + self.fields[word])

    def parse_call(self, name: str) -> Value:
        self.expect_punct("(")
        args = [self.parse_value()]
        while True:
            tok = self.take()
            if tok.kind == "punct" and tok.text == ")":
                break
            if tok.kind == "punct" and tok.text == ",":
                args.append(self.parse_value())
                continue
            raise QueryError()
        if name in _STRING_FUNCS and len(args) == 1:
            g = args[0].get
            if name == "trim":
                return Value(lambda row: _strop(g(row), str.strip), "string")
            if name == "tolower":
                return Value(lambda row: _strop(g(row), str.lower), "string")
            if name == "toupper":
                return Value(lambda row: _strop(g(row), str.upper), "string")
            return Value(lambda row: _strop(g(row), len), "int")
        if name in _BOOL_FUNCS and len(args) == 2:
            a, b = args[0].get, args[1].get
            if name == "substringof":
                return Value(lambda row: _contains(b(row), a(row)), "func")
            if name == "startswith":
                return Value(lambda row: _starts(a(row), b(row)), "func")
            return Value(lambda row: _ends(a(row), b(row)), "func")
        raise QueryError()


def _strop(value: Any, fn: Callable[[str], Any]) -> Any:
    return fn(value) if isinstance(value, str) else None


def _contains(hay: Any, needle: Any) -> bool:
    return isinstance(hay, str) and isinstance(needle, str) and needle.casefold() in hay.casefold()


def _starts(hay: Any, prefix: Any) -> bool:
    return (
        isinstance(hay, str)
        and isinstance(prefix, str)
        and hay.casefold().startswith(prefix.casefold())
    )


def _ends(hay: Any, suffix: Any) -> bool:
    return (
        isinstance(hay, str)
        and isinstance(suffix, str)
        and hay.casefold().endswith(suffix.casefold())
    )


def compile_filter(text: str, fields: Mapping[str, str]) -> Predicate:
    """A row predicate for `$filter=text`; `fields` maps each filterable field to its type."""
    tokens = tokenize(text)
    if not tokens:
        raise QueryError()
    return _Parser(tokens, fields).parse()


# --------------------------------------------------------------------------- orderby / select


@dataclass(frozen=True)
class OrderKey:
    field: str
    descending: bool


def parse_orderby(text: str, fields: Iterable[str]) -> list[OrderKey]:
    """`$orderby=Modified asc, Name desc` as a list of keys; unknown fields are a syntax error."""
    known = set(fields)
    keys: list[OrderKey] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or words[0] not in known:
            raise QueryError()
        direction = words[1].lower() if len(words) == 2 else "asc"
        if direction not in ("asc", "desc"):
            raise QueryError()
        keys.append(OrderKey(words[0], direction == "desc"))
    return keys


def parse_select(text: str, fields: Iterable[str]) -> list[str]:
    """`$select=ID,Name` as a list of field names (duplicates dropped, order kept).

    `*` is not accepted here (callers decide whether it means all fields or is refused);
    an unknown field answers 400 like the real API.
    """
    known = set(fields)
    out: list[str] = []
    for part in text.split(","):
        name = part.strip()
        if not name or name not in known:
            raise QueryError()
        if name not in out:
            out.append(name)
    return out


def sort_key(keys: list[OrderKey]) -> Callable[[Row], tuple]:
    """A sort key for ascending sort honouring each key's direction; nulls sort first."""

    def one(value: Any) -> tuple:
        ms = date_ms(value) if isinstance(value, str) else None
        if ms is not None:
            return (1, ms)
        return (0, None) if value is None else (1, _fold(value))

    def key(row: Row) -> tuple:
        parts = []
        for k in keys:
            v = one(row.get(k.field))
            parts.append(_Reverse(v) if k.descending else v)
        return tuple(parts)

    return key


class _Reverse:
    """Inverts ordering for descending sort keys of any comparable type."""

    __slots__ = ("v",)

    def __init__(self, v: tuple) -> None:
        self.v = v

    def __lt__(self, other: _Reverse) -> bool:
        try:
            return other.v < self.v
        except TypeError:
            return False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.v == other.v

    def __hash__(self) -> int:
        return hash(self.v)

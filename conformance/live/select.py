"""Select cases by a ``-k`` expression, as pytest's ``-k`` selects tests.  No I/O.

``-k EXPR`` matches case ids: a word matches when it is a substring of the id, ignoring
case (``-k tool`` picks every case with ``tool`` in its id); words combine with ``and``,
``or``, ``not`` and parentheses (``-k "anthropic and not long"``).  A word is any run of
characters other than blanks and parentheses, so ``openai/chat-completions/synthetic-text``
is one word.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from conformance.errors import UsageError

__all__ = ["keyword_matcher"]

_TOKEN: Final = re.compile(r"\s*(\(|\)|[^\s()]+)")
_KEYWORDS: Final = ("and", "or", "not")

Matcher = Callable[[str], bool]


class _Parser:
    def __init__(self, expression: str) -> None:
        self.expression = expression
        self.tokens: list[str] = []
        at = 0
        stripped = expression.rstrip()
        while at < len(stripped):
            match = _TOKEN.match(stripped, at)
            if match is None:  # pragma: no cover - the pattern matches any non-blank character
                break
            self.tokens.append(match.group(1))
            at = match.end()
        self.at = 0

    def fail(self, problem: str) -> UsageError:
        return UsageError(f"-k {self.expression!r}: {problem}")

    def peek(self) -> str | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise self.fail("the expression ends too early")
        self.at += 1
        return token

    def parse(self) -> Matcher:
        if not self.tokens:
            raise self.fail("empty expression")
        matcher = self.either()
        if self.peek() is not None:
            raise self.fail(f"unexpected {self.peek()!r}")
        return matcher

    def either(self) -> Matcher:
        parts = [self.both()]
        while self.peek() == "or":
            self.take()
            parts.append(self.both())
        return parts[0] if len(parts) == 1 else lambda text: any(part(text) for part in parts)

    def both(self) -> Matcher:
        parts = [self.negation()]
        while self.peek() == "and":
            self.take()
            parts.append(self.negation())
        return parts[0] if len(parts) == 1 else lambda text: all(part(text) for part in parts)

    def negation(self) -> Matcher:
        token = self.take()
        if token == "not":
            inner = self.negation()
            return lambda text: not inner(text)
        if token == "(":
            inner = self.either()
            if self.take() != ")":
                raise self.fail("a '(' is not closed")
            return inner
        if token in _KEYWORDS or token == ")":
            raise self.fail(f"unexpected {token!r}")
        word = token.lower()
        return lambda text: word in text.lower()


def keyword_matcher(expression: str | None) -> Matcher:
    """A predicate on case ids for ``-k expression`` (everything when None);
    :class:`UsageError` for a malformed expression."""
    if expression is None:
        return lambda text: True
    return _Parser(expression).parse()

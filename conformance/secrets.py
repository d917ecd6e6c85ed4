"""Find API-key-like strings in text, so that no secret reaches a cassette.  No I/O.

:func:`scan` returns one :class:`Finding` per suspected secret: its kind, 1-based
line and column, and a *redacted* preview (at most a known, public key prefix such
as ``sk-proj-`` and the length; never the secret itself, so reports are safe to print).

What is looked for (each a row of :data:`_PATTERNS`):

* vendor key shapes: OpenAI ``sk-``/``sk-proj-``/``sk-svcacct-``/``sk-admin-``,
  Anthropic ``sk-ant-``, OpenRouter ``sk-or-v1-``, Google ``AIza`` (39 characters),
  AWS access key ids ``AKIA``/``ASIA``, Groq ``gsk_``, xAI ``xai-``, Hugging Face
  ``hf_``, GitHub ``ghp_``/``github_pat_``, PEM private keys;
* context forms, for keys without a known shape (Cohere, Mistral: bare random
  strings): the credential headers ``authorization``, ``proxy-authorization``,
  ``x-api-key``, ``api-key``, ``x-goog-api-key``, ``x-amz-security-token``,
  ``cookie`` in raw-HTTP, YAML (including vcrpy's list form) or JSON form; ``key=``,
  ``api_key=``, ``access_token=``... query parameters; ``Bearer`` tokens; and
  assignments of a random-looking value to a key-like name (``aws_secret_access_key``,
  ``client_secret``, ``COHERE_API_KEY=``...).

Strategy (low false positives on real streams, where ids such as ``chatcmpl-…``,
``toolu_…``, ``call_…`` and long base64 signatures abound): a match must not be glued
to a longer run of identifier/base64 characters on either side; key bodies must look
random (letters *and* digits); context forms ignore placeholders (``<key>``,
``${VAR}``, ``REDACTED``, ``***``...).  Matches are collected from every pattern,
then overlapping ones are merged keeping the earliest-starting (so
``authorization: Bearer sk-…`` is one finding, the header), which reports each
secret once.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["KINDS", "Finding", "scan"]


@dataclass(frozen=True, slots=True)
class Finding:
    """One suspected secret: ``kind`` (see :data:`KINDS`), 1-based ``line`` and
    ``column`` (in characters), and a redacted ``preview``."""

    kind: str
    line: int
    column: int
    preview: str

    def describe(self) -> str:
        """One line for a report: ``possible <kind> (<preview>)``."""
        return f"possible {self.kind} ({self.preview})"


# Characters that continue an identifier, a base64(url) run or a key: a match glued
# to one of these on either side is part of something longer (an id, a signature).
_GLUE = r"A-Za-z0-9+/_\-"
# Before a match: not glued, or right after a JSON escape such as \n or \" .
_BEFORE = rf"(?:(?<![{_GLUE}])|(?<=\\[nrt\"/]))"
_AFTER = rf"(?![{_GLUE}])"

_PLACEHOLDER: Final = re.compile(
    r"""(?ix)
    (?: \$\{?[A-Za-z_][A-Za-z0-9_]*\}?      # ${OPENAI_API_KEY}, $KEY
      | \{\{?[^}]*\}\}?                     # {{ key }}, {key}
      | <[^>]*>                             # <your-key>
      | \[?(?:redacted|filtered|scrubbed|removed|hidden|secret|dummy|none|null|test)\]?
      | [*x.•-]+                            # ****, xxxx, ...
    )""",
)


def _is_placeholder(value: str) -> bool:
    return not value or _PLACEHOLDER.fullmatch(value) is not None


def _looks_random(value: str, *, minimum: int = 16) -> bool:
    """Long enough, and mixes letters and digits, as generated keys do (English
    words, snake_case names and pure numbers do not)."""
    return (
        len(value) >= minimum
        and any(c.isdigit() for c in value)
        and any(c.isalpha() for c in value)
        and not _is_placeholder(value)
    )


def _header_value_is_secret(value: str) -> bool:
    """A credential when some word of it (not the scheme) looks generated; prose
    such as ``authorization: see the docs`` does not."""
    return any(_looks_random(word.strip("\\\"';,"), minimum=8) for word in value.split())


def _always(_: str) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class _Pattern:
    """A regex with a ``secret`` group (and, for context forms, a ``name`` group)."""

    kind: str
    regex: re.Pattern[str]
    accept: Callable[[str], bool]  # decides on the ``secret`` group's text
    shown: str  # the public part shown in the preview: a key prefix, or a separator after ``name``
    hint: str = ""  # a literal every match contains: without it in the text, skip the regex


def _mixed_case(value: str) -> bool:
    return any(c.isupper() for c in value) and any(c.islower() for c in value)


def _shape(kind: str, prefix: str, body: str, accept: Callable[[str], bool] = _looks_random) -> _Pattern:
    """A key with a known, literal ``prefix`` followed by ``body``."""
    regex = re.compile(rf"{_BEFORE}{re.escape(prefix)}(?P<secret>{body}){_AFTER}")
    return _Pattern(kind, regex, accept, prefix, hint=prefix)


def _context(kind: str, regex: str, accept: Callable[[str], bool], separator: str) -> _Pattern:
    return _Pattern(kind, re.compile(regex, re.IGNORECASE | re.VERBOSE), accept, separator)


_HEADER_NAMES: Final = (
    "proxy-authorization|authorization|x-goog-api-key|x-api-key|api-key|x-amz-security-token|cookie"
)
_QUERY_NAMES: Final = "key|api_key|api-key|apikey|access_token|auth_token|token|x-goog-api-key"
_ASSIGNED_NAMES: Final = (
    r"[A-Za-z0-9_.\-]*(?:api[_\-]?key|secret[_\-]?(?:access[_\-]?)?key|client[_\-]?secret"
    r"|access[_\-]?token|auth[_\-]?token|session[_\-]?token|password|passwd)"
)
_QUOTE: Final = r"""(?:\\?["'])?"""  # an optional quote, maybe JSON-escaped (\")

_PATTERNS: Final[tuple[_Pattern, ...]] = (
    # -- key shapes (the generic sk- excludes the specific ones)
    _shape("anthropic key", "sk-ant-", r"[A-Za-z0-9_\-]{20,}"),
    _shape("openrouter key", "sk-or-v1-", r"[A-Za-z0-9]{20,}"),
    _shape("openai key", "sk-proj-", r"[A-Za-z0-9_\-]{20,}"),
    _shape("openai key", "sk-svcacct-", r"[A-Za-z0-9_\-]{20,}"),
    _shape("openai key", "sk-admin-", r"[A-Za-z0-9_\-]{20,}"),
    _shape("openai key", "sk-", r"(?!ant-|or-v1-|proj-|svcacct-|admin-)[A-Za-z0-9_\-]{20,}"),
    _shape("google api key", "AIza", r"[A-Za-z0-9_\-]{35}", _always),
    _shape("aws access key id", "AKIA", r"[A-Z0-9]{16}", _always),
    _shape("aws access key id", "ASIA", r"[A-Z0-9]{16}", _always),
    _shape("groq key", "gsk_", r"[A-Za-z0-9]{20,}"),
    _shape("xai key", "xai-", r"[A-Za-z0-9]{20,}"),
    _shape("huggingface token", "hf_", r"[A-Za-z0-9]{30,}", _mixed_case),
    _shape("github token", "ghp_", r"[A-Za-z0-9]{30,}"),
    _shape("github token", "github_pat_", r"[A-Za-z0-9_]{30,}"),
    _Pattern(
        "private key",
        re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----(?P<secret>)"),
        _always,
        "-----BEGIN PRIVATE KEY-----",
        hint="PRIVATE KEY-----",
    ),
    # -- context forms.  Headers: raw HTTP or YAML `name: value`, YAML lists
    # `name:\n- value` and `name: [value]`, JSON `"name": "value"` / `["value"]`.
    _context(
        "credential header",
        rf"""{_BEFORE}{_QUOTE}(?P<name>{_HEADER_NAMES}){_QUOTE}[ \t]*:[ \t]*
             (?:\[[ \t]*|\r?\n[ \t]*-[ \t]+)?
             (?P<secret>"[^"\r\n]*"|'[^'\r\n]*'|\\"[^"\r\n\\]*\\"|[^\s,\]}}"'\\][^\r\n,\]}}"'\\]*)""",
        _header_value_is_secret,
        ": ",
    ),
    _context(
        "key query parameter",
        rf"""[?&](?P<name>{_QUERY_NAMES})=(?P<secret>[^&\#\s"'\\]+)""",
        lambda value: _looks_random(value, minimum=8),
        "=",
    ),
    _context(
        "bearer token",
        rf"""{_BEFORE}(?P<name>bearer)[ \t]+(?P<secret>[A-Za-z0-9._~+/\-]{{16,}}=*)""",
        _looks_random,
        " ",
    ),
    _context(
        "secret assignment",
        rf"""{_BEFORE}{_QUOTE}(?P<name>{_ASSIGNED_NAMES}){_QUOTE}[ \t]*[:=][ \t]*{_QUOTE}
             (?P<secret>[A-Za-z0-9_.~+/\-]{{16,}}=*)""",
        _looks_random,
        "=",
    ),
)

#: Every kind of finding :func:`scan` can report.
KINDS: Final = tuple(dict.fromkeys(p.kind for p in _PATTERNS))


def _preview(pattern: _Pattern, match: re.Match[str]) -> str:
    """The public part (key prefix, or header/parameter name) and the hidden length."""
    secret = match.group("secret")
    hidden = f"<redacted, {len(secret)} chars>" if secret else "<redacted>"
    if "name" in pattern.regex.groupindex:
        return f"{match.group('name')}{pattern.shown}{hidden}"
    return f"{pattern.shown}{hidden}"


def scan(text: str) -> list[Finding]:
    """Every suspected secret in ``text``, in order of position; never raises."""
    hits: list[tuple[int, int, _Pattern, re.Match[str]]] = []
    for pattern in _PATTERNS:
        if pattern.hint not in text:
            continue
        for match in pattern.regex.finditer(text):
            if pattern.accept(match.group("secret")):
                hits.append((match.start(), match.end(), pattern, match))
    hits.sort(key=lambda hit: (hit[0], -hit[1]))
    line_starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    findings: list[Finding] = []
    covered = -1
    for start, end, pattern, match in hits:
        if start < covered:
            continue  # part of a secret already reported
        covered = end
        line = bisect.bisect_right(line_starts, start)
        column = start - line_starts[line - 1] + 1
        findings.append(Finding(pattern.kind, line, column, _preview(pattern, match)))
    return findings

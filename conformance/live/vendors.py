"""Which vendor a recordable case talks to, and the credentials it needs.  No I/O.

A case's request goes to the host its cassette recorded (``https://api.anthropic.com``).
:func:`vendor_for` finds the vendor: by API first (Ollama's native API is always a local
Ollama), then by host (``api.groq.com`` is Groq even though it speaks OpenAI Chat), then
by flavour for servers without a fixed host (vLLM).  The key comes from the vendor's usual
environment variables and goes only to that vendor's request -- never an OpenAI key to
Z.ai because both speak OpenAI Chat.

:func:`credentials` reads the variables from a mapping (``os.environ`` in the driver) and
returns either :class:`Credentials` (headers to add *at send time*, the base URL, and the
secret values themselves so that the written files can be searched for them) or
:class:`Missing` with the one line a person needs (``set OPENAI_API_KEY``).

==============  ====================================  =================================
vendor          variables                             sent as
==============  ====================================  =================================
OpenAI          OPENAI_API_KEY (OPENAI_ORG_ID,        ``Authorization: Bearer``
                OPENAI_PROJECT_ID)                    (``OpenAI-Organization``, ``-Project``)
Anthropic       ANTHROPIC_API_KEY                     ``x-api-key`` + ``anthropic-version``
Gemini          GEMINI_API_KEY or GOOGLE_API_KEY      ``x-goog-api-key`` (never ``?key=``)
Bedrock         AWS_ACCESS_KEY_ID,                    SigV4 (botocore), region from
                AWS_SECRET_ACCESS_KEY                 AWS_REGION / AWS_DEFAULT_REGION or
                (AWS_SESSION_TOKEN)                   the recorded host
Cohere          CO_API_KEY or COHERE_API_KEY          ``Authorization: Bearer``
Ollama          OLLAMA_HOST (no key)                  --
Azure OpenAI    AZURE_OPENAI_API_KEY,                 ``api-key``
                AZURE_OPENAI_ENDPOINT
vLLM            VLLM_BASE_URL (VLLM_API_KEY)          ``Authorization: Bearer``
Groq, DeepSeek, GROQ_API_KEY, DEEPSEEK_API_KEY,       ``Authorization: Bearer``
Mistral, xAI,   MISTRAL_API_KEY, XAI_API_KEY,
OpenRouter,     OPENROUTER_API_KEY, ZAI_API_KEY,
Z.ai, HF router HF_TOKEN
==============  ====================================  =================================

Vertex AI needs OAuth credentials and a project of the user's own; it is reported as not
recordable rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

from conformance.errors import UsageError

__all__ = ["VENDORS", "AwsKeys", "Credentials", "Missing", "Vendor", "credentials", "vendor_for"]

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Vendor:
    """One vendor: how it is recognised and how its requests are authorised.

    ``auth`` is ``bearer`` (``Authorization: Bearer KEY``), a header name that carries
    the key as it is (``x-api-key``), ``sigv4`` (AWS), ``none``, or ``unsupported``
    (``note`` says why).  ``keys`` are alternatives, the first one set wins; ``base_env``
    names the variable that gives the base URL when the vendor has no fixed host (it is
    then required unless ``--base-url`` is given).
    """

    name: str
    auth: str
    keys: tuple[str, ...] = ()
    key_optional: bool = False
    apis: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # exact host names, or suffixes starting with "." or "-"
    flavours: tuple[str, ...] = ()
    headers: Headers = ()  # fixed headers every request gets
    optional_headers: tuple[tuple[str, str], ...] = ()  # (variable, header): sent when set
    base_env: str | None = None
    default_port: int | None = None
    note: str = ""


#: Every vendor ``record --live`` knows, in the order :func:`vendor_for` tries them.
VENDORS: Final[tuple[Vendor, ...]] = (
    Vendor(
        name="Ollama",
        auth="none",
        apis=("ollama/chat",),
        base_env="OLLAMA_HOST",
        default_port=11434,
        note="set OLLAMA_HOST (e.g. http://localhost:11434) to record from a local Ollama",
    ),
    Vendor(
        name="OpenAI",
        auth="bearer",
        keys=("OPENAI_API_KEY",),
        hosts=("api.openai.com",),
        optional_headers=(("OPENAI_ORG_ID", "openai-organization"), ("OPENAI_PROJECT_ID", "openai-project")),
    ),
    Vendor(
        name="Anthropic",
        auth="x-api-key",
        keys=("ANTHROPIC_API_KEY",),
        hosts=("api.anthropic.com",),
        headers=(("anthropic-version", "2023-06-01"),),
    ),
    Vendor(
        name="Gemini",
        auth="x-goog-api-key",
        keys=("GEMINI_API_KEY", "GOOGLE_API_KEY"),
        hosts=("generativelanguage.googleapis.com",),
    ),
    Vendor(
        name="Vertex AI",
        auth="unsupported",
        hosts=("aiplatform.googleapis.com", "-aiplatform.googleapis.com"),
        note="Vertex AI needs OAuth credentials and a project of your own: not recordable live",
    ),
    Vendor(
        name="Bedrock",
        auth="sigv4",
        keys=("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        hosts=(".amazonaws.com",),
    ),
    Vendor(
        name="Cohere",
        auth="bearer",
        keys=("CO_API_KEY", "COHERE_API_KEY"),
        hosts=("api.cohere.com", "api.cohere.ai"),
    ),
    Vendor(
        name="Azure OpenAI",
        auth="api-key",
        keys=("AZURE_OPENAI_API_KEY",),
        hosts=(".openai.azure.com",),
        flavours=("azure",),
        base_env="AZURE_OPENAI_ENDPOINT",
    ),
    Vendor(name="Groq", auth="bearer", keys=("GROQ_API_KEY",), hosts=("api.groq.com",)),
    Vendor(name="DeepSeek", auth="bearer", keys=("DEEPSEEK_API_KEY",), hosts=("api.deepseek.com",)),
    Vendor(name="Mistral", auth="bearer", keys=("MISTRAL_API_KEY",), hosts=("api.mistral.ai",)),
    Vendor(name="xAI", auth="bearer", keys=("XAI_API_KEY",), hosts=("api.x.ai",)),
    Vendor(name="OpenRouter", auth="bearer", keys=("OPENROUTER_API_KEY",), hosts=("openrouter.ai",)),
    Vendor(name="Z.ai", auth="bearer", keys=("ZAI_API_KEY",), hosts=("api.z.ai",)),
    Vendor(name="Hugging Face", auth="bearer", keys=("HF_TOKEN",), hosts=("router.huggingface.co",)),
    Vendor(
        name="vLLM",
        auth="bearer",
        keys=("VLLM_API_KEY",),
        key_optional=True,
        flavours=("vllm",),
        base_env="VLLM_BASE_URL",
    ),
)


@dataclass(frozen=True, slots=True)
class AwsKeys:
    """AWS credentials for SigV4 (the values are never shown in a repr)."""

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str | None = field(repr=False)
    region: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    """What a request to ``vendor`` needs: ``headers`` to add when sending, the
    ``base_url`` it goes to, AWS keys for SigV4, and every ``secret`` value used (so the
    written files can be searched for them).  Secrets never show in a repr."""

    vendor: Vendor
    base_url: str
    headers: Headers = field(default=(), repr=False)
    aws: AwsKeys | None = None
    secrets: tuple[str, ...] = field(default=(), repr=False)


@dataclass(frozen=True, slots=True)
class Missing:
    """Why a case cannot be recorded here: one line a person can act on."""

    reason: str


def _host_matches(host: str, pattern: str) -> bool:
    return host.endswith(pattern) if pattern.startswith((".", "-")) else host == pattern


def vendor_for(api: str, flavour: str, host: str) -> Vendor | None:
    """The vendor a request of ``api`` (``flavour``) to ``host`` goes to, or None."""
    host = host.lower()
    for vendor in VENDORS:
        if api in vendor.apis:
            return vendor
    for vendor in VENDORS:
        if any(_host_matches(host, pattern) for pattern in vendor.hosts):
            return vendor
    for vendor in VENDORS:
        if flavour in vendor.flavours:
            return vendor
    return None


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def _base_from_env(name: str, value: str, default_port: int | None) -> str:
    """A base URL from a variable that may hold only ``host[:port]`` (``OLLAMA_HOST``);
    a listen address (``0.0.0.0``) is reached on the loopback."""
    parts = urlsplit(value if "://" in value else f"http://{value}")
    try:
        port = parts.port or default_port
    except ValueError:
        raise UsageError(f"{name}={value!r} is not a URL or host:port") from None
    host = parts.hostname or "127.0.0.1"
    if host == "0.0.0.0":
        host = "127.0.0.1"
    netloc = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{netloc}{f':{port}' if port else ''}{parts.path.rstrip('/')}"


def _bedrock_base(recorded: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(base URL, region): the region of AWS_REGION / AWS_DEFAULT_REGION, else the
    recorded host's (``bedrock-runtime.us-east-1.amazonaws.com``)."""
    host = recorded.partition("://")[2].split("/", 1)[0]
    parts = host.split(".")
    recorded_region = parts[1] if len(parts) >= 4 and parts[0] == "bedrock-runtime" else "us-east-1"
    region = _first(environ, ("AWS_REGION", "AWS_DEFAULT_REGION")) or recorded_region
    return f"https://bedrock-runtime.{region}.amazonaws.com", region


def credentials(
    vendor: Vendor, recorded_base: str, environ: Mapping[str, str], *, base_url: str | None = None
) -> Credentials | Missing:
    """The credentials for a request to ``vendor`` whose cassette recorded
    ``recorded_base`` (scheme and host), read from ``environ``; ``base_url`` (the
    ``--base-url`` option) replaces where the request goes, not what it carries."""
    if vendor.auth == "unsupported":
        return Missing(vendor.note)
    base = recorded_base.rstrip("/")
    if vendor.base_env is not None and base_url is None:
        value = _first(environ, (vendor.base_env,))
        if value is None:
            return Missing(vendor.note or f"set {vendor.base_env} (the {vendor.name} server's base URL)")
        base = _base_from_env(vendor.base_env, value, vendor.default_port)
    headers: list[tuple[str, str]] = list(vendor.headers)
    secrets: list[str] = []
    aws = None
    if vendor.auth == "sigv4":
        access, secret = environ.get("AWS_ACCESS_KEY_ID", ""), environ.get("AWS_SECRET_ACCESS_KEY", "")
        if not (access.strip() and secret.strip()):
            return Missing("no key: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        token = _first(environ, ("AWS_SESSION_TOKEN",))
        base, region = _bedrock_base(recorded_base, environ)
        aws = AwsKeys(access.strip(), secret.strip(), token, region)
        secrets += [aws.access_key, aws.secret_key, *([token] if token else [])]
    elif vendor.auth != "none":
        key = _first(environ, vendor.keys)
        if key is None and not vendor.key_optional:
            return Missing(f"no key: set {' or '.join(vendor.keys)}")
        if key is not None:
            headers.append(
                ("authorization", f"Bearer {key}") if vendor.auth == "bearer" else (vendor.auth, key)
            )
            secrets.append(key)
    for variable, header in vendor.optional_headers:
        value = _first(environ, (variable,))
        if value is not None:
            headers.append((header, value))
            secrets.append(value)
    return Credentials(
        vendor=vendor,
        base_url=base_url.rstrip("/") if base_url is not None else base,
        headers=tuple(headers),
        aws=aws,
        secrets=tuple(secrets),
    )

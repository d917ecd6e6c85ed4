"""Vendor codecs: one sub-package per vendor API, each a reference decoder (wire bytes
-> canonical events) and an encoder (canonical events -> wire bytes).  No I/O.

API ids (used in test ids, cassettes and on the command line) map to the module that
holds the API's :class:`~conformance.vendors._base.Codec` as ``CODEC``; the registry in
``conformance.registry`` loads them lazily and adds third-party codecs.
"""

from __future__ import annotations

__all__ = ["BUILTIN_CODECS"]

#: API id -> ``module:attribute`` of its codec.
BUILTIN_CODECS: dict[str, str] = {
    "openai/chat-completions": "conformance.vendors.openai_chat:CODEC",
    "openai/responses": "conformance.vendors.openai_responses:CODEC",
    "anthropic/messages": "conformance.vendors.anthropic_messages:CODEC",
    "gemini/generate-content": "conformance.vendors.gemini:CODEC",
    "bedrock/converse-stream": "conformance.vendors.bedrock_converse:CODEC",
    "cohere/chat": "conformance.vendors.cohere_chat:CODEC",
    "cohere/chat-v1": "conformance.vendors.cohere_chat_v1:CODEC",
    "ollama/chat": "conformance.vendors.ollama_chat:CODEC",
}

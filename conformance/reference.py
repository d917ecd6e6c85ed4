"""The bundled reference adapter: the reference decoders of every registered codec,
wrapped in the adapter contract.  No I/O of its own (it reads the byte source it is given).

``conformance run`` tests it by default and the project's own ``conftest.py`` registers
it, so the whole suite runs against it.  It is also the worked example of an async
adapter that honours every part of the contract: it closes its source however it
stops, and on the cancel signal it stops pulling and ends with an ``abort`` carrying
the last usage snapshot it had delivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from conformance.events import Abort, AbortReason, Event, Usage
from conformance.harness.contract import ALL, Adapter, ByteChunks, Capability, StreamRequest
from conformance.registry import api_ids, get_codec

__all__ = ["NAME", "reference_adapter"]

NAME = "reference"


async def _stream(request: StreamRequest, chunks: ByteChunks) -> AsyncIterator[Event]:
    decoder = get_codec(request.api).new_decoder(request.flavour, framing=request.framing)
    usage: Usage | None = None
    try:
        async for chunk in chunks:
            for event in decoder.feed(chunk):
                if request.cancel.is_set():
                    break
                if isinstance(event, Usage):
                    usage = event
                yield event
            if request.cancel.is_set():
                yield Abort(
                    reason=AbortReason.CONSUMER_CANCEL, usage=None if usage is None else usage.counts()
                )
                return
        for event in decoder.close():
            yield event
    finally:
        await chunks.aclose()


def reference_adapter() -> Adapter:
    """The reference decoders as one adapter, declaring every API, flavour and capability."""
    return Adapter(
        name=NAME,
        stream=_stream,
        apis=dict.fromkeys(api_ids(), (ALL,)),
        capabilities=frozenset(Capability),
    )

"""The loopback fake-vendor server: real HTTP/1.1 on 127.0.0.1, chunk by chunk.

I/O: listens on a TCP socket, reads requests, writes responses; in a daemon thread of its
own (:meth:`LoopbackServer.start`) or in the caller's event loop (:meth:`LoopbackServer.serve`).

Built on h11 (the sans-IO HTTP/1.1 state machine) over plain asyncio streams, so that the
server decides exactly which bytes go into which socket write (``conformance.server.wire``:
one planned chunk, one HTTP chunk, one write, drained before the next).  Sockets get
``TCP_NODELAY``.  Send buffers keep their default size: the server learns that a client
went away from the client closing its end (a concurrent read sees EOF or a reset at once),
not from a full buffer, so a client that stops reading *without closing* is not detected
(documented in docs/server.md).

Which plan answers a request is ``conformance.server.choose``'s business: a token's plan
(:meth:`LoopbackServer.expect`), else, for a person with curl, a corpus case chosen by
header, query parameter or model name; bad requests get the vendor's own error.  Every
exchange is recorded (:class:`~conformance.server.records.ConnectionRecord`);
:meth:`LoopbackServer.connections` and :meth:`LoopbackServer.wait_closed` hand out
snapshots, safely from any thread.  Keep-alive is honoured (h11 ``start_next_cycle``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType

import h11

from conformance.cassettes import CASSETTES_ROOT
from conformance.errors import ConformanceError, UsageError
from conformance.server.cases import find_case
from conformance.server.choose import KNOB_HEADERS, CurlDefaults, RequestError, choose_plan
from conformance.server.drift import parse_mutations
from conformance.server.plan import FRAMES_CHUNKING, Plan, error_plan
from conformance.server.records import ConnectionRecord
from conformance.server.routes import guess_api, parse_target
from conformance.server.wire import Peer, send_plan

__all__ = ["KNOB_HEADERS", "LoopbackServer"]

_UNTOKENED_KEPT = 1000  # records of curl-mode requests kept (the oldest are dropped)


class LoopbackServer:
    """A fake vendor on the loopback interface (see the module docstring).

    ``LoopbackServer(host="127.0.0.1", port=0)``: port 0 takes any free port.  Use it as
    a context manager (or :meth:`start` / :meth:`stop`), which runs it in a daemon thread,
    or ``await server.serve()`` in an event loop of your own.  ``default_case``,
    ``chunking``, ``delay_ms`` and ``first_delay_ms`` are curl mode's defaults;
    ``default_plan`` (settable) answers curl-mode requests that select no case, on its
    API's routes;
    ``on_exchange`` is called (in the server's thread) with a snapshot of every exchange
    when the server is done with it.  ``drift`` names mutations (``conformance.server.drift``)
    applied to every corpus case served in curl mode: the server behaves like a vendor
    that changed its stream (a request's ``x-conformance-drift`` header replaces the list).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        default_case: str | None = None,
        chunking: str = FRAMES_CHUNKING,
        delay_ms: float = 0.0,
        first_delay_ms: float = 0.0,
        cases_root: Path | str = CASSETTES_ROOT,
        default_plan: Plan | None = None,
        on_exchange: Callable[[ConnectionRecord], None] | None = None,
        drift: Sequence[str] | str = (),
    ) -> None:
        self.host = host
        self.requested_port = port
        self.cases_root = Path(cases_root)
        self.chunking = chunking
        self.delay_ms = delay_ms
        self.first_delay_ms = first_delay_ms
        self.default_case = default_case
        if default_case is not None:
            find_case(default_case, self.cases_root)  # UsageError now rather than per request
        self.default_plan = default_plan
        self.on_exchange = on_exchange
        self.drift = parse_mutations(drift)  # UsageError now rather than per request
        self._reported: set[int] = set()
        self._port: int | None = None
        self._plans: dict[str, list[Plan]] = {}
        self._records: dict[int, ConnectionRecord] = {}
        self._by_token: dict[str | None, deque[int]] = {None: deque()}
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._connections = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._main: asyncio.Future[None] | None = None
        self._thread: threading.Thread | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._started = threading.Event()
        self._failure: BaseException | None = None

    # -- lifecycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port listened on (known once started)."""
        if self._port is None:
            raise UsageError("the server is not listening yet")
        return self._port

    @property
    def url(self) -> str:
        """``http://HOST:PORT``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def base_url(self, token: str) -> str:
        """The base URL under which requests get the plan of ``token``."""
        return f"{self.url}/_t/{token}"

    async def serve(self, *, ready: Callable[[], None] | None = None) -> None:
        """Listen and answer until cancelled (``ready`` is called once listening)."""
        self._loop = asyncio.get_running_loop()
        server = await asyncio.start_server(self._handle, self.host, self.requested_port)
        self._port = server.sockets[0].getsockname()[1]
        try:
            async with server:
                if ready is not None:
                    ready()
                await server.serve_forever()
        finally:
            for task in list(self._handlers):
                task.cancel()
            if self._handlers:
                await asyncio.gather(*self._handlers, return_exceptions=True)

    def start(self) -> LoopbackServer:
        """Run in a daemon thread; returns once listening."""
        if self._thread is not None:
            raise UsageError("the server is already running")
        self._started.clear()
        self._thread = threading.Thread(target=self._run, name="conformance-loopback", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._failure is not None:
            failure, self._failure, self._thread = self._failure, None, None
            raise failure
        return self

    def _run(self) -> None:
        async def main() -> None:
            self._main = asyncio.ensure_future(self.serve(ready=self._started.set))
            with contextlib.suppress(asyncio.CancelledError):
                await self._main

        try:
            asyncio.run(main())
        except BaseException as exc:  # a bind failure: hand it to start()
            self._failure = exc
        finally:
            self._started.set()

    def stop(self) -> None:
        """Stop listening, drop every connection, join the thread."""
        thread, loop, main = self._thread, self._loop, self._main
        if thread is None:
            return
        if loop is not None and main is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(main.cancel)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- plans and records -----------------------------------------------------------

    def expect(self, plan: Plan, *then: Plan) -> str:
        """Register ``plan``; requests under :meth:`base_url` of the returned token get it.

        With more plans, successive requests get them in order and the last one repeats
        (a 429 and then the stream, to test a client's retry)."""
        token = secrets.token_hex(8)
        with self._cond:
            self._plans[token] = [plan, *then]
            self._by_token[token] = deque()
        return token

    def forget(self, token: str) -> None:
        """Drop a token's plan and records."""
        with self._cond:
            self._plans.pop(token, None)
            for record_id in self._by_token.pop(token, ()):
                self._records.pop(record_id, None)

    def connections(self, token: str | None = None) -> list[ConnectionRecord]:
        """Snapshots of the exchanges made with ``token`` (all of them when ``None``), oldest first."""
        with self._cond:
            if token is None:
                return [r.snapshot() for r in self._records.values()]
            return [self._records[i].snapshot() for i in self._by_token.get(token, ()) if i in self._records]

    def wait_closed(self, token: str, timeout: float) -> ConnectionRecord | None:
        """Block until the client has closed the connection of the token's latest exchange;
        its snapshot, or ``None`` if that did not happen within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                ids = self._by_token.get(token)
                if ids:
                    record = self._records.get(ids[-1])
                    if record is not None and record.client_closed_at is not None:
                        return record.snapshot()
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    async def wait_closed_async(self, token: str, timeout: float) -> ConnectionRecord | None:
        """:meth:`wait_closed` for async code (waits in a worker thread)."""
        return await asyncio.to_thread(self.wait_closed, token, timeout)

    def _update(self, change: Callable[[], None]) -> None:
        with self._cond:
            change()
            self._cond.notify_all()

    def _new_record(self, connection: int, opened_at: float, token: str | None) -> ConnectionRecord:
        record = ConnectionRecord(id=next(self._ids), connection=connection, opened_at=opened_at, token=token)
        with self._cond:
            self._records[record.id] = record
            ids = self._by_token.get(token) if token in self._plans or token is None else None
            if ids is None:
                ids = self._by_token.setdefault(None, deque())
            ids.append(record.id)
            if ids is self._by_token[None] and len(ids) > _UNTOKENED_KEPT:
                self._records.pop(ids.popleft(), None)
        return record

    # -- one connection --------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        opened_at = time.monotonic()
        number = next(self._connections)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.transport.set_write_buffer_limits(high=0)
        current: list[ConnectionRecord] = []

        def client_gone(at: float) -> None:
            if current:
                record = current[-1]
                self._update(lambda: setattr(record, "client_closed_at", record.client_closed_at or at))

        peer = Peer(reader, client_gone)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(conn, peer, writer)
                if request is None:
                    break
                head, body = request
                record = self._new_record(
                    number, opened_at, parse_target(head.target.decode("latin-1")).token
                )
                current.append(record)
                keep_alive = await self._exchange(
                    conn=conn, peer=peer, writer=writer, record=record, head=head, body=body
                )
                self._report(record)
                if not keep_alive or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (ConnectionError, OSError, h11.ProtocolError):
            pass
        except asyncio.CancelledError:  # the server is stopping: end this connection quietly
            if current:
                self._report(current[-1])  # an exchange cut short by the stop is still reported
        finally:
            self._handlers.discard(task)
            if not peer.gone.is_set():
                peer.server_closing = True
            peer.task.cancel()
            with contextlib.suppress(BaseException):
                await peer.task
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    def _report(self, record: ConnectionRecord) -> None:
        """Hand an exchange to ``on_exchange`` (once)."""
        if self.on_exchange is None or record.id in self._reported:
            return
        self._reported.add(record.id)
        with contextlib.suppress(Exception):
            self.on_exchange(self._snapshot(record))

    def _snapshot(self, record: ConnectionRecord) -> ConnectionRecord:
        with self._cond:
            return record.snapshot()

    async def _read_request(
        self, conn: h11.Connection, peer: Peer, writer: asyncio.StreamWriter
    ) -> tuple[h11.Request, bytes] | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return None
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                    await writer.drain()
                conn.receive_data(await peer.take())
            elif isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage) and head is not None:
                return head, bytes(body)
            else:  # ConnectionClosed, PAUSED
                return None

    async def _exchange(
        self,
        *,
        conn: h11.Connection,
        peer: Peer,
        writer: asyncio.StreamWriter,
        record: ConnectionRecord,
        head: h11.Request,
        body: bytes,
    ) -> bool:
        method = head.method.decode("latin-1")
        target = head.target.decode("latin-1")
        headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in head.headers)
        parsed = parse_target(target)

        def fill() -> None:
            record.method, record.target, record.path, record.query = (
                method,
                target,
                parsed.path,
                parsed.query,
            )
            record.headers, record.body, record.request_at = headers, body, time.monotonic()

        self._update(fill)
        try:
            plan = choose_plan(
                method,
                target,
                dict(headers),
                body,
                peek=self._peek,
                consume=self._consume,
                defaults=CurlDefaults(
                    cases_root=self.cases_root,
                    chunking=self.chunking,
                    delay_ms=self.delay_ms,
                    first_delay_ms=self.first_delay_ms,
                    default_case=self.default_case,
                    default_plan=self.default_plan,
                    drift=self.drift,
                ),
            )
        except RequestError as rejected:
            plan, note = error_plan(rejected.api, rejected.status, message=rejected.message), rejected.message
            self._update(lambda: setattr(record, "note", note))
        except ConformanceError as exc:  # a broken case folder
            plan, note = error_plan(guess_api(parsed.path), 500, message=exc.describe()), exc.describe()
            self._update(lambda: setattr(record, "note", note))
        return await send_plan(
            conn=conn, peer=peer, writer=writer, record=record, plan=plan, update=self._update
        )

    def _peek(self, token: str) -> Plan | None:
        with self._cond:
            queue = self._plans.get(token)
            return queue[0] if queue else None

    def _consume(self, token: str, plan: Plan) -> None:
        with self._cond:
            queue = self._plans.get(token)
            if queue and len(queue) > 1 and queue[0] is plan:
                queue.pop(0)

"""The HTTP-level driver's judgement of a client that kept reading after a cancel."""

from __future__ import annotations

from conformance.harness.http_run import _drained
from conformance.server.records import ConnectionRecord


def _record(write_times: list[float], finished: float | None, closed: float) -> ConnectionRecord:
    record = ConnectionRecord(id=1, connection=1, opened_at=0.0, frame_ends=(10, 20, 30, 40))
    record.writes = [(t, 10) for t in write_times]
    record.finished_at, record.client_closed_at = finished, closed
    return record


def test_reading_the_rest_of_the_body_after_the_cancel_is_draining() -> None:
    record = _record([1.0, 2.0, 3.0, 4.0], finished=4.0, closed=4.1)
    text = _drained(record, cancelled_at=1.5)
    assert text is not None
    assert text.startswith(
        "the client kept reading after the cancel: the server wrote the rest of the body, 30 bytes"
    )


def test_one_last_write_after_a_cancel_is_not_draining() -> None:
    # a signal cancel is seen with the next chunk; here that chunk was the body's last
    assert _drained(_record([1.0, 2.0, 3.0, 4.0], finished=4.0, closed=4.1), cancelled_at=3.5) is None


def test_a_close_before_the_body_ended_is_not_draining() -> None:
    assert _drained(_record([1.0, 2.0, 3.0], finished=None, closed=3.1), cancelled_at=1.5) is None

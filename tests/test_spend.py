"""Cancelled spend: the usage in the bytes a server had written by the cancel."""

from __future__ import annotations

from conformance.cassettes import CASSETTES_ROOT, case_body, load_case
from conformance.events import UsageCounts
from conformance.harness.spend import usage_sent

ANTHROPIC = load_case(CASSETTES_ROOT / "anthropic/messages/synthetic-text")
OPENAI = load_case(CASSETTES_ROOT / "openai/chat-completions/finish-length-max-tokens")


def test_message_start_usage_counts_once_its_frame_is_whole() -> None:
    body = case_body(ANTHROPIC)
    end = body.index(b"\n\n") + 2  # the message_start frame: 12 input tokens, 1 output
    args = (ANTHROPIC.api, ANTHROPIC.flavour, ANTHROPIC.framing)
    assert usage_sent(*args, body[: end - 3]) is None  # cut inside its frame: nothing decoded yet
    assert usage_sent(*args, body[:end]) == UsageCounts(input_tokens=12, output_tokens=1)


def test_the_last_snapshot_wins_and_a_whole_body_is_not_a_truncation() -> None:
    body = case_body(ANTHROPIC)
    final = usage_sent(ANTHROPIC.api, ANTHROPIC.flavour, ANTHROPIC.framing, body)
    assert final == UsageCounts(input_tokens=12, output_tokens=9)  # message_delta's cumulative count


def test_no_usage_before_the_vendor_sends_it() -> None:
    body = case_body(OPENAI)
    first = body.index(b"\n\n") + 2  # OpenAI sends usage last, if at all
    assert usage_sent(OPENAI.api, OPENAI.flavour, OPENAI.framing, body[:first]) is None

"""Webhook bodies as MeetStream's SDK reads them: both spellings of the event's name, and
status_code 500 exactly for the lifecycle events that report a failure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from meetstream import describe_stop, is_terminal

from meetstore.services.events import payload

from memory import Bot

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "status"),
    [("bot.failed", 500), ("bot.denied", 500), ("bot.notallowed", 500), ("bot.stopped", 200), ("bot.joining", 200)],
)
def test_failure_events_carry_500_and_both_names(event: str, status: int) -> None:
    body = payload(Bot("b-1", "acct", status="Stopped"), event, message="m", now=NOW)
    assert body["event"] == body["bot_event"] == event
    assert body["status_code"] == status
    assert is_terminal(body) is (event == "bot.stopped")


def test_the_sdk_explains_a_stop_from_the_body() -> None:
    body = payload(Bot("b-1", "acct", status="Stopped"), "bot.stopped", message="left", now=NOW)
    assert describe_stop(body) == "The bot left normally."

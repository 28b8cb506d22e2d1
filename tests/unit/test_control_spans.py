"""Pauses, messages and images as the recording sees them (domain/live_controls.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from meetstore.domain import live_controls as live

T0 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_pause_and_resume_make_a_span_and_repeat_harmlessly() -> None:
    doc = live.paused(None, at(1))
    assert live.is_paused(doc) and live.paused(doc, at(2)) == doc  # pausing twice: the first counts
    doc = live.resumed(doc, at(2.5))
    assert not live.is_paused(doc) and live.resumed(doc, at(3)) == doc
    shaped = live.recorded(doc, T0, at(10))
    assert shaped.pauses == ((1.0, 2.5),) and shaped.paused_s == 1.5


def test_a_pause_still_open_at_the_end_runs_to_the_end_and_spans_are_clipped() -> None:
    doc = live.resumed(live.paused(None, at(-2)), at(1))  # paused before the recording started
    doc = live.paused(doc, at(8))
    shaped = live.recorded(doc, T0, at(10))
    assert shaped.pauses == ((0.0, 1.0), (8.0, 10.0))


def test_messages_fall_where_they_are_in_the_media() -> None:
    doc = live.resumed(live.paused(None, at(2)), at(4))
    doc = live.with_message(doc, "before", at(1))
    doc = live.with_message(doc, "during", at(3))
    doc = live.with_message(doc, "after", at(6))
    doc = live.with_image(doc, "https://example.com/a.png", None, at(5))
    shaped = live.recorded(doc, T0, at(10))
    assert [(shaped.media_time(t), m) for t, m in shaped.messages] == [(1.0, "before"), (2.0, "during"), (4.0, "after")]
    assert shaped.images == ({"img_url": "https://example.com/a.png", "at_s": 5.0},)

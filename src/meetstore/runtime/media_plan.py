"""The meeting plan of the synthetic recording: who speaks when, what they say, what they chat."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

_TICK_MS = 50  # planning grid: every turn/word boundary is a multiple of 50 ms
_SYLLABLE_TICKS = 5  # 250 ms syllables -> 4 Hz amplitude envelope
_TAIL_TICKS = 2  # keep the last 100 ms silent

# (pitch multiplier, amplitude) per syllable variant -> a bit of prosody.
_SYLLABLE_VARIANTS = ((1.0, 1.0), (1.12, 0.85), (0.9, 0.95), (1.05, 0.7))

_WORDS_BY_SYLLABLES: dict[int, tuple[str, ...]] = {
    1: (
        "we", "the", "plan", "ship", "next", "week", "team", "good", "yes", "so",
        "think", "should", "check", "build", "test", "done", "call", "notes", "share", "screen",
    ),
    2: (
        "budget", "release", "update", "review", "roadmap", "backend", "deadline", "agree",
        "report", "storage", "upload", "project", "meeting", "bucket", "status", "sprint",
    ),
    3: (
        "tomorrow", "deployment", "important", "customer", "integrate", "recording",
        "yesterday", "priority", "dependency", "retention",
    ),
}  # fmt: skip

_CHAT_LINES = (
    "Can everyone see my screen?",
    "I'll share the doc after the call.",
    "Sounds good to me.",
    "Link to the dashboard is in the channel.",
    "Sorry, I was on mute.",
    "Let's follow up tomorrow.",
    "+1",
    "Recording started.",
    "Can you repeat the last number?",
    "Thanks, everyone!",
)


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class MeetingScript:
    """What to generate.  All fields have sensible defaults."""

    duration_s: float = 10.0
    video: bool = True  # produce video.mp4 and screenshots
    audio: bool = True  # produce audio.mp3 (and, with separate_streams, the per-participant streams)
    separate_streams: bool = False  # produce per-participant audio_streams/*.webm
    participant_video: bool = False  # produce per-participant recording_streams/*.mp4
    participants: tuple[str, ...] = ("Alice Example", "Bob Example")
    screenshot_interval_s: float = 3.0
    seed: int = 0  # deterministic output for a given seed
    present_s: float | None = None  # when everyone leaves (the rest is the bot alone); None: the end

    @property
    def talk_s(self) -> float:
        """How long the participants are in the recording."""
        return self.duration_s if self.present_s is None else max(0.0, min(self.duration_s, self.present_s))


@dataclass(frozen=True)
class VideoInfo:
    duration: float  # seconds
    size_mb: float  # MiB (bytes / 1024**2), rounded to 3 decimals
    resolution: str  # e.g. "640x360"
    fps: int
    frames_processed: int
    corrupted_frames: int  # always 0 here


@dataclass(frozen=True)
class Recording:
    files: tuple[str, ...]  # relative names under out_dir, '/'-separated, sorted
    video_info: VideoInfo | None
    # [{"name", "id", "joined_at_s", "left_at_s"}], offsets in seconds from meeting start
    participants: list[dict[str, object]]
    # [{"speaker", "start", "end"}], seconds
    speaker_timeline: list[dict[str, object]]
    # [{"speaker", "transcript", "start", "end"}], seconds (same as transcript/processed.json)
    transcript_segments: list[dict[str, object]]


def slugify(name: str) -> str:
    """``"Alice Example" -> "alice-example"``; result matches ``[a-z0-9-]+`` and is never empty."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "participant"


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Word:
    text: str
    start_tick: int
    end_tick: int


@dataclass(frozen=True)
class _Turn:
    speaker: int  # index into script.participants
    start_tick: int
    variants: tuple[int, ...]  # one syllable variant per syllable
    words: tuple[_Word, ...]

    @property
    def end_tick(self) -> int:
        return self.start_tick + len(self.variants) * _SYLLABLE_TICKS


def _secs(ticks: int) -> float:
    return round(ticks * _TICK_MS / 1000.0, 3)


def _validate(script: MeetingScript) -> None:
    if not (math.isfinite(script.duration_s) and script.duration_s > 0):
        raise ValueError(f"duration_s must be a positive finite number, got {script.duration_s!r}")
    if script.video and not (
        math.isfinite(script.screenshot_interval_s) and script.screenshot_interval_s > 0
    ):
        raise ValueError(
            f"screenshot_interval_s must be a positive finite number, got {script.screenshot_interval_s!r}"
        )


def _plan_turns(script: MeetingScript, rng: random.Random) -> list[_Turn]:
    """Alternating, non-overlapping speaker turns on the 50 ms grid."""
    n_people = len(script.participants)
    if n_people == 0:
        return []
    limit = math.floor(script.talk_s * 1000.0 / _TICK_MS + 1e-9) - _TAIL_TICKS
    turns: list[_Turn] = []
    tick = rng.randint(2, 6)  # 100-300 ms lead-in
    speaker = rng.randrange(n_people)
    while tick + _SYLLABLE_TICKS <= limit:
        n_syll = min(rng.randint(4, 12), (limit - tick) // _SYLLABLE_TICKS)
        variants = tuple(rng.randrange(len(_SYLLABLE_VARIANTS)) for _ in range(n_syll))
        words: list[_Word] = []
        k = 0
        while k < n_syll:
            w = min(rng.choice((1, 1, 2, 2, 3)), n_syll - k)
            start = tick + k * _SYLLABLE_TICKS
            words.append(_Word(rng.choice(_WORDS_BY_SYLLABLES[w]), start, start + w * _SYLLABLE_TICKS))
            k += w
        turns.append(_Turn(speaker, tick, variants, tuple(words)))
        tick += n_syll * _SYLLABLE_TICKS + rng.randint(5, 12)  # 250-600 ms pause
        if n_people > 1:
            speaker = (speaker + rng.randrange(1, n_people)) % n_people
    return turns


def _sentence(words: Iterable[_Word]) -> str:
    text = " ".join(w.text for w in words)
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _chat(script: MeetingScript, rng: random.Random) -> list[dict[str, object]]:
    if not script.participants:
        return []
    count = rng.randint(3, 6)
    stamps = sorted(rng.uniform(0.0, script.talk_s) for _ in range(count))
    return [
        {
            "sender": rng.choice(script.participants),
            "message": rng.choice(_CHAT_LINES),
            "timestamp_s": round(ts, 3),
        }
        for ts in stamps
    ]


# --------------------------------------------------------------------------- audio

"""Synthetic meeting-recording generator.

Produces the set of artefacts a meeting bot uploads after a call (mixed audio,
video with screenshots, optional per-participant audio streams, chat and
transcripts) as real, decodable media files.  Everything is derived from a
:class:`MeetingScript` and a seed, so the output is deterministic.

Only the standard library and PyAV are used (no numpy): audio is synthesised
from small per-participant "syllable" templates that are concatenated, and video
frames are painted into YUV 4:2:0 planes with slice assignments.  Audio and
video are encoded chunk by chunk / frame by frame, so memory stays bounded by
the length of one speaker turn regardless of the meeting duration.
"""

from __future__ import annotations

import array
import json
import math
import pathlib
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av

__all__ = [
    "MeetingScript",
    "Recording",
    "VideoInfo",
    "record_meeting",
    "slugify",
]

# --------------------------------------------------------------------------- constants

VIDEO_WIDTH = 640
VIDEO_HEIGHT = 360
VIDEO_FPS = 15
MIX_SAMPLE_RATE = 24_000  # audio.mp3 and the AAC track of video.mp4
STREAM_SAMPLE_RATE = 48_000  # per-participant WebM/Opus streams

_TICK_MS = 50  # planning grid: every turn/word boundary is a multiple of 50 ms
_SYLLABLE_TICKS = 5  # 250 ms syllables -> 4 Hz amplitude envelope
_TAIL_TICKS = 2  # keep the last 100 ms silent
_PEAK = 0.55 * 32767.0

# Fundamental frequencies per participant (cycled, slightly detuned per cycle).
_BASE_PITCHES_HZ = (196.0, 123.0, 247.0, 147.0, 220.0, 110.0, 175.0, 131.0)
# (pitch multiplier, amplitude) per syllable variant -> a bit of prosody.
_SYLLABLE_VARIANTS = ((1.0, 1.0), (1.12, 0.85), (0.9, 0.95), (1.05, 0.7))

# Tile colours (RGB) per participant, cycled.
_TILE_COLOURS = (
    (66, 133, 244),
    (219, 68, 55),
    (15, 157, 88),
    (244, 180, 0),
    (171, 71, 188),
    (0, 172, 193),
    (255, 112, 67),
    (124, 179, 66),
)

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
    separate_streams: bool = False  # produce per-participant audio_streams/*.webm
    participants: tuple[str, ...] = ("Alice Example", "Bob Example")
    screenshot_interval_s: float = 3.0
    seed: int = 0  # deterministic output for a given seed


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
    limit = math.floor(script.duration_s * 1000.0 / _TICK_MS + 1e-9) - _TAIL_TICKS
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
    stamps = sorted(rng.uniform(0.0, script.duration_s) for _ in range(count))
    return [
        {
            "sender": rng.choice(script.participants),
            "message": rng.choice(_CHAT_LINES),
            "timestamp_s": round(ts, 3),
        }
        for ts in stamps
    ]


# --------------------------------------------------------------------------- audio


def _ticks_to_samples(ticks: int, rate: int) -> int:
    return ticks * rate * _TICK_MS // 1000


def _syllable_templates(n_people: int, rate: int) -> list[list[bytes]]:
    """For each participant and syllable variant: one 250 ms s16 mono syllable."""
    n = _ticks_to_samples(_SYLLABLE_TICKS, rate)
    env = [math.sin(math.pi * j / n) ** 2 for j in range(n)]
    out: list[list[bytes]] = []
    for person in range(n_people):
        base = _BASE_PITCHES_HZ[person % len(_BASE_PITCHES_HZ)]
        base *= 1.0 + 0.04 * (person // len(_BASE_PITCHES_HZ))
        per_person: list[bytes] = []
        for pitch_mult, amp in _SYLLABLE_VARIANTS:
            w = 2.0 * math.pi * base * pitch_mult / rate
            scale = _PEAK * amp
            samples = array.array(
                "h",
                (
                    int(scale * env[j] * (0.7 * math.sin(w * j) + 0.3 * math.sin(2.0 * w * j)))
                    for j in range(n)
                ),
            )
            per_person.append(samples.tobytes())  # native endianness == FFmpeg "s16"
        out.append(per_person)
    return out


def _silence(n_samples: int, rate: int) -> Iterator[bytes]:
    while n_samples > 0:
        step = min(n_samples, rate)
        yield bytes(2 * step)
        n_samples -= step


def _pcm_chunks(
    turns: list[_Turn],
    templates: list[list[bytes]],
    rate: int,
    total_samples: int,
    only_speaker: int | None,
) -> Iterator[bytes]:
    """s16 mono PCM for the whole meeting, as a stream of chunks (exactly total_samples)."""
    pos = 0
    for turn in turns:
        for k, variant in enumerate(turn.variants):
            start = _ticks_to_samples(turn.start_tick + k * _SYLLABLE_TICKS, rate)
            if start >= total_samples:
                break
            if start > pos:
                yield from _silence(start - pos, rate)
                pos = start
            tpl = templates[turn.speaker][variant]
            n = min(len(tpl) // 2, total_samples - pos)
            if only_speaker is None or only_speaker == turn.speaker:
                yield tpl[: 2 * n]
            else:
                yield bytes(2 * n)
            pos += n
    if pos < total_samples:
        yield from _silence(total_samples - pos, rate)


def _audio_frames(chunks: Iterable[bytes], rate: int) -> Iterator[av.AudioFrame]:
    """Re-chunk PCM into 100 ms s16 mono frames with sample-accurate pts."""
    frame_bytes = 2 * (rate // 10)
    time_base = Fraction(1, rate)
    buf = bytearray()
    pts = 0

    def make(data: bytes) -> av.AudioFrame:
        frame = av.AudioFrame(format="s16", layout="mono", samples=len(data) // 2)
        frame.planes[0].update(data)
        frame.sample_rate = rate
        frame.time_base = time_base
        frame.pts = pts
        return frame

    for chunk in chunks:
        buf += chunk
        while len(buf) >= frame_bytes:
            yield make(bytes(buf[:frame_bytes]))
            del buf[:frame_bytes]
            pts += frame_bytes // 2
    if buf:
        yield make(bytes(buf))


def _write_audio_file(
    path: pathlib.Path,
    container_format: str,
    codec: str,
    rate: int,
    bit_rate: int,
    frames: Iterable[av.AudioFrame],
) -> None:
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate)
        if not isinstance(stream, av.AudioStream):  # pragma: no cover - codec names are constants
            raise TypeError(f"{codec} is not an audio codec")
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        for frame in frames:
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


# --------------------------------------------------------------------------- video


def _yuv(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    r, g, b = rgb
    y = 16 + 0.257 * r + 0.504 * g + 0.098 * b
    u = 128 - 0.148 * r - 0.291 * g + 0.439 * b
    v = 128 + 0.439 * r - 0.368 * g - 0.071 * b
    return (
        max(0, min(255, round(y))),
        max(0, min(255, round(u))),
        max(0, min(255, round(v))),
    )


class _Canvas:
    """Three yuv420p planes as bytearrays; rectangles in luma coordinates (even-aligned)."""

    def __init__(self, y: bytearray, u: bytearray, v: bytearray) -> None:
        self.y, self.u, self.v = y, u, v

    @classmethod
    def filled(cls, colour: tuple[int, int, int]) -> _Canvas:
        cy, cu, cv = _yuv(colour)
        cw, ch = VIDEO_WIDTH // 2, VIDEO_HEIGHT // 2
        return cls(
            bytearray([cy]) * (VIDEO_WIDTH * VIDEO_HEIGHT),
            bytearray([cu]) * (cw * ch),
            bytearray([cv]) * (cw * ch),
        )

    def copy(self) -> _Canvas:
        return _Canvas(bytearray(self.y), bytearray(self.u), bytearray(self.v))

    def rect(self, x0: int, y0: int, x1: int, y1: int, colour: tuple[int, int, int]) -> None:
        x0, y0 = max(0, x0) & ~1, max(0, y0) & ~1
        x1, y1 = min(VIDEO_WIDTH, x1) & ~1, min(VIDEO_HEIGHT, y1) & ~1
        if x1 <= x0 or y1 <= y0:
            return
        cy, cu, cv = _yuv(colour)
        row = bytes([cy]) * (x1 - x0)
        for yy in range(y0, y1):
            base = yy * VIDEO_WIDTH
            self.y[base + x0 : base + x1] = row
        cw = VIDEO_WIDTH // 2
        cx0, cx1 = x0 // 2, x1 // 2
        urow, vrow = bytes([cu]) * (cx1 - cx0), bytes([cv]) * (cx1 - cx0)
        for yy in range(y0 // 2, y1 // 2):
            base = yy * cw
            self.u[base + cx0 : base + cx1] = urow
            self.v[base + cx0 : base + cx1] = vrow

    def to_frame(self) -> av.VideoFrame:
        frame = av.VideoFrame(VIDEO_WIDTH, VIDEO_HEIGHT, "yuv420p")
        for plane, data, width in (
            (frame.planes[0], self.y, VIDEO_WIDTH),
            (frame.planes[1], self.u, VIDEO_WIDTH // 2),
            (frame.planes[2], self.v, VIDEO_WIDTH // 2),
        ):
            view = memoryview(plane)
            stride = plane.line_size
            if stride == width:
                view[: len(data)] = data
            else:
                for row in range(len(data) // width):
                    view[row * stride : row * stride + width] = data[row * width : (row + 1) * width]
        return frame


_BG = (24, 26, 32)
_WHITE = (235, 235, 235)
_DARK = (50, 50, 56)
_BAR = (250, 204, 21)
_PROGRESS = (80, 200, 120)


def _dim(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return (rgb[0] // 3 + 30, rgb[1] // 3 + 30, rgb[2] // 3 + 30)


class _Painter:
    """Draws the meeting "grid view": participant tiles (active speaker lit), a moving bar,
    a progress bar and the frame counter as 16 binary blocks."""

    MAX_TILES = 8

    def __init__(self, n_people: int, n_frames: int) -> None:
        self.n_frames = n_frames
        shown = min(n_people, self.MAX_TILES)
        per_row = min(max(shown, 1), 4)
        rows = max(1, math.ceil(shown / per_row))
        gap = 16
        tile_w = (VIDEO_WIDTH - gap * (per_row + 1)) // per_row
        tile_h = (220 - gap * (rows + 1)) // rows
        self.tiles: list[tuple[int, int, int, int]] = []
        for i in range(shown):
            r, c = divmod(i, per_row)
            x0 = gap + c * (tile_w + gap)
            y0 = 24 + gap + r * (tile_h + gap)
            self.tiles.append((x0, y0, x0 + tile_w, y0 + tile_h))
        self.base = _Canvas.filled(_BG)
        for i, (x0, y0, x1, y1) in enumerate(self.tiles):
            self.base.rect(x0, y0, x1, y1, _dim(_TILE_COLOURS[i % len(_TILE_COLOURS)]))
        self.base.rect(0, 268, VIDEO_WIDTH, 302, _DARK)  # track of the moving bar
        self.base.rect(0, 306, VIDEO_WIDTH, 316, _DARK)  # progress track

    def frame(self, index: int, active: int | None) -> av.VideoFrame:
        canvas = self.base.copy()
        if active is not None and active < len(self.tiles):
            x0, y0, x1, y1 = self.tiles[active]
            canvas.rect(x0 - 4, y0 - 4, x1 + 4, y1 + 4, _WHITE)
            canvas.rect(x0, y0, x1, y1, _TILE_COLOURS[active % len(_TILE_COLOURS)])
            # a "voice level" block that pulses at the syllable rate
            level = int(abs(math.sin(math.pi * index * 4.0 / VIDEO_FPS)) * (y1 - y0 - 20))
            canvas.rect(x1 - 24, y1 - 10 - level, x1 - 10, y1 - 10, _WHITE)
        period = 2 * VIDEO_FPS
        bar_x = (index % period) * (VIDEO_WIDTH - 40) // max(1, period - 1)
        canvas.rect(bar_x, 270, bar_x + 40, 300, _BAR)
        done = VIDEO_WIDTH * (index + 1) // max(1, self.n_frames)
        canvas.rect(0, 306, done, 316, _PROGRESS)
        for bit in range(16):
            lit = (index >> (15 - bit)) & 1
            x0 = bit * 40 + 2
            canvas.rect(x0, 324, x0 + 36, 352, _WHITE if lit else _DARK)
        return canvas.to_frame()


def _screenshot_frames(script: MeetingScript, n_frames: int) -> dict[int, list[int]]:
    """frame index -> screenshot numbers (1-based) taken at that frame."""
    shots: dict[int, list[int]] = {}
    k = 0
    while k * script.screenshot_interval_s < script.duration_s - 1e-9:
        idx = min(round(k * script.screenshot_interval_s * VIDEO_FPS), n_frames - 1)
        shots.setdefault(idx, []).append(k + 1)
        k += 1
    return shots


def _write_video(
    out_dir: pathlib.Path,
    script: MeetingScript,
    turns: list[_Turn],
    audio_frames: Iterator[av.AudioFrame],
    n_frames: int,
) -> list[str]:
    written: list[str] = []
    shots = _screenshot_frames(script, n_frames)
    shot_dir = out_dir / "screenshots"
    shot_dir.mkdir(parents=True, exist_ok=True)
    painter = _Painter(len(script.participants), n_frames)
    video_tb = Fraction(1, VIDEO_FPS)
    video_path = out_dir / "video.mp4"
    with av.open(str(video_path), "w", format="mp4") as out:
        vstream = out.add_stream("libx264", rate=VIDEO_FPS, options={"preset": "ultrafast", "crf": "28"})
        vstream.width = VIDEO_WIDTH
        vstream.height = VIDEO_HEIGHT
        vstream.pix_fmt = "yuv420p"
        astream = out.add_stream("aac", rate=MIX_SAMPLE_RATE)
        astream.layout = "mono"
        astream.bit_rate = 64_000

        pending = next(audio_frames, None)
        turn_idx = 0
        for i in range(n_frames):
            tick_now = i * 1000 // (VIDEO_FPS * _TICK_MS)
            while turn_idx < len(turns) and turns[turn_idx].end_tick <= tick_now:
                turn_idx += 1
            active = (
                turns[turn_idx].speaker
                if turn_idx < len(turns) and turns[turn_idx].start_tick <= tick_now
                else None
            )
            frame = painter.frame(i, active)
            for number in shots.get(i, ()):
                name = f"screenshots/{number:05d}.png"
                frame.save(out_dir / name)
                written.append(name)
            frame.pts = i
            frame.time_base = video_tb
            out.mux(vstream.encode(frame))
            audio_limit = (i + 1) * MIX_SAMPLE_RATE // VIDEO_FPS
            while pending is not None and (pending.pts or 0) < audio_limit:
                out.mux(astream.encode(pending))
                pending = next(audio_frames, None)
        while pending is not None:
            out.mux(astream.encode(pending))
            pending = next(audio_frames, None)
        out.mux(vstream.encode(None))
        out.mux(astream.encode(None))
    written.append("video.mp4")
    return written


# --------------------------------------------------------------------------- entry point


def _write_json(path: pathlib.Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def record_meeting(out_dir: pathlib.Path, script: MeetingScript) -> Recording:
    """Write a synthetic meeting recording under ``out_dir`` and describe it.

    Files (relative to out_dir): ``audio.mp3``, ``chat.json``, ``transcript/raw.json``,
    ``transcript/processed.json``; with ``script.video``: ``video.mp4`` and
    ``screenshots/NNNNN.png``; with ``script.separate_streams``:
    ``audio_streams/{slug}_{n}.webm`` per participant.
    """
    _validate(script)
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(script.seed)
    turns = _plan_turns(script, rng)
    chat = _chat(script, rng)
    names = script.participants
    slugs = [f"{slugify(name)}_{n}" for n, name in enumerate(names, start=1)]
    written: list[str] = []

    # -- mixed audio (MP3)
    mix_total = round(script.duration_s * MIX_SAMPLE_RATE)
    mix_templates = _syllable_templates(len(names), MIX_SAMPLE_RATE)
    _write_audio_file(
        out_dir / "audio.mp3",
        "mp3",
        "libmp3lame",
        MIX_SAMPLE_RATE,
        48_000,
        _audio_frames(_pcm_chunks(turns, mix_templates, MIX_SAMPLE_RATE, mix_total, None), MIX_SAMPLE_RATE),
    )
    written.append("audio.mp3")

    # -- per-participant streams (WebM/Opus)
    if script.separate_streams and names:
        (out_dir / "audio_streams").mkdir(parents=True, exist_ok=True)
        stream_total = round(script.duration_s * STREAM_SAMPLE_RATE)
        stream_templates = _syllable_templates(len(names), STREAM_SAMPLE_RATE)
        for person, stem in enumerate(slugs):
            name = f"audio_streams/{stem}.webm"
            _write_audio_file(
                out_dir / name,
                "webm",
                "libopus",
                STREAM_SAMPLE_RATE,
                32_000,
                _audio_frames(
                    _pcm_chunks(turns, stream_templates, STREAM_SAMPLE_RATE, stream_total, person),
                    STREAM_SAMPLE_RATE,
                ),
            )
            written.append(name)

    # -- video + screenshots
    video_info: VideoInfo | None = None
    if script.video:
        n_frames = max(1, round(script.duration_s * VIDEO_FPS))
        audio = _audio_frames(
            _pcm_chunks(turns, mix_templates, MIX_SAMPLE_RATE, mix_total, None), MIX_SAMPLE_RATE
        )
        written += _write_video(out_dir, script, turns, audio, n_frames)
        video_info = VideoInfo(
            duration=round(n_frames / VIDEO_FPS, 3),
            size_mb=round((out_dir / "video.mp4").stat().st_size / (1024 * 1024), 3),
            resolution=f"{VIDEO_WIDTH}x{VIDEO_HEIGHT}",
            fps=VIDEO_FPS,
            frames_processed=n_frames,
            corrupted_frames=0,
        )

    # -- chat + transcripts
    _write_json(out_dir / "chat.json", chat)
    written.append("chat.json")
    raw_words = [
        {
            "word": w.text,
            "start": _secs(w.start_tick),
            "end": _secs(w.end_tick),
            "speaker": names[t.speaker],
        }
        for t in turns
        for w in t.words
    ]
    _write_json(out_dir / "transcript" / "raw.json", {"provider": "meetstream", "words": raw_words})
    written.append("transcript/raw.json")
    segments: list[dict[str, object]] = [
        {
            "speaker": names[t.speaker],
            "transcript": _sentence(t.words),
            "start": _secs(t.start_tick),
            "end": _secs(t.end_tick),
        }
        for t in turns
    ]
    _write_json(out_dir / "transcript" / "processed.json", segments)
    written.append("transcript/processed.json")

    participants: list[dict[str, object]] = [
        {"name": name, "id": stem, "joined_at_s": 0.0, "left_at_s": round(script.duration_s, 3)}
        for name, stem in zip(names, slugs, strict=True)
    ]
    timeline: list[dict[str, object]] = [
        {"speaker": names[t.speaker], "start": _secs(t.start_tick), "end": _secs(t.end_tick)} for t in turns
    ]
    return Recording(
        files=tuple(sorted(written)),
        video_info=video_info,
        participants=participants,
        speaker_timeline=timeline,
        transcript_segments=segments,
    )

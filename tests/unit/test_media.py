"""Unit tests for meetstore.runtime.media (synthetic meeting recordings)."""

from __future__ import annotations

import array
import json
import math
import pathlib
import re
from dataclasses import dataclass

import av
import pytest

from meetstore.runtime.media import (
    MeetingScript,
    Recording,
    VideoInfo,
    record_meeting,
    slugify,
)

PARTICIPANTS = ("Alice Example", "Bob Example", "Zoë O'Brien")
FULL_DURATION = 3.0


@dataclass(frozen=True)
class Generated:
    out: pathlib.Path
    rec: Recording
    script: MeetingScript


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    out = tmp_path_factory.mktemp("full")
    script = MeetingScript(
        duration_s=FULL_DURATION,
        video=True,
        separate_streams=True,
        participants=PARTICIPANTS,
        screenshot_interval_s=1.0,
        seed=7,
    )
    return Generated(out, record_meeting(out, script), script)


# --------------------------------------------------------------------------- helpers


def _stream_info(path: pathlib.Path) -> tuple[str, list[tuple[str, str]], float | None]:
    with av.open(str(path)) as c:
        streams = [(str(s.type), s.codec_context.codec.canonical_name) for s in c.streams]
        duration = c.duration / 1_000_000 if c.duration is not None else None
        return c.format.name, streams, duration


def _decode_mono(path: pathlib.Path, rate: int) -> list[int]:
    """Decode the first audio stream to s16 mono at `rate`."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
    out: list[int] = []
    with av.open(str(path)) as c:
        for frame in c.decode(audio=0):
            for rf in resampler.resample(frame):
                out.extend(array.array("h", bytes(rf.planes[0]))[: rf.samples])
    for rf in resampler.resample(None):
        out.extend(array.array("h", bytes(rf.planes[0]))[: rf.samples])
    return out


def _rms(samples: list[int], rate: int, start: float, end: float) -> float:
    chunk = samples[int(start * rate) : int(end * rate)]
    return math.sqrt(sum(x * x for x in chunk) / len(chunk)) if chunk else 0.0


def _windows(
    rec: Recording, duration: float, pad: float = 0.1
) -> tuple[list[tuple[str, float, float]], list[tuple[float, float]]]:
    """(speech windows per speaker, silent gaps), shrunk by `pad` on each side."""
    speech: list[tuple[str, float, float]] = []
    gaps: list[tuple[float, float]] = []
    prev_end = 0.0
    for turn in rec.speaker_timeline:
        start, end = float(turn["start"]), float(turn["end"])  # type: ignore[arg-type]
        speech.append((str(turn["speaker"]), start + pad, end - pad))
        gaps.append((prev_end + pad, start - pad))
        prev_end = end
    gaps.append((prev_end + pad, duration - pad))
    return speech, [(a, b) for a, b in gaps if b - a >= 0.04]


# --------------------------------------------------------------------------- slugify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Alice Example", "alice-example"),
        ("  José   Núñez  ", "jose-nunez"),
        ("O'Brien, Pat", "o-brien-pat"),
        ("ALL CAPS 42", "all-caps-42"),
        ("bob_the.builder", "bob-the-builder"),
        ("Zoë O'Brien", "zoe-o-brien"),
        ("李雷", "participant"),
        ("", "participant"),
        ("---", "participant"),
        ("🙂", "participant"),
    ],
)
def test_slugify(name: str, expected: str) -> None:
    assert slugify(name) == expected
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slugify(name))


# --------------------------------------------------------------------------- full recording


def test_files_listing(full: Generated) -> None:
    expected = {
        "audio.mp3",
        "chat.json",
        "transcript/raw.json",
        "transcript/processed.json",
        "video.mp4",
        "screenshots/00001.png",
        "screenshots/00002.png",
        "screenshots/00003.png",
        "audio_streams/alice-example_1.webm",
        "audio_streams/bob-example_2.webm",
        "audio_streams/zoe-o-brien_3.webm",
    }
    assert set(full.rec.files) == expected
    assert list(full.rec.files) == sorted(full.rec.files)
    on_disk = {p.relative_to(full.out).as_posix() for p in full.out.rglob("*") if p.is_file()}
    assert on_disk == expected


def test_mixed_audio_is_mp3_with_right_duration(full: Generated) -> None:
    fmt, streams, duration = _stream_info(full.out / "audio.mp3")
    assert fmt == "mp3"
    assert streams == [("audio", "mp3")]
    assert duration is not None and abs(duration - FULL_DURATION) <= 0.2
    with av.open(str(full.out / "audio.mp3")) as c:
        assert c.streams.audio[0].codec_context.sample_rate in (16_000, 24_000, 44_100)
    decoded = _decode_mono(full.out / "audio.mp3", 24_000)
    assert abs(len(decoded) / 24_000 - FULL_DURATION) <= 0.2


def test_mixed_audio_follows_speaker_turns(full: Generated) -> None:
    rate = 24_000
    samples = _decode_mono(full.out / "audio.mp3", rate)
    speech, gaps = _windows(full.rec, FULL_DURATION)
    assert speech and gaps
    speech_rms = [_rms(samples, rate, a, b) for _, a, b in speech]
    gap_rms = [_rms(samples, rate, a, b) for a, b in gaps]
    assert min(speech_rms) > 1000
    assert max(gap_rms) < 0.1 * min(speech_rms)


def test_video_is_h264_aac_640x360(full: Generated) -> None:
    path = full.out / "video.mp4"
    fmt, streams, duration = _stream_info(path)
    assert "mp4" in fmt
    assert sorted(streams) == [("audio", "aac"), ("video", "h264")]
    assert duration is not None and abs(duration - FULL_DURATION) <= 0.3
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (640, 360)
        assert v.codec_context.pix_fmt == "yuv420p"
        assert v.average_rate == 15
        assert v.duration is not None and v.time_base is not None
        assert abs(float(v.duration * v.time_base) - FULL_DURATION) <= 0.3
        a = c.streams.audio[0]
        assert a.duration is not None and a.time_base is not None
        assert abs(float(a.duration * a.time_base) - FULL_DURATION) <= 0.3
        frames = list(c.decode(video=0))
    assert len(frames) == round(FULL_DURATION * 15)
    assert not any(f.is_corrupt for f in frames)
    # frames actually move
    assert bytes(frames[0].planes[0]) != bytes(frames[7].planes[0])


def test_video_info(full: Generated) -> None:
    info = full.rec.video_info
    assert isinstance(info, VideoInfo)
    assert info.resolution == "640x360"
    assert info.fps == 15
    assert info.frames_processed == round(FULL_DURATION * 15)
    assert info.corrupted_frames == 0
    assert abs(info.duration - FULL_DURATION) <= 0.3
    size_mb = (full.out / "video.mp4").stat().st_size / (1024 * 1024)
    assert info.size_mb == pytest.approx(size_mb, abs=0.001)


def test_screenshots_are_png_frames(full: Generated) -> None:
    shots = sorted((full.out / "screenshots").iterdir())
    assert [p.name for p in shots] == ["00001.png", "00002.png", "00003.png"]
    for p in shots:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with av.open(str(p)) as c:
            assert c.streams.video[0].codec_context.codec.canonical_name == "png"
            frame = next(c.decode(video=0))
            assert (frame.width, frame.height) == (640, 360)
    # different moments -> different pictures
    assert shots[0].read_bytes() != shots[1].read_bytes()


def test_separate_streams_are_opus_webm_with_only_own_speech(full: Generated) -> None:
    rate = 48_000
    speech, _ = _windows(full.rec, FULL_DURATION)
    for n, name in enumerate(PARTICIPANTS, start=1):
        path = full.out / "audio_streams" / f"{slugify(name)}_{n}.webm"
        assert path.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML magic
        fmt, streams, duration = _stream_info(path)
        assert "webm" in fmt
        assert streams == [("audio", "opus")]
        assert duration is not None and abs(duration - FULL_DURATION) <= 0.2
        with av.open(str(path)) as c:
            assert c.streams.audio[0].codec_context.sample_rate == rate
        samples = _decode_mono(path, rate)
        own = [_rms(samples, rate, a, b) for who, a, b in speech if who == name]
        others = [_rms(samples, rate, a, b) for who, a, b in speech if who != name]
        if own:
            assert min(own) > 1000
        for level in others:
            assert level < 100


def test_participants_and_timeline(full: Generated) -> None:
    rec = full.rec
    assert [p["name"] for p in rec.participants] == list(PARTICIPANTS)
    assert [p["id"] for p in rec.participants] == [
        "alice-example_1",
        "bob-example_2",
        "zoe-o-brien_3",
    ]
    for p in rec.participants:
        assert set(p) == {"name", "id", "joined_at_s", "left_at_s"}
        assert p["joined_at_s"] == 0.0
        assert p["left_at_s"] == FULL_DURATION
    assert rec.speaker_timeline
    prev_end = 0.0
    for i, turn in enumerate(rec.speaker_timeline):
        assert set(turn) == {"speaker", "start", "end"}
        start, end = turn["start"], turn["end"]
        assert isinstance(start, float) and isinstance(end, float)
        assert prev_end <= start < end <= FULL_DURATION
        assert turn["speaker"] in PARTICIPANTS
        if i:
            assert turn["speaker"] != rec.speaker_timeline[i - 1]["speaker"]  # alternating
        prev_end = end


def test_json_artifacts(full: Generated) -> None:
    chat = json.loads((full.out / "chat.json").read_text(encoding="utf-8"))
    assert isinstance(chat, list) and 1 <= len(chat) <= 10
    for msg in chat:
        assert set(msg) == {"sender", "message", "timestamp_s"}
        assert msg["sender"] in PARTICIPANTS
        assert isinstance(msg["message"], str) and msg["message"]
        assert 0.0 <= msg["timestamp_s"] <= FULL_DURATION
    assert [m["timestamp_s"] for m in chat] == sorted(m["timestamp_s"] for m in chat)

    raw = json.loads((full.out / "transcript" / "raw.json").read_text(encoding="utf-8"))
    assert set(raw) == {"provider", "words"}
    assert raw["provider"] == "meetstream"
    words = raw["words"]
    assert words
    for w in words:
        assert set(w) == {"word", "start", "end", "speaker"}
        assert isinstance(w["word"], str) and w["word"]
        assert w["start"] < w["end"]
        assert w["speaker"] in PARTICIPANTS

    processed = json.loads((full.out / "transcript" / "processed.json").read_text(encoding="utf-8"))
    assert processed == full.rec.transcript_segments
    assert [{k: s[k] for k in ("speaker", "start", "end")} for s in processed] == full.rec.speaker_timeline
    for seg in processed:
        assert set(seg) == {"speaker", "transcript", "start", "end"}
        inside = [w for w in words if seg["start"] <= w["start"] and w["end"] <= seg["end"]]
        assert inside and all(w["speaker"] == seg["speaker"] for w in inside)
        assert seg["transcript"].rstrip(".").lower().split() == [w["word"] for w in inside]
    assert sum(len(s["transcript"].split()) for s in processed) == len(words)


# --------------------------------------------------------------------------- options


@pytest.mark.parametrize(
    ("duration", "interval", "expected"),
    [(2.0, 1.0, 2), (2.0, 0.5, 4), (1.0, 3.0, 1), (2.5, 1.2, 3)],
)
def test_screenshot_count(tmp_path: pathlib.Path, duration: float, interval: float, expected: int) -> None:
    rec = record_meeting(tmp_path, MeetingScript(duration_s=duration, screenshot_interval_s=interval))
    shots = sorted(p.name for p in (tmp_path / "screenshots").iterdir())
    assert shots == [f"{i:05d}.png" for i in range(1, expected + 1)]
    assert [f for f in rec.files if f.startswith("screenshots/")] == [f"screenshots/{s}" for s in shots]


def test_default_interval_gives_four_screenshots_for_ten_seconds(tmp_path: pathlib.Path) -> None:
    from meetstore.runtime import media_video

    # 10 s / 3 s -> t = 0, 3, 6, 9 (checked on the frame schedule, without encoding 10 s of video)
    shots = media_video._screenshot_frames(MeetingScript(duration_s=10.0), round(10.0 * 15))
    assert shots == {0: [1], 45: [2], 90: [3], 135: [4]}


def test_audio_only_recording(tmp_path: pathlib.Path) -> None:
    rec = record_meeting(tmp_path, MeetingScript(duration_s=2.0, video=False))
    assert rec.video_info is None
    assert rec.files == ("audio.mp3", "chat.json", "transcript/processed.json", "transcript/raw.json")
    assert not (tmp_path / "video.mp4").exists()
    assert not (tmp_path / "screenshots").exists()
    assert not (tmp_path / "audio_streams").exists()
    _, streams, duration = _stream_info(tmp_path / "audio.mp3")
    assert streams == [("audio", "mp3")]
    assert duration is not None and abs(duration - 2.0) <= 0.2


def test_streams_only_when_asked(tmp_path: pathlib.Path) -> None:
    without = record_meeting(tmp_path / "a", MeetingScript(duration_s=1.0, separate_streams=False))
    assert not any(f.startswith("audio_streams/") for f in without.files)
    assert not (tmp_path / "a" / "audio_streams").exists()
    with_streams = record_meeting(
        tmp_path / "b", MeetingScript(duration_s=1.0, video=False, separate_streams=True)
    )
    assert [f for f in with_streams.files if f.startswith("audio_streams/")] == [
        "audio_streams/alice-example_1.webm",
        "audio_streams/bob-example_2.webm",
    ]


def test_single_participant_speaks_all_turns(tmp_path: pathlib.Path) -> None:
    rec = record_meeting(
        tmp_path,
        MeetingScript(duration_s=2.0, video=False, separate_streams=True, participants=("Solo",)),
    )
    assert "audio_streams/solo_1.webm" in rec.files
    assert rec.speaker_timeline and all(t["speaker"] == "Solo" for t in rec.speaker_timeline)


def test_deterministic_per_seed(tmp_path: pathlib.Path) -> None:
    script = MeetingScript(duration_s=4.0, video=False, seed=42)
    a = record_meeting(tmp_path / "a", script)
    b = record_meeting(tmp_path / "b", script)
    c = record_meeting(tmp_path / "c", MeetingScript(duration_s=4.0, video=False, seed=43))
    for rel in ("transcript/processed.json", "transcript/raw.json", "chat.json"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    assert a.transcript_segments == b.transcript_segments
    assert a.speaker_timeline == b.speaker_timeline
    assert (tmp_path / "a" / "transcript/processed.json").read_bytes() != (
        tmp_path / "c" / "transcript/processed.json"
    ).read_bytes()
    assert a.transcript_segments != c.transcript_segments


@pytest.mark.parametrize(
    "script",
    [
        MeetingScript(duration_s=0.0),
        MeetingScript(duration_s=-1.0),
        MeetingScript(duration_s=float("nan")),
        MeetingScript(duration_s=2.0, screenshot_interval_s=0.0),
    ],
)
def test_invalid_scripts_rejected(tmp_path: pathlib.Path, script: MeetingScript) -> None:
    with pytest.raises(ValueError):
        record_meeting(tmp_path, script)

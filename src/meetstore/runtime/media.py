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

import json
import pathlib
import random

from meetstore.runtime.media_audio import (
    MIX_SAMPLE_RATE,
    STREAM_SAMPLE_RATE,
    _audio_frames,
    _pcm_chunks,
    _syllable_templates,
    _write_audio_file,
)
from meetstore.runtime.media_plan import (
    MeetingScript,
    Recording,
    VideoInfo,
    _chat,
    _plan_turns,
    _secs,
    _sentence,
    _validate,
    slugify,
)
from meetstore.runtime.media_video import (
    VIDEO_FPS,
    VIDEO_HEIGHT,
    VIDEO_WIDTH,
    _write_participant_video,
    _write_video,
)

__all__ = [
    "MeetingScript",
    "Recording",
    "VideoInfo",
    "record_meeting",
    "slugify",
]

# --------------------------------------------------------------------------- constants


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
    if script.audio:
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
    if script.audio and script.separate_streams and names:
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

    # -- per-participant video (MP4)
    if script.participant_video and names:
        (out_dir / "recording_streams").mkdir(parents=True, exist_ok=True)
        n_frames = max(1, round(script.duration_s * VIDEO_FPS))
        for person, stem in enumerate(slugs):
            name = f"recording_streams/{stem}.mp4"
            _write_participant_video(out_dir / name, person, turns, n_frames)
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
        {"name": name, "id": stem, "joined_at_s": 0.0, "left_at_s": round(script.talk_s, 3)}
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

"""The synthetic recording's audio: per-participant syllable templates, mixed or per stream."""

from __future__ import annotations

import array
import math
import pathlib
from collections.abc import Iterable, Iterator
from fractions import Fraction

import av

from meetstore.runtime.media_plan import _SYLLABLE_TICKS, _SYLLABLE_VARIANTS, _TICK_MS, _Turn

MIX_SAMPLE_RATE = 24_000  # audio.mp3 and the AAC track of video.mp4
STREAM_SAMPLE_RATE = 48_000  # per-participant WebM/Opus streams
_PEAK = 0.55 * 32767.0

# Fundamental frequencies per participant (cycled, slightly detuned per cycle).
_BASE_PITCHES_HZ = (196.0, 123.0, 247.0, 147.0, 220.0, 110.0, 175.0, 131.0)


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

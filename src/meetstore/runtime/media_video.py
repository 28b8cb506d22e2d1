"""The synthetic recording's video: participant tiles painted into YUV planes, and screenshots."""

from __future__ import annotations

import math
import pathlib
from collections.abc import Iterator
from fractions import Fraction

import av

from meetstore.runtime.media_audio import MIX_SAMPLE_RATE
from meetstore.runtime.media_plan import _TICK_MS, MeetingScript, _Turn

VIDEO_WIDTH = 640
VIDEO_HEIGHT = 360
VIDEO_FPS = 15

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


def _speakers(turns: list[_Turn], n_frames: int) -> Iterator[int | None]:
    """Who speaks at each video frame (None: nobody)."""
    turn_idx = 0
    for i in range(n_frames):
        tick_now = i * 1000 // (VIDEO_FPS * _TICK_MS)
        while turn_idx < len(turns) and turns[turn_idx].end_tick <= tick_now:
            turn_idx += 1
        speaking = turn_idx < len(turns) and turns[turn_idx].start_tick <= tick_now
        yield turns[turn_idx].speaker if speaking else None


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
        for i, active in enumerate(_speakers(turns, n_frames)):
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


def _write_participant_video(
    path: pathlib.Path, person: int, turns: list[_Turn], n_frames: int
) -> None:
    """One participant's own camera: their tile alone (its colour), lit while they speak."""
    painter = _Painter(1, n_frames)
    colour = _TILE_COLOURS[person % len(_TILE_COLOURS)]
    x0, y0, x1, y1 = painter.tiles[0]
    painter.base.rect(x0, y0, x1, y1, _dim(colour))
    video_tb = Fraction(1, VIDEO_FPS)
    with av.open(str(path), "w", format="mp4") as out:
        vstream = out.add_stream("libx264", rate=VIDEO_FPS, options={"preset": "ultrafast", "crf": "30"})
        vstream.width = VIDEO_WIDTH
        vstream.height = VIDEO_HEIGHT
        vstream.pix_fmt = "yuv420p"
        for i, active in enumerate(_speakers(turns, n_frames)):
            frame = painter.frame(i, 0 if active == person else None)
            frame.pts = i
            frame.time_base = video_tb
            out.mux(vstream.encode(frame))
        out.mux(vstream.encode(None))

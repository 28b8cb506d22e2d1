"""The `MediaProbe` port over PyAV: what a runtime's video file is, read from its container."""

from __future__ import annotations

import logging
from typing import Any

from meetstore.domain.ports import SpoolReader

log = logging.getLogger("meetstore.media")


class PyAvProbe:
    def video_info(self, stream: SpoolReader) -> dict[str, Any] | None:
        """video_info of a recorded MP4 (best effort: None when it cannot be read)."""
        # Imported here: FFmpeg's libraries are ~20 MB of memory in every process that loads
        # them, and most processes (workers, API processes of external runtimes) never probe.
        import av

        try:
            stream.seek(0)
            with av.open(stream, mode="r") as container:
                video = container.streams.video[0]
                fps = float(video.average_rate) if video.average_rate else 0.0
                duration = container.duration / 1_000_000 if container.duration else 0.0
                frames = int(video.frames or round(duration * fps))
                return {
                    "duration": round(duration, 3),
                    "size_mb": round(stream.size / (1024 * 1024), 3),
                    "resolution": f"{video.width}x{video.height}",
                    "fps": round(fps) if fps else 0,
                    "frames_processed": frames,
                    "corrupted_frames": 0,
                }
        except Exception:
            log.warning("could not read video_info from the spooled video")
            return None

"""The `MediaProbe` port over PyAV: what a runtime's video file is, read from its container."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("meetstore.media")


class PyAvProbe:
    def video_info(self, path: Path) -> dict[str, Any] | None:
        """video_info of a recorded MP4 (best effort: None when it cannot be read)."""
        # Imported here: FFmpeg's libraries are ~20 MB of memory in every process that loads
        # them, and most processes (workers, API processes of external runtimes) never probe.
        import av

        try:
            with av.open(str(path)) as container:
                stream = container.streams.video[0]
                fps = float(stream.average_rate) if stream.average_rate else 0.0
                duration = container.duration / 1_000_000 if container.duration else 0.0
                frames = int(stream.frames or round(duration * fps))
                return {
                    "duration": round(duration, 3),
                    "size_mb": round(path.stat().st_size / (1024 * 1024), 3),
                    "resolution": f"{stream.width}x{stream.height}",
                    "fps": round(fps) if fps else 0,
                    "frames_processed": frames,
                    "corrupted_frames": 0,
                }
        except Exception:
            log.warning("could not read video_info from %s", path.name)
            return None

"""The simulated bot runtime: records a synthetic meeting and hands it in like a real one.

One thread per bot: Joining → (step delay) InMeeting → (step delay) Recording, then it stays in
the meeting until the meeting's duration has passed or the bot was removed (status Leaving in the
database, so a `remove_bot` answered by any process is noticed), records the meeting's media with
PyAV for the time it was recording, hands every file to the ingest service through the same path
a real runtime's uploads take (`IngestService.save_file`), and says it left (`IngestService.left`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import BotStatus
from meetstore.errors import Conflict, MeetstoreError, Unavailable
from meetstore.runtime.media import MeetingScript, Recording, record_meeting
from meetstore.services.ingest import IngestService

log = logging.getLogger("meetstore.runtime")

MIN_RECORDING_S = 0.5
"""A bot removed the moment it started recording still produces this much media."""
SCREENSHOT_INTERVAL_S = 3.0
LEFT_ATTEMPTS = 8
PARTICIPANTS = ("Alice Example", "Bob Example")


@dataclass(frozen=True)
class Plan:
    """How one simulated meeting goes, from the bot's creation options."""

    duration_s: float
    video: bool
    separate_streams: bool


def plan_of(options: dict[str, Any], default_duration_s: float) -> Plan:
    """Duration: `recording_config.simulated.duration_s` (else the default), or
    `automatic_leave.everyone_left_timeout` when that is given and smaller."""
    duration = default_duration_s
    rc = options.get("recording_config")
    if isinstance(rc, dict):
        sim = rc.get("simulated")
        if isinstance(sim, dict) and isinstance(sim.get("duration_s"), int | float):
            duration = float(sim["duration_s"])
    leave = options.get("automatic_leave")
    if isinstance(leave, dict):
        timeout = leave.get("everyone_left_timeout")
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and 0 < timeout < duration:
            duration = float(timeout)
    return Plan(
        duration_s=duration,
        video=bool(options.get("video_required", True)),
        separate_streams=bool(options.get("audio_separate_streams", False)),
    )


class _Removed(Exception):
    """The bot was told to leave (or the process is shutting down) before it started recording."""


class SimulatedRuntime:
    def __init__(self, settings: Settings, ingest: IngestService) -> None:
        self._settings = settings
        self._ingest = ingest
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self.poll_s = min(0.25, max(0.02, settings.poll_interval_s))

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self, bot_id: str) -> None:
        """Run the bot's meeting in its own thread."""
        with self._lock:
            if self._stopping.is_set():
                log.warning("runtime is stopping; bot %s not started", bot_id)
                return
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            if bot_id in self._threads:
                return
            thread = threading.Thread(target=self._run, args=(bot_id,), name=f"bot-{bot_id[:8]}", daemon=True)
            self._threads[bot_id] = thread
            thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop recording threads (app shutdown). A meeting cut short this way is not handed in."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads.values())
        deadline = time.monotonic() + timeout_s
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))

    def active(self) -> list[str]:
        with self._lock:
            return [k for k, t in self._threads.items() if t.is_alive()]

    # --- one meeting ----------------------------------------------------------------------------
    def _run(self, bot_id: str) -> None:
        try:
            self._meeting(bot_id)
        except Conflict as exc:
            log.info("bot %s: %s", bot_id, exc.message)
        except MeetstoreError as exc:
            log.error("bot %s: the simulated meeting failed: %s", bot_id, exc.message)
            self._fail(bot_id)
        except Exception as exc:
            log.exception("bot %s: the simulated meeting failed: %s", bot_id, type(exc).__name__)
            self._fail(bot_id)

    def _fail(self, bot_id: str) -> None:
        try:
            self._ingest.set_status(bot_id, BotStatus.ERROR)
        except Exception:
            log.warning("bot %s: could not record the Error status", bot_id)

    def _meeting(self, bot_id: str) -> None:
        info = self._ingest.runtime_info(bot_id)
        plan = plan_of(info.options, self._settings.simulated_default_duration_s)
        step = self._settings.simulated_step_delay_s
        recording_started: float | None = None
        try:
            for status in (BotStatus.IN_MEETING, BotStatus.RECORDING):
                if not self._pause(bot_id, step):
                    raise _Removed
                if self._ingest.set_status(bot_id, status) != status.value:
                    raise _Removed
            recording_started = time.monotonic()
            self._pause(bot_id, plan.duration_s, while_status=BotStatus.RECORDING)
        except (_Removed, Conflict):
            pass
        if self._stopping.is_set():
            return
        if recording_started is not None:
            recorded = min(plan.duration_s, max(MIN_RECORDING_S, time.monotonic() - recording_started))
            self._hand_in(bot_id, plan, recorded)
        self._left(bot_id)

    def _left(self, bot_id: str) -> None:
        """Say the bot left; a database outage is waited out (the files are safe in the spool)."""
        delay = 0.5
        for _ in range(LEFT_ATTEMPTS - 1):
            try:
                self._ingest.left(bot_id)
                return
            except Unavailable:
                log.warning("bot %s: database unavailable at 'left'; retrying in %.1fs", bot_id, delay)
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, 5.0)
        self._ingest.left(bot_id)

    def _pause(self, bot_id: str, seconds: float, while_status: BotStatus | None = None) -> bool:
        """Wait `seconds`; False as soon as the bot is told to leave or the process stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                return False
            status = BotStatus(self._ingest.status_of(bot_id))
            if status is BotStatus.LEAVING or status not in (
                BotStatus.JOINING,
                BotStatus.IN_MEETING,
                BotStatus.RECORDING,
            ):
                return False
            if while_status is not None and status is not while_status:
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return True
            self._stopping.wait(min(self.poll_s, remaining))

    def _hand_in(self, bot_id: str, plan: Plan, duration_s: float) -> None:
        seed = int.from_bytes(hashlib.sha256(bot_id.encode()).digest()[:4], "big")
        script = MeetingScript(
            duration_s=round(duration_s, 3),
            video=plan.video,
            separate_streams=plan.separate_streams,
            participants=PARTICIPANTS,
            screenshot_interval_s=SCREENSHOT_INTERVAL_S,
            seed=seed,
        )
        with tempfile.TemporaryDirectory(prefix=f"meetstore-sim-{bot_id[:8]}-") as tmp:
            out = Path(tmp)
            rec = record_meeting(out, script)
            self._ingest.set_meeting_data(bot_id, meeting_data(rec, script))
            for name in rec.files:
                with (out / name).open("rb") as fh:
                    self._ingest.save_file(bot_id, name, fh)
            for name, value in (
                ("participants.json", rec.participants),
                ("speaker_timeline.json", rec.speaker_timeline),
            ):
                raw = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
                self._ingest.save_file(bot_id, name, io.BytesIO(raw))


def meeting_data(rec: Recording, script: MeetingScript) -> dict[str, Any]:
    """What the bot row keeps about the meeting (video_info, participants, speaker timeline)."""
    shots = sorted(f for f in rec.files if f.startswith("screenshots/"))
    return {
        "duration_s": script.duration_s,
        "video_info": asdict(rec.video_info) if rec.video_info is not None else None,
        "participants": rec.participants,
        "speaker_timeline": rec.speaker_timeline,
        "screenshots_taken_at": {
            name: round(i * script.screenshot_interval_s, 3) for i, name in enumerate(shots)
        },
    }

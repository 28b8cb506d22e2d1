"""The simulated bot runtime: records a synthetic meeting and hands it in like a real one.

It runs in the worker processes (never an API process): each claims queued simulated bots like
outbox rows, up to `simulated_recordings_per_worker` at once. One thread per bot: Joining → (step
delay) [InWaitingRoom] → InMeeting → (step delay) Recording, then it stays in the meeting until
what `runtime.scenario` plans ends it (the meeting's end, a recording cap, a kick, a failure) or
the bot was removed (status Leaving in the database, so a `remove_bot` answered by any process is
noticed), records the meeting's media with PyAV for the time it was recording, hands every file to
the ingest service through the same path a real runtime's uploads take (`IngestService.save_file`),
and says it left (`HandInService.left`).

A database outage does not end a meeting: every call waits the outage out (backing off) while the
meeting goes on, and a heartbeat thread records which bots' runtimes are alive
(`IngestService.touch_runtime`), so the upload worker can hand in the bots of a runtime that died.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from meetstore.config import Settings
from meetstore.domain.artifacts import SIMULATED_RUNTIME, BotStatus
from meetstore.domain.live_controls import Recorded, recorded
from meetstore.errors import Conflict, MeetstoreError, Unavailable
from meetstore.runtime.scenario import Admission, Ending, Plan, plan_of
from meetstore.services.handin import HandInService
from meetstore.services.ingest import IngestService
from meetstore.services.runtime_claims import RuntimeClaims
from meetstore.services.runtime_status import RuntimeStatusService

if TYPE_CHECKING:  # PyAV (FFmpeg) is loaded by the processes that record, not by API or worker ones
    from meetstore.runtime.media import MeetingScript, Recording

log = logging.getLogger("meetstore.runtime")

MIN_RECORDING_S = 0.5
"""A bot removed the moment it started recording still produces this much media."""
SCREENSHOT_INTERVAL_S = 3.0
OUTAGE_BACKOFF_MAX_S = 5.0
T = TypeVar("T")


class _Removed(Exception):
    """The bot was told to leave (or the process is shutting down) before it started recording."""


class _ShuttingDown(Exception):
    """The process stops while waiting out a database outage; the bot is left for the sweeper."""


class SimulatedRuntime:
    def __init__(
        self,
        settings: Settings,
        status: RuntimeStatusService,
        ingest: IngestService,
        handin: HandInService,
        claims: RuntimeClaims,
    ) -> None:
        self._settings = settings
        self._claims = claims
        self._status = status
        self._ingest = ingest
        self._handin = handin
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._threads: dict[str, threading.Thread] = {}
        self._heartbeat: threading.Thread | None = None
        self.poll_s = min(0.25, max(0.02, settings.poll_interval_s))

    # --- lifecycle ------------------------------------------------------------------------------
    def take_queued(self) -> bool:
        """Claim queued simulated bots, as many as this process has room for
        (`simulated_recordings_per_worker`), and run each meeting in its own thread. The claim is
        the one an external runtime makes, so two workers never record the same bot; a bot no
        worker has room for stays Joining in the queue. True when the queue may hold more that
        fit now."""
        with self._lock:
            if self._stopping.is_set():
                return False
            self._threads = {k: t for k, t in self._threads.items() if t.is_alive()}
            room = self._settings.simulated_recordings_per_worker - len(self._threads)
        self._claims.start_scheduled()  # scheduled bots due now join the queue (any runtime's)
        if room <= 0:
            return False
        queued = self._claims.simulated_queue(room)
        started = 0
        for bot_id in queued:
            try:
                self._claims.claim(bot_id, runtime=SIMULATED_RUNTIME)
            except Conflict:
                continue  # another worker claimed it first, or it left meanwhile
            # The runtime calls the services in-process: the credential is not needed after this.
            if self._run_thread(bot_id):
                started += 1
        return started == room

    def _run_thread(self, bot_id: str) -> bool:
        with self._lock:
            if self._stopping.is_set():
                return False  # the claim lapses and another worker takes the bot
            thread = threading.Thread(target=self._run, args=(bot_id,), name=f"bot-{bot_id[:8]}", daemon=True)
            self._threads[bot_id] = thread
            thread.start()
            if self._heartbeat is None or not self._heartbeat.is_alive():
                self._heartbeat = threading.Thread(target=self._beat, name="bot-heartbeat", daemon=True)
                self._heartbeat.start()
        return True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop recording threads (app shutdown). A meeting cut short this way is not handed in."""
        self._stopping.set()
        with self._lock:
            threads = list(self._threads.values())
        deadline = time.monotonic() + timeout_s
        for t in threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        beat = self._heartbeat
        if beat is not None:
            beat.join(timeout=max(0.1, deadline - time.monotonic()))

    def active(self) -> list[str]:
        with self._lock:
            return [k for k, t in self._threads.items() if t.is_alive()]

    def _beat(self) -> None:
        """Record every few seconds that the bots running here are alive (until none is left)."""
        every = max(0.05, self._settings.runtime_heartbeat_s)
        while True:
            with self._lock:
                active = [k for k, t in self._threads.items() if t.is_alive()]
                if not active:
                    self._heartbeat = None  # start() makes a new one for the next bot
                    return
            try:
                self._status.touch_runtime(active)
            except Exception as exc:  # a database outage: try again at the next beat
                log.warning("runtime heartbeat not recorded: %s", type(exc).__name__)
            if self._stopping.wait(every):
                return

    def _call(self, bot_id: str, what: str, fn: Callable[[], T]) -> T:
        """Run one ingest call, waiting out a database outage (backing off) until it answers."""
        delay = 0.2
        while True:
            try:
                return fn()
            except Unavailable:
                log.warning("bot %s: database unavailable (%s); retrying in %.1fs", bot_id, what, delay)
                if self._stopping.wait(delay):
                    raise _ShuttingDown from None
                delay = min(delay * 2, OUTAGE_BACKOFF_MAX_S)

    # --- one meeting ----------------------------------------------------------------------------
    def _run(self, bot_id: str) -> None:
        try:
            self._meeting(bot_id)
        except _ShuttingDown:
            log.info("bot %s: stopped while the database was unavailable", bot_id)
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
            self._status.set_status(bot_id, BotStatus.ERROR)
        except Exception:
            log.warning("bot %s: could not record the Error status", bot_id)

    def _meeting(self, bot_id: str) -> None:
        info = self._call(bot_id, "runtime info", lambda: self._status.runtime_info(bot_id))
        plan = plan_of(info.options, self._settings.simulated_default_duration_s)
        step = self._settings.simulated_step_delay_s
        try:
            if not self._pause(bot_id, step):
                raise _Removed
            if plan.waits_in_room:
                self._move(bot_id, BotStatus.IN_WAITING_ROOM)
                waited, admission = plan.admission()
                if not self._pause(bot_id, waited):
                    raise _Removed
                if admission is not Admission.ADMITTED:
                    # Never let in: it recorded nothing, and the status says why (bot.stopped sent).
                    denied = BotStatus.DENIED if admission is Admission.DENIED else BotStatus.NOT_ALLOWED
                    self._move(bot_id, denied)
                    return
            self._move(bot_id, BotStatus.IN_MEETING)
            if not plan.participants:
                self._pause(bot_id, plan.noone_joined_s)  # nobody came: it leaves with no media
                raise _Removed
            if not self._pause(bot_id, step):
                raise _Removed
            self._move(bot_id, BotStatus.RECORDING)
        except (_Removed, Conflict):
            if not self._stopping.is_set():
                self._leave(bot_id)
                self._left(bot_id)
            return
        self._record(bot_id, plan, info.bot_name, info.options.get("bot_message"))

    def _record(self, bot_id: str, plan: Plan, bot_name: str, greeting: object) -> None:
        """Record until the plan's ending (or remove_bot), say why it ended, hand the media in."""
        recording_started = time.monotonic()
        started_at = datetime.now(UTC)
        end_s, ending = plan.ending()
        try:
            ran_out = self._pause(bot_id, end_s, while_status=BotStatus.RECORDING)
        except Conflict:
            ran_out = False
        if self._stopping.is_set():
            return
        wall = min(end_s, max(MIN_RECORDING_S, time.monotonic() - recording_started))
        if ran_out and ending is Ending.FAILED:
            self._call(bot_id, "status", partial(self._status.set_status, bot_id, BotStatus.ERROR))
        else:  # a kick, the end of the meeting, or remove_bot (already Leaving: nothing changes)
            self._leave(bot_id, kicked=ran_out and ending is Ending.KICKED)
        controls = self._call(bot_id, "controls", lambda: self._status.controls_of(bot_id))
        shaped = recorded(controls, started_at, started_at + timedelta(seconds=wall))
        posted = Posted(bot_name, greeting if isinstance(greeting, str) and greeting.strip() else None)
        present = shaped.media_time(plan.duration_s) if plan.duration_s < wall else None
        self._hand_in(bot_id, plan, max(MIN_RECORDING_S, wall - shaped.paused_s), present, shaped, posted)
        self._left(bot_id)

    def _move(self, bot_id: str, status: BotStatus) -> None:
        """Report the next status; _Removed when the bot is no longer where the meeting was."""
        now = self._call(bot_id, "status", partial(self._status.set_status, bot_id, status))
        if now != status.value:
            raise _Removed

    def _leave(self, bot_id: str, *, kicked: bool = False) -> None:
        """Status Leaving (bot.leaving, or bot.kicked); a bot already Leaving stays as it is."""
        # Conflict: it is no longer live (left, or Error): the hand-in still takes its files.
        with contextlib.suppress(Conflict):
            self._call(bot_id, "status", partial(self._status.set_status, bot_id, BotStatus.LEAVING, kicked=kicked))

    def _left(self, bot_id: str) -> None:
        """Say the bot left; a database outage is waited out (the files are safe in the spool)."""
        self._call(bot_id, "left", lambda: self._handin.left(bot_id))

    def _pause(self, bot_id: str, seconds: float, while_status: BotStatus | None = None) -> bool:
        """Wait `seconds`; False as soon as the bot is told to leave or the process stops."""
        deadline = time.monotonic() + seconds
        while True:
            if self._stopping.is_set():
                return False
            try:
                status = BotStatus(self._status.status_of(bot_id))
            except Unavailable:
                # The meeting goes on while the database is away; look again shortly.
                if self._stopping.wait(min(1.0, max(self.poll_s, deadline - time.monotonic()))):
                    return False
                if time.monotonic() >= deadline:
                    return True
                continue
            if status is BotStatus.LEAVING or status not in (
                BotStatus.JOINING,
                BotStatus.IN_WAITING_ROOM,
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

    def _hand_in(
        self, bot_id: str, plan: Plan, duration_s: float, present_s: float | None, shaped: Recorded, posted: Posted
    ) -> None:
        from meetstore.runtime.media import MeetingScript, record_meeting

        seed = int.from_bytes(hashlib.sha256(bot_id.encode()).digest()[:4], "big")
        script = MeetingScript(
            duration_s=round(duration_s, 3),
            video=plan.video,
            audio=plan.audio,
            separate_streams=plan.separate_streams,
            participant_video=plan.participant_video,
            participants=plan.participants,
            screenshot_interval_s=SCREENSHOT_INTERVAL_S,
            seed=seed,
            present_s=present_s,
        )
        with tempfile.TemporaryDirectory(prefix=f"meetstore-sim-{bot_id[:8]}-") as tmp:
            out = Path(tmp)
            rec = record_meeting(out, script)
            _post_messages(out / "chat.json", shaped, posted)
            data = {**meeting_data(rec, script), **controls_data(shaped)}
            self._call(bot_id, "meeting data", lambda: self._status.set_meeting_data(bot_id, data))
            for name in rec.files:
                self._call(bot_id, f"file {name}", partial(self._save, bot_id, name, out / name))
            for name, value in (
                ("participants.json", rec.participants),
                ("speaker_timeline.json", rec.speaker_timeline),
            ):
                raw = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
                self._call(bot_id, f"file {name}", partial(self._save_bytes, bot_id, name, raw))

    def _save_bytes(self, bot_id: str, name: str, raw: bytes) -> None:
        self._ingest.save_file(bot_id, name, io.BytesIO(raw))

    def _save(self, bot_id: str, name: str, path: Path) -> None:
        with path.open("rb") as fh:  # opened anew for each attempt
            self._ingest.save_file(bot_id, name, fh)


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


def controls_data(shaped: Recorded) -> dict[str, Any]:
    """What the live controls add to the meeting data (and so to the manifest and detail)."""
    return {
        "pauses": [{"start": start, "end": end} for start, end in shaped.pauses],
        "events": [{"type": "image", **image} for image in shaped.images],
    }


@dataclass(frozen=True)
class Posted:
    """What the bot itself says in the chat: its `bot_message` at join, as `bot_name`."""

    bot_name: str
    greeting: str | None


def _post_messages(chat: Path, shaped: Recorded, posted: Posted) -> None:
    """The bot's own messages in the chat log, where they fall in the media: its `bot_message`
    when it joins, then what send_message sent."""
    said = [(0.0, posted.greeting)] if posted.greeting else []
    said += [(shaped.media_time(at), text) for at, text in shaped.messages]
    if not said:
        return
    log_ = json.loads(chat.read_text(encoding="utf-8")) if chat.exists() else []
    log_ += [{"sender": posted.bot_name, "message": text, "timestamp_s": t} for t, text in said]
    log_.sort(key=lambda m: float(m.get("timestamp_s", 0.0)))
    chat.write_text(json.dumps(log_, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

"""Receiving a runtime's recorded files into the spool, streamed, never whole in memory.

A file becomes part of its bot only when every byte arrived and is durable (the spool renames it
into place), and only while the bot has not left: "left" lists the spool with the bot's row
locked, and a file is committed under the same lock, so it is seen complete or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from meetstore.domain.artifacts import is_accepted_file_name
from meetstore.domain.ports import Spool, SpoolKeys, SpoolWriter
from meetstore.domain.repositories import Transactions
from meetstore.errors import InvalidRequest
from meetstore.services.runtime_bots import bot_id_of, refuse_if_left, the_bot

CHUNK_BYTES = 1024 * 1024
ACCEPTED_NAMES = (
    "one of audio.mp3, video.mp4, chat.json, screenshots/NNNNN.png, audio_streams/{slug}_{n}.webm, recording_streams/{slug}_{n}.mp4, "
    "transcript/raw.json, transcript/processed.json, participants.json, speaker_timeline.json"
)


@dataclass(frozen=True)
class SavedFile:
    bot_id: str
    name: str
    size: int
    sha256: str
    replaced: bool


class IngestService:
    def __init__(self, tx: Transactions, spool: Spool, keys: SpoolKeys) -> None:
        self._tx = tx
        self._spool = spool
        self._keys = keys

    def begin_file(self, bot_id: str, name: str) -> SpoolWriter:
        """Start receiving `name` for a bot that has not left: 400 for a name we do not take."""
        bot_id = bot_id_of(bot_id)
        if not is_accepted_file_name(name):
            raise InvalidRequest(
                f"{name!r} is not a file name a bot runtime may hand in.",
                [{"field": "name", "message": ACCEPTED_NAMES}],
            )
        with self._tx.read() as tx:
            bot = the_bot(tx, bot_id)
            refuse_if_left(bot)
        return self._spool.begin(bot_id, name, self._keys.data_key(bot.account_id, bot_id, create=True))

    def finish_file(self, writer: SpoolWriter) -> SavedFile:
        """Make a fully received file part of the bot's spool, unless the bot left meanwhile."""
        try:
            writer.finish()
            with self._tx.write() as tx:
                refuse_if_left(the_bot(tx, writer.bot_id, lock=True))
                replaced = self._spool.commit(writer)
        except BaseException:
            writer.abort()
            raise
        return SavedFile(writer.bot_id, writer.name, writer.size, writer.sha256, replaced)

    def save_file(self, bot_id: str, name: str, stream: IO[bytes] | Iterable[bytes]) -> SavedFile:
        """Receive one file from a binary stream or an iterable of chunks (the runtimes' path)."""
        writer = self.begin_file(bot_id, name)
        try:
            if hasattr(stream, "read"):
                reader: IO[bytes] = stream  # type: ignore[assignment]
                while chunk := reader.read(CHUNK_BYTES):
                    writer.write(chunk)
            else:
                for chunk in stream:
                    writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return self.finish_file(writer)

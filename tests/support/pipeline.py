"""Set up bots for upload-pipeline tests: a bot row, spool files, and "left" (pin + artifact rows).

Files go in through the ingest service (`save_file`, streamed) and the bot leaves through
`IngestService.left`, the same path a runtime takes, so the pin and the artifact rows are the real
ones. Only the bot row itself is written directly, so no simulated runtime starts.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from meetstore.adapters.db.tables import Artifact, Bot, WebhookEvent
from meetstore.container import Container
from meetstore.services.handin import HandedIn

CALLBACK_URL = "http://127.0.0.1:9/meetstore-test-hook"
"""A callback_url, so events are queued (delivery itself is not what these tests look at)."""


@dataclass(frozen=True)
class PipelineBot:
    bot_id: str
    account_id: str
    transcript_id: str
    provider: str


def random_chunks(size: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    left = size
    while left > 0:
        n = min(chunk, left)
        yield os.urandom(n)
        left -= n


def make_bot(
    container: Container, account_id: str, *, callback_url: str | None = CALLBACK_URL
) -> PipelineBot:
    """A bot row in Recording, as if a runtime were in its meeting."""
    now = datetime.now(UTC)
    bot = Bot(
        id=str(uuid.uuid4()),
        account_id=account_id,
        transcript_id=str(uuid.uuid4()),
        transcript_provider="meetstream",
        meeting_link="https://meet.example.com/abc-defg-hij",
        bot_name="pipeline test",
        status="Recording",
        callback_url=callback_url,
        options={},
        idempotency_key=None,
        runtime="simulated",
        created_at=now,
        updated_at=now,
    )
    with container.db.session() as s:
        s.add(bot)
    return PipelineBot(bot.id, account_id, bot.transcript_id, bot.transcript_provider)


def spool(container: Container, bot: PipelineBot, name: str, content: bytes | Iterator[bytes]) -> None:
    chunks: Iterator[bytes] = iter([content]) if isinstance(content, bytes) else content
    container.ingest.save_file(bot.bot_id, name, chunks)


def leave(container: Container, bot: PipelineBot) -> HandedIn:
    return container.handin.left(bot.bot_id)


def pinned_bot(
    container: Container,
    account_id: str,
    files: dict[str, bytes],
    *,
    callback_url: str | None = CALLBACK_URL,
) -> PipelineBot:
    """A bot with `files` in its spool that has left: pinned, artifact rows pending."""
    bot = make_bot(container, account_id, callback_url=callback_url)
    for name, content in files.items():
        spool(container, bot, name, content)
    leave(container, bot)
    return bot


def artifacts(container: Container, bot_id: str) -> dict[str, Artifact]:
    """The bot's artifact rows by spool name."""
    with container.db.session() as s:
        rows = s.scalars(select(Artifact).where(Artifact.bot_id == bot_id)).all()
        return {r.spool_name: r for r in rows}


def bot_row(container: Container, bot_id: str) -> Bot:
    with container.db.session() as s:
        bot = s.get(Bot, bot_id)
        assert bot is not None
        return bot


def events(container: Container, bot_id: str) -> list[dict[str, Any]]:
    """The webhook events queued for the bot, oldest first (their JSON bodies)."""
    with container.db.session() as s:
        rows = s.scalars(select(WebhookEvent).where(WebhookEvent.bot_id == bot_id).order_by(WebhookEvent.id))
        return [json.loads(r.body) for r in rows]


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_done(container: Container, bot_id: str, timeout: float = 30.0) -> Bot:
    wait_until(lambda: bot_row(container, bot_id).status == "Done", timeout, f"bot {bot_id} Done")
    return bot_row(container, bot_id)


def storage_body(endpoint: str, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    """A storage configuration request body for a bucket on the test S3 server."""
    out: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": endpoint,
    }
    out.update(extra)
    return out

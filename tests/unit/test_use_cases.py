"""Use cases against in-memory ports (tests/unit/memory.py): hand-in, retry_uploads and fetch.

No database, S3 or disk: what is checked is the services' own logic (the pin, the rows and
manifest of a hand-in, which failed uploads a retry requeues, the fetch decision as a body or an
error).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import SecretStr

from meetstore.config import Settings
from meetstore.errors import (
    AccessRefused,
    BotNotFound,
    MediaNotReady,
    NextStep,
    NothingToRetry,
    Remedy,
    UploadFailed,
)
from meetstore.services.audit import AuditTrail
from meetstore.services.fetch import FetchService
from meetstore.services.handin import HandInService
from meetstore.services.locations import Locations
from meetstore.services.retry import RetryService
from meetstore.services.storage_config import StorageConfigService
from meetstore.services.validation_gate import ValidationGate

from memory import (
    Account,
    Bot,
    Clock,
    Database,
    MediaProbe,
    Metrics,
    Reads,
    Spool,
    SpoolKeys,
    StorageConfig,
    Stores,
    Transactions,
)

ACCOUNT = "acct-1"


class World:
    """Services wired on in-memory ports, as container.py wires them on the real ones."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings(data_dir=tmp_path, master_key=SecretStr("x" * 44))
        self.db = Database()
        self.db.accounts[ACCOUNT] = Account(ACCOUNT, external_id="ms-ext-1")
        self.tx = Transactions(self.db)
        self.spool = Spool()
        self.stores = Stores()
        self.clock = Clock()
        self.metrics = Metrics()
        self.audit = AuditTrail(self.tx)
        storage = StorageConfigService(self.tx, box=None, probe=None, stores=self.stores, metrics=self.metrics, settings=self.settings, gate=ValidationGate(self.settings), audit=self.audit)  # type: ignore[arg-type]
        self.locations = Locations(self.stores, storage)
        self.handin = HandInService(self.tx, self.spool, SpoolKeys(), self.stores, MediaProbe(), self.settings, clock=self.clock)
        self.retry = RetryService(self.tx, self.spool, self.settings, audit=self.audit, clock=self.clock)
        self.fetch = FetchService(self.tx, Reads(self.db), self.settings, self.locations, self.metrics, self.audit)

    def bot(self, **fields: object) -> str:
        bot_id = str(uuid.uuid4())
        self.db.bots[bot_id] = Bot(id=bot_id, account_id=ACCOUNT, **fields)  # type: ignore[arg-type]
        return bot_id

    def configure(self, bucket: str = "customer-bucket", access_mode: str = "read_write") -> None:
        self.db.configs[ACCOUNT] = StorageConfig(ACCOUNT, bucket, access_mode=access_mode)

    def artifact(self, bot_id: str, name: str) -> object:
        return next(a for a in self.db.artifacts if a.bot_id == bot_id and a.spool_name == name)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


# --- hand-in ---------------------------------------------------------------------------------------


def test_handin_pins_the_custom_bucket_and_queues_every_file_with_a_manifest(world: World) -> None:
    world.configure("customer-bucket")
    bot_id = world.bot(callback_url="https://hooks.example.com/x")
    world.spool.put(bot_id, "audio.mp3", b"mp3")
    world.spool.put(bot_id, "screenshots/00001.png", b"png")
    world.spool.put(bot_id, "participants.json", json.dumps([{"id": "alice_1", "name": "Alice"}]).encode())
    world.spool.put(bot_id, "notes.txt", b"not ours")

    answer = world.handin.left(bot_id)

    bot = world.db.bots[bot_id]
    assert (bot.status, bot.pin_kind, bot.pin_bucket, bot.pin_config_version) == ("Stopped", "custom", "customer-bucket", 1)
    assert answer.artifacts == 3 and answer.storage is not None and answer.storage.bucket == "customer-bucket"
    keys = sorted(a.key for a in world.db.artifacts)
    assert keys == [
        f"meetstream/{bot_id}_audio.mp3",
        f"meetstream/{bot_id}_manifest.json",
        f"meetstream/{bot_id}_screenshots/00001.png",
    ]
    manifest = json.loads(world.spool.blobs[(bot_id, "manifest.json")])
    assert [e["name"] for e in manifest["artifacts"]] == ["audio.mp3", "screenshots/00001.png"]
    assert manifest["participants"] == [{"id": "alice_1", "name": "Alice"}]
    assert [e.event for e in world.db.events] == ["bot.stopped"]


def test_a_second_handin_changes_nothing(world: World) -> None:
    bot_id = world.bot()
    world.spool.put(bot_id, "audio.mp3", b"mp3")
    first = world.handin.left(bot_id)
    world.spool.put(bot_id, "video.mp4", b"late")
    assert world.handin.left(bot_id) == first
    assert len(world.db.artifacts) == 2
    assert first.storage is not None and first.storage.kind == "platform"
    assert world.artifact(bot_id, "audio.mp3").key == f"accounts/{ACCOUNT}/meetstream/{bot_id}_audio.mp3"  # type: ignore[attr-defined]


def test_handin_of_an_unknown_bot_is_not_found(world: World) -> None:
    with pytest.raises(BotNotFound):
        world.handin.left(str(uuid.uuid4()))
    with pytest.raises(BotNotFound):
        world.handin.left("not-an-id")


# --- retry_uploads ----------------------------------------------------------------------------------


def _failed_bot(world: World, names: tuple[str, ...]) -> str:
    bot_id = world.bot()
    for name in names:
        world.spool.put(bot_id, name, b"data")
    world.handin.left(bot_id)
    for row in world.db.artifacts:
        row.state, row.last_error_code, row.attempts = "failed", "AccessDenied", 3
    world.db.bots[bot_id].status = "Done"
    return bot_id


def test_retry_requeues_the_failed_uploads_whose_file_is_kept(world: World) -> None:
    bot_id = _failed_bot(world, ("audio.mp3", "video.mp4"))
    world.spool.delete(bot_id, "video.mp4")  # its retention ended

    assert world.retry.retry(ACCOUNT, bot_id) == 2  # the audio and the manifest
    audio, video = world.artifact(bot_id, "audio.mp3"), world.artifact(bot_id, "video.mp4")
    assert (audio.state, audio.attempts, audio.last_error_code) == ("pending", 0, None)  # type: ignore[attr-defined]
    assert video.state == "failed" and video.spool_deleted  # type: ignore[attr-defined]
    assert "cannot be retried" in video.last_error_message  # type: ignore[attr-defined]
    assert world.db.bots[bot_id].status == "Stopped"


def test_retry_with_nothing_failed_or_nothing_kept_is_a_conflict(world: World) -> None:
    bot_id = world.bot()
    world.spool.put(bot_id, "audio.mp3", b"mp3")
    world.handin.left(bot_id)
    with pytest.raises(NothingToRetry, match="nothing to retry"):
        world.retry.retry(ACCOUNT, bot_id)

    gone = _failed_bot(world, ("audio.mp3",))
    world.spool.remove_bot(gone)
    with pytest.raises(NothingToRetry, match="retention"):
        world.retry.retry(ACCOUNT, gone)


def test_retry_of_another_accounts_bot_is_not_found(world: World) -> None:
    bot_id = _failed_bot(world, ("audio.mp3",))
    with pytest.raises(BotNotFound):
        world.retry.retry("acct-2", bot_id)


# --- fetch ------------------------------------------------------------------------------------------


def _uploaded_bot(world: World) -> str:
    bot_id = world.bot()
    world.spool.put(bot_id, "audio.mp3", b"mp3")
    world.handin.left(bot_id)
    for row in world.db.artifacts:
        row.state = "uploaded"
    return bot_id


def test_get_audio_signs_the_pinned_bucket(world: World) -> None:
    world.configure("customer-bucket")
    bot_id = _uploaded_bot(world)
    answer = world.fetch.audio(ACCOUNT, bot_id)
    assert answer.url == f"https://customer-bucket.example/meetstream/{bot_id}_audio.mp3?expires=3600"
    assert answer.expiry.expires_in == 3600
    assert world.metrics.fetches == [("get_audio", "ok")]


def test_get_audio_of_a_write_only_bucket_says_where_the_file_is(world: World) -> None:
    world.configure("customer-bucket", access_mode="write_only")
    bot_id = _uploaded_bot(world)
    with pytest.raises(AccessRefused) as err:
        world.fetch.audio(ACCOUNT, bot_id)
    assert err.value.code == "write_only_storage"
    assert err.value.details["location"] == f"s3://customer-bucket/meetstream/{bot_id}_audio.mp3"


def test_get_audio_after_the_configuration_moved_is_not_accessible(world: World) -> None:
    world.configure("customer-bucket")
    bot_id = _uploaded_bot(world)
    world.configure("another-bucket")
    with pytest.raises(AccessRefused) as err:
        world.fetch.audio(ACCOUNT, bot_id)
    assert err.value.code == "storage_not_accessible"
    assert "another-bucket" in err.value.message


def test_get_audio_before_the_upload_and_after_a_failure(world: World) -> None:
    recording = world.bot()
    with pytest.raises(MediaNotReady):
        world.fetch.audio(ACCOUNT, recording)
    bot_id = _failed_bot(world, ("audio.mp3",))
    with pytest.raises(UploadFailed) as err:
        world.fetch.audio(ACCOUNT, bot_id)
    assert err.value.details["s3_error"] == "AccessDenied"
    assert err.value.next_step == NextStep(Remedy.RETRY_UPLOADS, bot_id)
    assert world.metrics.fetches == [("get_audio", "media_not_ready"), ("get_audio", "upload_failed")]


def test_a_finished_platform_file_is_answered_from_the_cache(world: World) -> None:
    bot_id = _uploaded_bot(world)
    first = world.fetch.audio(ACCOUNT, bot_id)
    del world.db.bots[bot_id]  # a database read now would find nothing
    again = world.fetch.audio(ACCOUNT, bot_id)
    assert again.url == first.url
    with pytest.raises(BotNotFound):
        world.fetch.audio("acct-2", bot_id)  # the cache is per account


def test_a_platform_store_that_may_fetch_credentials_is_never_answered_on_the_event_loop(world: World) -> None:
    from meetstore.domain.artifacts import ArtifactKind

    bot_id = _uploaded_bot(world)
    first = world.fetch.audio(ACCOUNT, bot_id)  # remembered
    assert world.fetch.known(ACCOUNT, bot_id, ArtifactKind.AUDIO) == first
    world.stores.platform_signs_locally = False  # e.g. an S3 platform store on an instance role
    assert world.fetch.known(ACCOUNT, bot_id, ArtifactKind.AUDIO) is None
    assert world.fetch.audio(ACCOUNT, bot_id).url == first.url

"""The fetch decision (API.md outcomes 2-7), collection reduction, cursors, ranges, and URL signing."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from meetstore.adapters.platform_store.local import LocalPlatformStore
from meetstore.api.routes.files import ByteRange, RangeNotSatisfiable, parse_range
from meetstore.container import Container
from meetstore.domain.erasure import ErasureReason
from meetstore.domain.fetch_policy import ArtifactState, Outcome, collection_state, decide, state_of_row
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.domain.storage_config import AccessMode, CategoryPrefixes, CurrentStorage
from meetstore.errors import InvalidRequest
from meetstore.services.fetch_answers import decode_screenshot_cursor as decode_cursor
from meetstore.services.fetch_answers import encode_screenshot_cursor as encode_cursor
from meetstore.services.fetch_results import TranscriptUrls

from support.fetch_rows import insert_storage_config, seed_bot

S = ArtifactState
OC = Outcome
RW, WO = AccessMode.READ_WRITE, AccessMode.WRITE_ONLY

PLATFORM = PinnedLocation(PinKind.PLATFORM, "meetstore-platform", "local")
PIN_A = PinnedLocation(PinKind.CUSTOM, "bucket-a", "us-east-1", None, 1)
PIN_A_MINIO = PinnedLocation(PinKind.CUSTOM, "bucket-a", "us-east-1", "https://minio.example.com", 1)


def cur(bucket: str, mode: AccessMode = RW, endpoint: str | None = None, version: int = 2) -> CurrentStorage:
    return CurrentStorage(
        bucket=bucket, region="us-east-1", endpoint_url=endpoint, access_mode=mode, version=version
    )


# (case, pin, current configuration, artifact state, expected outcome)
TABLE: list[tuple[str, PinnedLocation | None, CurrentStorage | None, ArtifactState, Outcome]] = [
    # 2. not final yet: 202, whatever the configuration says
    ("not pinned, no config", None, None, S.NOT_PINNED, OC.NOT_READY),
    ("not pinned, config A", None, cur("bucket-a"), S.NOT_PINNED, OC.NOT_READY),
    ("not pinned, rows say uploaded", None, cur("bucket-a"), S.UPLOADED, OC.NOT_READY),
    ("platform, pending", PLATFORM, None, S.PENDING, OC.NOT_READY),
    ("A, pending, A read_write", PIN_A, cur("bucket-a"), S.PENDING, OC.NOT_READY),
    ("A, pending, A write_only", PIN_A, cur("bucket-a", WO), S.PENDING, OC.NOT_READY),
    ("A, pending, config deleted", PIN_A, None, S.PENDING, OC.NOT_READY),
    # 3. never produced: 404 artifact_not_found, before any storage question
    ("platform, missing", PLATFORM, None, S.MISSING, OC.ARTIFACT_NOT_FOUND),
    ("A, missing, A read_write", PIN_A, cur("bucket-a"), S.MISSING, OC.ARTIFACT_NOT_FOUND),
    ("A, missing, A write_only", PIN_A, cur("bucket-a", WO), S.MISSING, OC.ARTIFACT_NOT_FOUND),
    ("A, missing, config deleted", PIN_A, None, S.MISSING, OC.ARTIFACT_NOT_FOUND),
    # 4. upload failed for good: 404 upload_failed, before 403s
    ("platform, failed", PLATFORM, None, S.FAILED, OC.UPLOAD_FAILED),
    ("A, failed, A read_write", PIN_A, cur("bucket-a"), S.FAILED, OC.UPLOAD_FAILED),
    ("A, failed, A write_only", PIN_A, cur("bucket-a", WO), S.FAILED, OC.UPLOAD_FAILED),
    ("A, failed, B", PIN_A, cur("bucket-b"), S.FAILED, OC.UPLOAD_FAILED),
    ("A, failed, config deleted", PIN_A, None, S.FAILED, OC.UPLOAD_FAILED),
    # 5. same bucket, write_only now: 403 write_only_storage
    ("A, uploaded, A write_only", PIN_A, cur("bucket-a", WO), S.UPLOADED, OC.WRITE_ONLY),
    ("A@minio, uploaded, A@minio write_only", PIN_A_MINIO, cur("bucket-a", WO, "https://minio.example.com"), S.UPLOADED, OC.WRITE_ONLY),
    # 6. the pinned bucket is no longer the configured one: 403 storage_not_accessible
    ("A, uploaded, config deleted", PIN_A, None, S.UPLOADED, OC.NOT_ACCESSIBLE),
    ("A, uploaded, B read_write", PIN_A, cur("bucket-b"), S.UPLOADED, OC.NOT_ACCESSIBLE),
    ("A, uploaded, B write_only", PIN_A, cur("bucket-b", WO), S.UPLOADED, OC.NOT_ACCESSIBLE),
    ("A, uploaded, A on another endpoint", PIN_A, cur("bucket-a", RW, "https://minio.example.com"), S.UPLOADED, OC.NOT_ACCESSIBLE),
    ("A@minio, uploaded, A on AWS", PIN_A_MINIO, cur("bucket-a"), S.UPLOADED, OC.NOT_ACCESSIBLE),
    ("A@minio, uploaded, A@other endpoint", PIN_A_MINIO, cur("bucket-a", RW, "https://r2.example.com"), S.UPLOADED, OC.NOT_ACCESSIBLE),
    # 7. 200
    ("platform, uploaded, no config", PLATFORM, None, S.UPLOADED, OC.SERVE_PLATFORM),
    ("platform, uploaded, A write_only now", PLATFORM, cur("bucket-a", WO), S.UPLOADED, OC.SERVE_PLATFORM),
    ("platform, uploaded, A read_write now", PLATFORM, cur("bucket-a"), S.UPLOADED, OC.SERVE_PLATFORM),
    ("A, uploaded, A read_write", PIN_A, cur("bucket-a"), S.UPLOADED, OC.SERVE_CUSTOM),
    ("A, uploaded, A upgraded to read_write (new version)", PIN_A, cur("bucket-a", RW, version=9), S.UPLOADED, OC.SERVE_CUSTOM),
    ("A, uploaded, A read_write, endpoint '' is AWS", PIN_A, cur("bucket-a", RW, ""), S.UPLOADED, OC.SERVE_CUSTOM),
    ("A@minio, uploaded, A@minio read_write", PIN_A_MINIO, cur("bucket-a", RW, "https://minio.example.com"), S.UPLOADED, OC.SERVE_CUSTOM),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "pin", "current", "state", "expected"), TABLE, ids=[row[0] for row in TABLE]
)
def test_decide(
    case: str,
    pin: PinnedLocation | None,
    current: CurrentStorage | None,
    state: ArtifactState,
    expected: Outcome,
) -> None:
    decision = decide(pin, current, state)
    assert decision.outcome is expected, case
    if expected is OC.SERVE_CUSTOM:
        # Signed with the configuration in force, never with what was in force at pin time.
        assert decision.storage == current
    else:
        assert decision.storage is None


ERASED_TABLE: list[tuple[str, PinnedLocation | None, CurrentStorage | None, ArtifactState, ErasureReason, Outcome]] = [
    # 1a. erased: 404 before anything else, whatever the rows and the configuration say
    ("platform, uploaded, erased", PLATFORM, None, S.UPLOADED, ErasureReason.REQUEST, OC.MEDIA_DELETED),
    ("A, uploaded, A read_write, erased", PIN_A, cur("bucket-a"), S.UPLOADED, ErasureReason.REQUEST, OC.MEDIA_DELETED),
    ("A, pending, erased", PIN_A, cur("bucket-a"), S.PENDING, ErasureReason.REQUEST, OC.MEDIA_DELETED),
    ("not pinned, erased", None, None, S.NOT_PINNED, ErasureReason.REQUEST, OC.MEDIA_DELETED),
    ("A, failed, config deleted, expired", PIN_A, None, S.FAILED, ErasureReason.RETENTION, OC.MEDIA_EXPIRED),
    ("platform, uploaded, expired", PLATFORM, None, S.UPLOADED, ErasureReason.RETENTION, OC.MEDIA_EXPIRED),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "pin", "current", "state", "erased", "expected"), ERASED_TABLE, ids=[row[0] for row in ERASED_TABLE]
)
def test_decide_erased(
    case: str,
    pin: PinnedLocation | None,
    current: CurrentStorage | None,
    state: ArtifactState,
    erased: ErasureReason,
    expected: Outcome,
) -> None:
    decision = decide(pin, current, state, erased)
    assert decision.outcome is expected and decision.storage is None, case


def test_table_covers_every_outcome() -> None:
    assert {row[4] for row in TABLE} | {row[5] for row in ERASED_TABLE} == set(Outcome)


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], S.MISSING),
        (["uploaded"], S.UPLOADED),
        (["uploaded", "uploaded"], S.UPLOADED),
        (["uploaded", "pending"], S.PENDING),
        (["failed", "pending"], S.PENDING),
        (["uploaded", "failed"], S.FAILED),
        (["failed"], S.FAILED),
    ],
)
def test_collection_state(states: list[str], expected: ArtifactState) -> None:
    assert collection_state(states) is expected


def test_state_of_row() -> None:
    assert state_of_row(None) is S.MISSING
    assert state_of_row("pending") is S.PENDING
    assert state_of_row("failed") is S.FAILED
    assert state_of_row("uploaded") is S.UPLOADED


def test_cursor_round_trip_and_garbage() -> None:
    for seq in (0, 1, 99, 10_000):
        assert decode_cursor(encode_cursor(seq)) == seq
    for bad in ("x", "eyJ2IjoxfQ", encode_cursor(5)[:-2] + "!!", "e30", "WzFd"):
        with pytest.raises(InvalidRequest) as err:
            decode_cursor(bad)
        assert err.value.details["errors"][0]["field"] == "cursor"


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 100, None),
        ("bytes=0-0", 100, ByteRange(0, 0)),
        ("bytes=10-19", 100, ByteRange(10, 19)),
        ("bytes=90-200", 100, ByteRange(90, 99)),
        ("bytes=50-", 100, ByteRange(50, 99)),
        ("bytes=-10", 100, ByteRange(90, 99)),
        ("bytes=-1000", 100, ByteRange(0, 99)),
        ("BYTES = 1 - 2", 100, ByteRange(1, 2)),
        ("bytes=0-1,5-6", 100, None),  # several ranges: served whole
        ("items=0-1", 100, None),
        ("bytes=5-1", 100, None),  # invalid spec: ignored
        ("bytes=-", 100, None),
        ("bytes=abc", 100, None),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [("bytes=100-", 100), ("bytes=100-200", 100), ("bytes=-0", 100), ("bytes=-5", 0), ("bytes=0-", 0)],
)
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


# --- signing, through the service, without any network -------------------------------------------


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_presigned_s3_url_is_sigv4_with_configured_lifetime_and_scope(
    make_container: Callable[..., Container],
) -> None:
    container = make_container("sqlite", url_ttl_audio=1234, url_ttl_video=77)
    acct = container.accounts.create("acme")
    akid = "AKIAFETCHTEST0000001"
    version = insert_storage_config(
        container,
        acct.account_id,
        bucket="customer-bucket",
        region="eu-west-2",
        access_key_id=akid,
        secret_key="s" * 40,
    )
    bot = seed_bot(
        container,
        acct.account_id,
        pin="custom",
        bucket="customer-bucket",
        region="eu-west-2",
        config_version=version,
        prefixes=CategoryPrefixes(*("meetstream",) * 4),
        write=lambda key, data, ct: None,
    )
    before = int(time.time())
    body = container.fetch.audio(acct.account_id, bot.bot_id)
    url = body.url
    parts = urlsplit(url)
    assert parts.scheme == "https"
    assert parts.netloc == "customer-bucket.s3.eu-west-2.amazonaws.com"
    assert parts.path == "/" + bot.key("audio.mp3")
    q = _query(url)
    assert q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert q["X-Amz-Expires"] == "1234"
    cred_akid, date, region, service, terminal = q["X-Amz-Credential"].split("/")
    assert (cred_akid, region, service, terminal) == (akid, "eu-west-2", "s3", "aws4_request")
    assert re.fullmatch(r"\d{8}", date)
    assert re.fullmatch(r"[0-9a-f]{64}", q["X-Amz-Signature"])
    assert q["X-Amz-SignedHeaders"] == "host"
    assert "secret" not in url and "s" * 40 not in url
    assert body.expiry.expires_in == 1234
    expires_at = datetime.fromisoformat(body.expiry.expires_at.replace("Z", "+00:00"))
    assert expires_at.tzinfo is not None and body.expiry.expires_at.endswith("Z")
    assert before + 1234 <= expires_at.timestamp() <= time.time() + 1234 + 1
    # Another endpoint's lifetime is its own setting.
    video = container.fetch.video(acct.account_id, bot.bot_id)
    assert _query(video.url)["X-Amz-Expires"] == "77" and video.expiry.expires_in == 77

    # The customer replaces the credentials of the same bucket: URLs are signed with the new ones.
    insert_storage_config(
        container,
        acct.account_id,
        bucket="customer-bucket",
        region="eu-west-2",
        access_key_id="AKIAFETCHTEST0000002",
        secret_key="t" * 40,
    )
    again = _query(container.fetch.audio(acct.account_id, bot.bot_id).url)
    assert again["X-Amz-Credential"].startswith("AKIAFETCHTEST0000002/")


def _transcript_urls(answer: TranscriptUrls) -> list[str]:
    return [u for u in (answer.raw, answer.processed) if u is not None]


def test_presigning_makes_no_network_call(make_container: Callable[..., Container]) -> None:
    """The configured endpoint refuses every connection; presigned endpoints still answer."""
    container = make_container("sqlite")
    acct = container.accounts.create("acme")
    dead = "http://127.0.0.1:9"
    version = insert_storage_config(
        container,
        acct.account_id,
        bucket="bkt-offline",
        region="us-east-1",
        access_key_id="AKIAFETCHTEST0000003",
        secret_key="u" * 40,
        endpoint_url=dead,
    )
    bot = seed_bot(
        container,
        acct.account_id,
        pin="custom",
        bucket="bkt-offline",
        endpoint_url=dead,
        config_version=version,
        prefixes=CategoryPrefixes(*("meetstream",) * 4),
        write=lambda key, data, ct: None,
    )
    started = time.monotonic()
    fetch = container.fetch
    urls = [
        fetch.audio(acct.account_id, bot.bot_id).url,
        fetch.video(acct.account_id, bot.bot_id).url,
        fetch.chats(acct.account_id, bot.bot_id).url,
        fetch.manifest(acct.account_id, bot.bot_id).url,
        *[s.url for s in fetch.audio_streams(acct.account_id, bot.bot_id).streams],
        *[s.url for s in fetch.screenshots(acct.account_id, bot.bot_id).screenshots],
        *_transcript_urls(fetch.transcriptions(acct.account_id, bot.bot_id)),
    ]
    assert time.monotonic() - started < 2.0
    assert all(u.startswith(f"{dead}/bkt-offline/meetstream/{bot.bot_id}_") for u in urls)


def test_local_platform_url_is_a_signed_expiring_token(make_container: Callable[..., Container]) -> None:
    container = make_container("sqlite", url_ttl_chats=321, public_base_url="http://files.example.test")
    acct = container.accounts.create("acme")
    bot = seed_bot(container, acct.account_id, pin="platform")
    body = container.fetch.chats(acct.account_id, bot.bot_id)
    assert body.expiry.expires_in == 321
    prefix = "http://files.example.test/files/"
    assert body.url.startswith(prefix)
    store = container.platform.store
    assert isinstance(store, LocalPlatformStore)
    signed = store.verify(body.url[len(prefix) :])
    assert signed.key == bot.key("chat.json")
    assert abs(signed.expires_at - (time.time() + 321)) <= 2
    expires_at = datetime.fromisoformat(body.expiry.expires_at.replace("Z", "+00:00"))
    assert abs(expires_at.timestamp() - signed.expires_at) <= 1
    assert expires_at.tzinfo == UTC or expires_at.utcoffset() is not None


def test_a_pinned_expiry_expires_the_media_at_that_instant_before_any_sweep() -> None:
    from datetime import UTC, datetime, timedelta

    expires = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    second = timedelta(seconds=1)
    for pin, current in ((PLATFORM, None), (PIN_A, cur("bucket-a"))):
        before = decide(pin, current, S.UPLOADED, expires_at=expires, now=expires - second)
        assert before.outcome in (OC.SERVE_PLATFORM, OC.SERVE_CUSTOM)
        for now in (expires, expires + second):
            assert decide(pin, current, S.UPLOADED, expires_at=expires, now=now).outcome is OC.MEDIA_EXPIRED
    assert decide(PIN_A, cur("bucket-a"), S.UPLOADED, expires_at=None, now=expires).outcome is OC.SERVE_CUSTOM

"""Pinning, end to end through the SDK and the simulated runtime (moto with IAM on; SQLite and PostgreSQL).

When a bot leaves, its storage is resolved at that moment and recorded on the bot for good; its
artifact keys follow API.md's "Key layout" (the expected keys below are written out by hand from
that table, not computed with the code under test).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from meetstream import MeetStream

from conftest import new_account, sdk_for
from support.bots import bot_params, file_of, finished, uploads_implemented
from support.moto_s3 import MotoS3, read_write
from support.servers import RunningServer


def storage_body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    body.update(extra)
    return body


def expected_keys(
    bot_id: str,
    transcript_id: str,
    p: dict[str, str],
    *,
    provider: str = "meetstream",
    screenshots: int = 1,
    streams: tuple[str, ...] = (),
    video: bool = True,
) -> dict[str, set[str]]:
    """API.md's key layout table, per artifact kind."""

    def j(prefix: str, rest: str) -> str:
        return f"{prefix}/{rest}" if prefix else rest

    keys: dict[str, set[str]] = {
        "audio": {j(p["audio"], f"{bot_id}_audio.mp3")},
        "chat": {j(p["metadata"], f"{bot_id}_chat.json")},
        "manifest": {j(p["metadata"], f"{bot_id}_manifest.json")},
        "transcript_raw": {j(p["transcript"], f"{bot_id}_transcription/{provider}/{transcript_id}/raw.json")},
        "transcript_processed": {
            j(p["transcript"], f"{bot_id}_transcription/{provider}/{transcript_id}/processed.json")
        },
    }
    if video:
        keys["video"] = {j(p["video"], f"{bot_id}_video.mp4")}
        keys["screenshot"] = {
            j(p["video"], f"{bot_id}_screenshots/{n:05d}.png") for n in range(1, screenshots + 1)
        }
    if streams:
        keys["audio_stream"] = {j(p["audio"], f"{bot_id}_audio_streams/{s}.webm") for s in streams}
    return keys


def keys_by_kind(detail: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a in detail["storage"]["artifacts"]:
        out.setdefault(a["kind"], set()).add(a["key"])
    return out


def run_bot(client: MeetStream, server: RunningServer, **extra: Any) -> dict[str, Any]:
    created = client.bots.create(bot_params(1.0, **extra))
    return finished(client, server.container, created["bot_id"])


def check_bucket_matches_manifest(moto: MotoS3, bucket: str, detail: dict[str, Any]) -> None:
    """With the upload worker: every key is in the bucket, and the manifest's size and SHA-256
    describe exactly the bytes stored there."""
    assert detail["status"] == "Done"
    assert {a["state"] for a in detail["storage"]["artifacts"]} == {"uploaded"}
    keys = {a["key"] for a in detail["storage"]["artifacts"]}
    stored = {k: v for k, v in moto.objects(bucket).items() if detail["bot_id"] in k}
    assert set(stored) == keys
    manifest_key = next(a["key"] for a in detail["storage"]["artifacts"] if a["kind"] == "manifest")
    manifest = json.loads(stored[manifest_key])
    assert {e["key"] for e in manifest["artifacts"]} == keys - {manifest_key}
    for entry in manifest["artifacts"]:
        data = stored[entry["key"]]
        assert entry["size"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        assert moto.head(bucket, entry["key"])["ContentType"] == entry["content_type"]


def test_custom_pin_records_bucket_and_per_category_prefixes(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "base", "rec/audio", "rec/video", "tx"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    saved = client.storage.set(
        storage_body(
            moto,
            bucket,
            keys,
            prefix="base",
            prefixes={"audio": "rec/audio", "video": "/rec//video/", "transcript": "tx"},
        )
    )
    detail = run_bot(
        client,
        server,
        audio_separate_streams=True,
        recording_config={
            "simulated": {"duration_s": 1.0},
            "transcript": {"provider": {"assemblyai": {}}},
        },
    )
    prefixes = {"audio": "rec/audio", "video": "rec/video", "transcript": "tx", "metadata": "base"}
    assert detail["storage"]["location"] == {
        "kind": "custom",
        "bucket": bucket,
        "region": "us-east-1",
        "endpoint_url": moto.endpoint,
        "prefixes": prefixes,
    }
    assert saved["version"] >= 1
    assert keys_by_kind(detail) == expected_keys(
        detail["bot_id"],
        detail["transcript_id"],
        prefixes,
        provider="assemblyai",
        streams=("alice-example_1", "bob-example_2"),
    )
    assert not any(a["key"].startswith(f"{detail['bot_id']}/") for a in detail["storage"]["artifacts"])
    if uploads_implemented(server.container):
        check_bucket_matches_manifest(moto, bucket, detail)


def test_a_config_change_never_moves_a_pinned_bot(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto, bucket, keys, prefix="one"))
    bot1 = run_bot(client, server)
    one = dict.fromkeys(("audio", "video", "transcript", "metadata"), "one")
    assert bot1["storage"]["location"]["prefixes"] == one
    assert keys_by_kind(bot1) == expected_keys(bot1["bot_id"], bot1["transcript_id"], one)

    client.storage.set(storage_body(moto, bucket, keys, prefix="two", prefixes={"metadata": ""}))
    after = client.bots.detail(bot1["bot_id"])
    assert after["storage"]["location"] == bot1["storage"]["location"]
    assert keys_by_kind(after) == keys_by_kind(bot1)

    bot2 = run_bot(client, server)
    two = {"audio": "two", "video": "two", "transcript": "two", "metadata": ""}
    assert bot2["storage"]["location"]["prefixes"] == two
    assert keys_by_kind(bot2) == expected_keys(bot2["bot_id"], bot2["transcript_id"], two)
    # An empty prefix puts the metadata at the bucket root, still never in a bare {bot_id}/ folder.
    assert keys_by_kind(bot2)["manifest"] == {f"{bot2['bot_id']}_manifest.json"}
    if uploads_implemented(server.container):
        check_bucket_matches_manifest(moto, bucket, bot1)
        check_bucket_matches_manifest(moto, bucket, bot2)

    # Deleting the configuration does not move either; the next bot goes to the platform store.
    client.storage.delete()
    assert client.bots.detail(bot1["bot_id"])["storage"]["location"] == bot1["storage"]["location"]
    assert keys_by_kind(client.bots.detail(bot2["bot_id"])) == keys_by_kind(bot2)
    bot3 = run_bot(client, server)
    assert bot3["storage"]["location"]["kind"] == "platform"


def test_without_custom_storage_the_bot_is_pinned_to_the_platform_store(server: RunningServer) -> None:
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    detail = run_bot(client, server)
    p = f"accounts/{acct.account_id}/meetstream"
    platform = server.container.platform
    assert detail["storage"]["location"] == {
        "kind": "platform",
        "bucket": platform.bucket,
        "region": platform.region,
        "endpoint_url": platform.endpoint_url,
        "prefixes": dict.fromkeys(("audio", "video", "transcript", "metadata"), p),
    }
    assert keys_by_kind(detail) == expected_keys(
        detail["bot_id"],
        detail["transcript_id"],
        dict.fromkeys(("audio", "video", "transcript", "metadata"), p),
    )

    # The manifest lists every other artifact with its key, size, SHA-256 and content type, and
    # those describe the stored bytes; it also carries the meeting data.
    manifest = json.loads(file_of(server.container, detail, "manifest").read())
    assert manifest["bot_id"] == detail["bot_id"]
    assert manifest["transcript_id"] == detail["transcript_id"]
    assert manifest["storage"] == detail["storage"]["location"]
    listed = {e["key"]: e for e in manifest["artifacts"]}
    others = {a["key"]: a for a in detail["storage"]["artifacts"] if a["kind"] != "manifest"}
    assert set(listed) == set(others)
    for key, entry in listed.items():
        assert set(entry) >= {"kind", "name", "key", "size", "sha256", "content_type"}
        assert entry["size"] == others[key]["size"]
        assert entry["content_type"] == others[key]["content_type"]
        if others[key]["state"] == "uploaded":
            data = server.container.platform.store.path_of(key).read_bytes()  # type: ignore[union-attr]
            assert len(data) == entry["size"]
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    assert [x["name"] for x in manifest["participants"]] == ["Alice Example", "Bob Example"]
    assert isinstance(manifest["speaker_timeline"], list) and manifest["speaker_timeline"]
    assert manifest["video_info"]["resolution"] == "640x360"
    assert manifest["video_info"]["duration"] > 0

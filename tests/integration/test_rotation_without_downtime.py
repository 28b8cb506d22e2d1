"""Credential and master-key rotation while uploads run: nothing fails, nothing is lost."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_write
from support.pipeline import artifacts, leave, make_bot, random_chunks, spool, storage_body, wait_done
from support.servers import RunningServer


def _bots_with_files(server: RunningServer, account_id: str, count: int, size: int) -> list[str]:
    ids = []
    for _ in range(count):
        bot = make_bot(server.container, account_id, callback_url=None)
        spool(server.container, bot, "audio.mp3", random_chunks(size))
        spool(server.container, bot, "chat.json", b"[]")
        leave(server.container, bot)
        ids.append(bot.bot_id)
    return ids


def test_new_keys_for_the_same_bucket_mid_upload(
    make_server: Callable[..., RunningServer], moto: MotoS3, backend: str
) -> None:
    server = make_server(backend, multipart_threshold_mb=5, multipart_chunksize_mb=5, upload_concurrency=2)
    bucket = moto.make_bucket()
    old_keys = moto.make_user(read_write(bucket, "meetstream"))
    new_keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, old_keys))

    ids = _bots_with_files(server, acct.account_id, count=4, size=12 * 1024 * 1024)
    # Switch keys while those uploads are in flight.
    saved = client.storage.set(storage_body(moto.endpoint, bucket, new_keys))
    assert saved["version"] == 2
    later = _bots_with_files(server, acct.account_id, count=2, size=1024 * 1024)

    for bot_id in ids + later:
        wait_done(server.container, bot_id, timeout=60)
        rows = artifacts(server.container, bot_id)
        assert {r.state for r in rows.values()} == {"uploaded"}, {
            n: r.last_error_code for n, r in rows.items()
        }
        stored = moto.objects(bucket, rows["audio.mp3"].key)
        assert len(stored[rows["audio.mp3"].key]) == rows["audio.mp3"].size

    # Fetches are signed with the keys in force now.
    url = client.bots.audio(ids[0])["audio_url"]
    credential = parse_qs(urlsplit(url).query)["X-Amz-Credential"][0]
    assert credential.startswith(new_keys[0] + "/")
    assert moto.get_presigned(url).status_code == 200


def test_master_key_rotation_during_uploads(
    make_server: Callable[..., RunningServer], moto: MotoS3, backend: str
) -> None:
    server = make_server(backend, master_key=None, multipart_threshold_mb=5, multipart_chunksize_mb=5)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))

    s = server.container.settings
    env = {
        **os.environ,
        "MEETSTORE_DATA_DIR": str(s.data_dir),
        "MEETSTORE_DATABASE_URL": s.resolved_database_url,
    }
    env.pop("MEETSTORE_MASTER_KEY", None)
    rotation: list[subprocess.CompletedProcess[str]] = []

    def rotate() -> None:
        rotation.append(
            subprocess.run(
                [sys.executable, "-m", "meetstore.cli", "keys", "rotate"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        )

    ids = _bots_with_files(server, acct.account_id, count=3, size=8 * 1024 * 1024)
    thread = threading.Thread(target=rotate)
    thread.start()
    ids += _bots_with_files(server, acct.account_id, count=3, size=1024 * 1024)
    thread.join(timeout=120)
    assert rotation and rotation[0].returncode == 0, rotation[0].stderr if rotation else "no rotation"

    # New uploads after the rotation use the re-wrapped credentials (new client, new master key).
    server.container.s3.forget(acct.account_id)
    ids += _bots_with_files(server, acct.account_id, count=1, size=1024)
    for bot_id in ids:
        wait_done(server.container, bot_id, timeout=60)
        assert {r.state for r in artifacts(server.container, bot_id).values()} == {"uploaded"}
    assert client.storage.get()["storage"]["bucket_name"] == bucket

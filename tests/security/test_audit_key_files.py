"""Audit findings 4 (the key files raced on a concurrent first start) and 12 (the data dir was
readable by every local user)."""

from __future__ import annotations

import multiprocessing as mp
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest

from meetstore.adapters.crypto.envelope import KEYRING_FILE, load_keyring
from meetstore.adapters.platform_store.local import load_signing_key
from meetstore.adapters.secret_files import SecretFileError
from meetstore.config import Settings
from meetstore.container import RUNTIME_TOKEN_FILE, runtime_token

from conftest import new_account, sdk_for
from support.fetch_rows import media_files, seed_bot
from support.servers import RunningServer

PROCESSES = 8
ROUNDS = 4


def _first_start(data_dir: str, barrier: Any, out: Any) -> None:
    """What every process does at start: the three key files, all at the same moment."""
    barrier.wait()
    path = Path(data_dir)
    master, _older = load_keyring(path)
    signing = load_signing_key(path)
    token = runtime_token(Settings(data_dir=path))
    out.put((master.hex(), signing.hex(), token))


def test_finding_4_a_concurrent_first_start_agrees_on_every_key(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    for n in range(ROUNDS):
        data_dir = tmp_path / f"fresh-{n}"
        barrier = ctx.Barrier(PROCESSES)
        out = ctx.Queue()
        procs = [ctx.Process(target=_first_start, args=(str(data_dir), barrier, out)) for _ in range(PROCESSES)]
        for p in procs:
            p.start()
        seen = [out.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
        # Every process uses the keys that are on disk: one set for all.
        on_disk = (
            load_keyring(data_dir)[0].hex(),
            load_signing_key(data_dir).hex(),
            (data_dir / RUNTIME_TOKEN_FILE).read_text().strip(),
        )
        assert set(seen) == {on_disk}, n
        for name in (KEYRING_FILE, "url-signing.key", RUNTIME_TOKEN_FILE):
            assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600, name
        assert sorted(p.name for p in data_dir.iterdir()) == sorted(
            [KEYRING_FILE, "url-signing.key", RUNTIME_TOKEN_FILE]
        )  # no temporary file left behind


@pytest.mark.parametrize("name", [KEYRING_FILE, "url-signing.key", RUNTIME_TOKEN_FILE])
def test_finding_4_an_empty_key_file_is_refused(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("  \n")
    with pytest.raises(SecretFileError) as err:
        load_keyring(tmp_path)
        load_signing_key(tmp_path)
        runtime_token(Settings(data_dir=tmp_path))
    assert name in str(err.value)


def test_finding_4_a_short_url_signing_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "url-signing.key").write_text("c2hvcnQ=")  # base64 of b"short"
    with pytest.raises(SecretFileError):
        load_signing_key(tmp_path)


def test_finding_12_the_data_dir_is_private_to_meetstore(make_server: Any) -> None:
    server: RunningServer = make_server("sqlite")
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform", files=media_files(streams=False))
    url = sdk_for(server, acct.api_key).bots.audio(seeded.bot_id)["audio_url"]
    assert httpx.get(url).status_code == 200
    data_dir = server.container.settings.data_dir
    checked = 0
    for path in [data_dir, *data_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, (path, oct(mode))
        checked += 1
    assert checked > 5  # the database, the key files, the platform store's files

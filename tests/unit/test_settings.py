"""Settings: every knob is a MEETSTORE_* environment variable; secrets never show."""

from __future__ import annotations

import os
from pathlib import Path
from typing import get_args

import pytest
from pydantic import SecretStr, ValidationError

from meetstore.config import Settings

MASTER_KEY = "q8M3xJ0vYb0QmLr1s0p2m8nT4e6XkS1c9dV7uW3yZ5A="
RUNTIME_TOKEN = "rt_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
PLATFORM_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
PLATFORM_ACCESS = "AKIAPLATFORMEXAMPLE1"
AWS_ACCESS = "AKIAASSUMEROLEEXAMPLE"
AWS_SECRET = "sts/K7MDENG/bPxRfiCYASSUMEROLESECRETKEY"
OLD_KEYS = "b2xkLWtleS1vbmUtMzItYnl0ZXMtbG9uZy1rZXkhIQ==,b2xkLWtleS10d28="


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No MEETSTORE_* from the surrounding environment; run where no .env file could be read."""
    for name in list(os.environ):
        if name.upper().startswith("MEETSTORE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = Settings()
    assert s.host == "127.0.0.1" and s.port == 8000
    assert s.data_dir == Path(".meetstore")
    assert s.platform_store == "local"
    assert s.allow_private_endpoints is False
    assert s.master_key is None and s.runtime_token is None
    assert [s.ttl_for(k) for k in ("audio", "video", "audio_streams", "screenshots")] == [3600, 600, 600, 600]
    assert [s.ttl_for(k) for k in ("chats", "transcript", "manifest")] == [3600, 3600, 3600]
    assert s.spool_dir == Path(".meetstore") / "spool"
    assert s.local_store_dir == Path(".meetstore") / "platform-store"


def test_url_ttls_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETSTORE_URL_TTL_AUDIO", "120")
    monkeypatch.setenv("MEETSTORE_URL_TTL_VIDEO", "45")
    monkeypatch.setenv("MEETSTORE_URL_TTL_SCREENSHOTS", "7")
    s = Settings()
    assert s.url_ttl_audio == 120 and s.ttl_for("audio") == 120
    assert s.ttl_for("video") == 45
    assert s.ttl_for("screenshots") == 7
    assert s.ttl_for("chats") == 3600  # untouched


def test_lower_case_env_names_also_work(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("meetstore_url_ttl_audio", "99")
    assert Settings().url_ttl_audio == 99


def test_scalars_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env = {
        "MEETSTORE_HOST": "0.0.0.0",
        "MEETSTORE_PORT": "9100",
        "MEETSTORE_DATA_DIR": str(tmp_path / "data"),
        "MEETSTORE_ALLOW_PRIVATE_ENDPOINTS": "true",
        "MEETSTORE_UPLOAD_WORKER": "false",
        "MEETSTORE_UPLOAD_CONCURRENCY": "8",
        "MEETSTORE_UPLOAD_BACKOFF_BASE_S": "0.05",
        "MEETSTORE_UPLOAD_MAX_ATTEMPTS": "3",
        "MEETSTORE_LEASE_SECONDS": "2.5",
        "MEETSTORE_WEBHOOK_BACKOFF_MAX_S": "10",
        "MEETSTORE_SIMULATED_DEFAULT_DURATION_S": "1.5",
        "MEETSTORE_PLATFORM_STORE": "s3://platform-bucket/base",
        "MEETSTORE_PLATFORM_S3_ENDPOINT_URL": "http://127.0.0.1:5000",
        "MEETSTORE_KMS_KEY_ID": "alias/meetstore",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.host == "0.0.0.0" and s.port == 9100
    assert s.data_dir == tmp_path / "data"
    assert s.spool_dir == tmp_path / "data" / "spool"
    assert s.allow_private_endpoints is True
    assert s.upload_worker is False
    assert s.upload_concurrency == 8 and s.upload_max_attempts == 3
    assert s.upload_backoff_base_s == 0.05
    assert s.lease_seconds == 2.5
    assert s.webhook_backoff_max_s == 10.0
    assert s.simulated_default_duration_s == 1.5
    assert s.platform_store == "s3://platform-bucket/base"
    assert s.platform_s3_endpoint_url == "http://127.0.0.1:5000"
    assert s.kms_key_id == "alias/meetstore"


@pytest.mark.parametrize(("raw", "value"), [("1", True), ("yes", True), ("0", False), ("off", False)])
def test_boolean_spellings(monkeypatch: pytest.MonkeyPatch, raw: str, value: bool) -> None:
    monkeypatch.setenv("MEETSTORE_ALLOW_PRIVATE_ENDPOINTS", raw)
    assert Settings().allow_private_endpoints is value


def test_database_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MEETSTORE_DATA_DIR", str(tmp_path / "d"))
    assert Settings().resolved_database_url == f"sqlite:///{(tmp_path / 'd' / 'meetstore.db').resolve()}"
    monkeypatch.setenv("MEETSTORE_DATABASE_URL", "postgresql+psycopg://u@127.0.0.1:5432/db")
    assert Settings().resolved_database_url == "postgresql+psycopg://u@127.0.0.1:5432/db"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MEETSTORE_PORT", "eighty"),
        ("MEETSTORE_URL_TTL_AUDIO", "1h"),
        ("MEETSTORE_ALLOW_PRIVATE_ENDPOINTS", "maybe"),
        ("MEETSTORE_LEASE_SECONDS", "soon"),
    ],
)
def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_unknown_meetstore_variables_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETSTORE_NOT_A_SETTING", "x")
    assert not hasattr(Settings(), "not_a_setting")


def _with_secrets(monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("MEETSTORE_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("MEETSTORE_OLD_MASTER_KEYS", OLD_KEYS)
    monkeypatch.setenv("MEETSTORE_RUNTIME_TOKEN", RUNTIME_TOKEN)
    monkeypatch.setenv("MEETSTORE_PLATFORM_S3_ACCESS_KEY_ID", PLATFORM_ACCESS)
    monkeypatch.setenv("MEETSTORE_PLATFORM_S3_SECRET_ACCESS_KEY", PLATFORM_SECRET)
    monkeypatch.setenv("MEETSTORE_PLATFORM_AWS_ACCESS_KEY_ID", AWS_ACCESS)
    monkeypatch.setenv("MEETSTORE_PLATFORM_AWS_SECRET_ACCESS_KEY", AWS_SECRET)
    return Settings()


def test_secrets_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _with_secrets(monkeypatch)
    assert s.master_key is not None and s.master_key.get_secret_value() == MASTER_KEY
    assert s.old_master_keys is not None and s.old_master_keys.get_secret_value() == OLD_KEYS
    assert s.runtime_token is not None and s.runtime_token.get_secret_value() == RUNTIME_TOKEN
    assert s.platform_s3_access_key_id is not None
    assert s.platform_s3_access_key_id.get_secret_value() == PLATFORM_ACCESS
    assert s.platform_s3_secret_access_key is not None
    assert s.platform_s3_secret_access_key.get_secret_value() == PLATFORM_SECRET
    assert s.platform_aws_access_key_id is not None
    assert s.platform_aws_access_key_id.get_secret_value() == AWS_ACCESS
    assert s.platform_aws_secret_access_key is not None
    assert s.platform_aws_secret_access_key.get_secret_value() == AWS_SECRET


def test_secrets_never_show(monkeypatch: pytest.MonkeyPatch) -> None:
    s = _with_secrets(monkeypatch)
    renderings = [repr(s), str(s), s.model_dump_json(), repr(s.model_dump()), f"{s}", f"{s!r}"]
    for text in renderings:
        for secret in (
            MASTER_KEY,
            OLD_KEYS,
            RUNTIME_TOKEN,
            PLATFORM_SECRET,
            PLATFORM_ACCESS,
            AWS_ACCESS,
            AWS_SECRET,
        ):
            assert secret not in text
            assert secret[:12] not in text


def test_secrets_never_show_in_validation_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETSTORE_RUNTIME_TOKEN", RUNTIME_TOKEN)
    monkeypatch.setenv("MEETSTORE_MASTER_KEY", MASTER_KEY)
    monkeypatch.setenv("MEETSTORE_PORT", "not-a-port")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert RUNTIME_TOKEN not in str(info.value)
    assert MASTER_KEY not in str(info.value)


def test_every_secret_looking_setting_is_a_secret_str() -> None:
    """A new credential setting added as a plain str would show in repr(Settings()): refuse that."""
    words = ("secret", "token", "password", "master_key", "access_key")
    secret_fields = [name for name in Settings.model_fields if any(w in name for w in words)]
    assert {"master_key", "runtime_token", "platform_s3_secret_access_key"} <= set(secret_fields)
    for name in secret_fields:
        annotation = Settings.model_fields[name].annotation
        assert SecretStr in (annotation, *get_args(annotation)), name

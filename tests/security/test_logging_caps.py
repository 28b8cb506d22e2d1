"""Logging at DEBUG never turns on the loggers that print credentials.

botocore at DEBUG prints request headers (the `Authorization` header names the access key id);
httpx at INFO prints every URL it requests (presigned URLs with their credential and signature,
customer callback URLs with whatever tokens they carry). meetstore's logging setup holds them at
INFO and WARNING whatever MEETSTORE_LOG_LEVEL says, in the API process (`app_factory`, what
`meetstore serve` runs) as in `meetstore worker`; and its last-line filter masks presigned
credentials, signatures and local download tokens. The full-scenario proof is test_secrets.py.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetstore.logging_setup import RedactSecrets, configure_logging

CAPPED = {
    "botocore": logging.INFO,
    "boto3": logging.INFO,
    "s3transfer": logging.INFO,
    "urllib3": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
}


@pytest.fixture
def pristine_logging() -> Iterator[None]:
    """Restore the process' logging afterwards (other tests share it)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in CAPPED}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, lvl in levels.items():
            logging.getLogger(name).setLevel(lvl)


def _assert_capped() -> None:
    for name, floor in CAPPED.items():
        assert logging.getLogger(name).getEffectiveLevel() >= floor, name


def test_debug_level_keeps_credential_printing_loggers_capped(pristine_logging: None) -> None:
    for name in CAPPED:
        logging.getLogger(name).setLevel(logging.DEBUG)
    configure_logging("DEBUG")
    assert logging.getLogger().level == logging.DEBUG
    _assert_capped()


def test_the_api_process_applies_the_caps(
    pristine_logging: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from meetstore.api.main import app_factory

    monkeypatch.setenv("MEETSTORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MEETSTORE_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("MEETSTORE_UPLOAD_WORKER", "false")
    for name in CAPPED:  # as a library or an earlier configuration might have left them
        logging.getLogger(name).setLevel(logging.DEBUG)
    app = app_factory()
    try:
        _assert_capped()
    finally:
        app.state.container.close()


def test_the_filter_masks_credentials_in_whatever_is_logged(pristine_logging: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    log = logging.getLogger("meetstore.test.redact")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        log.info(
            "GET %s then %s with key %s",
            "http://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20260101"
            "&X-Amz-Security-Token=FQoGZXIvYXdzEBYaDH&X-Amz-Signature=0123456789abcdef",
            "http://127.0.0.1:8000/files/eyJrIjoiYWNjb3VudHMvYSIsImUiOjF9.xNVhN1vXByZm8ihhb7-BBPRCbB7M",
            "ms_" + "k" * 40,
        )
    finally:
        log.removeHandler(handler)
    out = stream.getvalue()
    for secret in ("AKIAEXAMPLE", "FQoGZXIvYXdzEBYaDH", "0123456789abcdef", "xNVhN1vXByZm8", "ms_kkkk"):
        assert secret not in out, out
    assert "X-Amz-Algorithm=AWS4-HMAC-SHA256" in out  # the rest of the line is still useful

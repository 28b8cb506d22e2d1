"""Logging: one format, and a last-line filter that masks anything shaped like our secrets."""

from __future__ import annotations

import logging
import re

_SECRET_SHAPES = re.compile(
    r"(ms_[A-Za-z0-9_-]{20,}|whsec_[A-Za-z0-9_+/=-]{20,}"
    # A presigned URL's credential, signature and session token, and a local download token: a
    # logged URL must not be a working link nor name the customer's access key id.
    r"|(?<=X-Amz-Credential=)[^&\s\"']+|(?<=X-Amz-Signature=)[^&\s\"']+|(?<=X-Amz-Security-Token=)[^&\s\"']+"
    r"|(?<=/files/)[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,})"
)


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _SECRET_SHAPES.search(message):
            record.msg = _SECRET_SHAPES.sub("[redacted]", message)
            record.args = None
        return True


class RedactingFormatter(logging.Formatter):
    """Masks secrets in the whole formatted record: a traceback (and an exception's message in
    it) is added by the formatter, after any filter has run."""

    def format(self, record: logging.LogRecord) -> str:
        return _SECRET_SHAPES.sub("[redacted]", super().format(record))


def configure_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if not any(isinstance(f, RedactSecrets) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("botocore", "boto3", "s3transfer", "urllib3"):
        # botocore's DEBUG output includes request headers (the access key id): never below INFO.
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    # httpx logs every request's full URL at INFO: presigned URLs (the access key id and a live
    # signature) and customer callback URLs (which may carry tokens). Never below WARNING.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))

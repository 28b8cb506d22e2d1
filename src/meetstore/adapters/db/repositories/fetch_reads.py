"""The one-round-trip read of get_audio & co.: the bot (by primary key, and the caller's account),
its first artifact of a kind (ix_artifacts_bot_kind_seq) and the account's storage configuration
(primary key), selected as columns on a Core connection (no ORM unit of work to set up and tear
down) and handed back as detached rows."""

from __future__ import annotations

from sqlalchemy import and_, bindparam, select

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Account, Artifact, Bot, StorageConfigRow
from meetstore.domain.read_queries import BotWithArtifact

_BOT_FIELDS = (
    "id",
    "account_id",
    "status",
    "transcript_id",
    "transcript_provider",
    "pin_kind",
    "pin_bucket",
    "pin_region",
    "pin_endpoint_url",
    "pin_config_version",
    "pin_prefixes",
    "meeting_data",
    "created_at",
    "left_at",
    "deletion_requested_at",
    "deletion_reason",
    "retention_expires_at",
)
"""The bot columns the fetch endpoints read (decision, erasure, folder, video info, screenshot times)."""
_ARTIFACT_FIELDS = (
    "id",
    "bot_id",
    "kind",
    "seq",
    "participant",
    "key",
    "state",
    "size",
    "last_error_code",
    "last_error_operation",
    "last_error_message",
)
_CONFIG_FIELDS = tuple(column.key for column in StorageConfigRow.__table__.columns)
_BOT_SLICE = slice(0, len(_BOT_FIELDS))
_ARTIFACT_SLICE = slice(_BOT_SLICE.stop, _BOT_SLICE.stop + len(_ARTIFACT_FIELDS))
_CONFIG_SLICE = slice(_ARTIFACT_SLICE.stop, _ARTIFACT_SLICE.stop + len(_CONFIG_FIELDS))

_QUERY = (
    select(
        *(getattr(Bot, name) for name in _BOT_FIELDS),
        *(getattr(Artifact, name) for name in _ARTIFACT_FIELDS),
        *(getattr(StorageConfigRow, name) for name in _CONFIG_FIELDS),
        Account.external_id,
    )
    .join(Account, Account.id == Bot.account_id)
    .outerjoin(Artifact, and_(Artifact.bot_id == Bot.id, Artifact.kind == bindparam("kind")))
    .outerjoin(StorageConfigRow, StorageConfigRow.account_id == Bot.account_id)
    .where(Bot.id == bindparam("bot_id"), Bot.account_id == bindparam("account_id"))
    .order_by(Artifact.seq)
    .limit(1)
)


class FetchReads:
    def __init__(self, db: Database) -> None:
        self._db = db

    def bot_with_first(self, bot_id: str, account_id: str, kind: str) -> BotWithArtifact | None:
        with self._db.read_connection() as conn:
            found = conn.execute(_QUERY, {"bot_id": bot_id, "account_id": account_id, "kind": kind}).first()
        if found is None:
            return None
        values = tuple(found)
        bot = Bot(**dict(zip(_BOT_FIELDS, values[_BOT_SLICE], strict=True)))
        art = dict(zip(_ARTIFACT_FIELDS, values[_ARTIFACT_SLICE], strict=True))
        config = dict(zip(_CONFIG_FIELDS, values[_CONFIG_SLICE], strict=True))
        return BotWithArtifact(
            bot=bot,
            artifact=Artifact(**art) if art["id"] is not None else None,
            config=StorageConfigRow(**config) if config["account_id"] is not None else None,
            external_id=values[-1],
        )

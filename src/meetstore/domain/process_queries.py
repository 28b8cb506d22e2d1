"""Repository ports of what processes share beyond the product's rows: worker heartbeats, the
change feed that tells every process of a change, and the spool's data keys."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class HeartbeatQueries(Protocol):
    def beat(self, worker_id: str, kind: str, now: datetime) -> None: ...

    def forget(self, worker_id: str) -> None: ...

    def live(self, kind: str, since: datetime) -> int:
        """Workers of `kind` that beat since `since`."""
        ...


class ChangeQueries(Protocol):
    def record(self, account_id: str, what: str, now: datetime) -> None:
        """A change other processes must learn of, in the transaction that makes it."""
        ...

    def latest(self) -> int: ...

    def since(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        """(id, account id, what) of the changes after `after`, oldest first."""
        ...

    def prune(self, before: datetime) -> int: ...


class SpoolKeyQueries(Protocol):
    """Sealed keys only: an account's key is sealed by the master key (SecretBox), a bot's data
    key is wrapped by its account's key. Deleting a row is what crypto-shreds."""

    def account_key(self, account_id: str) -> bytes | None: ...

    def add_account_key(self, account_id: str, sealed: bytes, now: datetime) -> bool:
        """Store the account's sealed key unless one exists (a racing process made it first)."""
        ...

    def bot_key(self, bot_id: str) -> bytes | None: ...

    def add_bot_key(self, bot_id: str, account_id: str, wrapped: bytes, now: datetime) -> bool: ...

    def destroy_bot_key(self, bot_id: str) -> bool:
        """Whether there was a key to destroy."""
        ...

    def destroy_account_keys(self, account_id: str) -> int:
        """The account's key and every bot key it wraps."""
        ...

    def sealed_account_keys(self, after: str, limit: int) -> list[tuple[str, bytes]]:
        """(account id, sealed key) in account id order after `after`: for master-key rotation."""
        ...

    def replace_account_key(self, account_id: str, sealed: bytes) -> None: ...

    def count_account_keys(self) -> int: ...

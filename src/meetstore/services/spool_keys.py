"""The keys spooled recordings are sealed under: a data key per bot, wrapped by a key per account,
which the master key seals like every other secret (SecretBox).

A bot's key is made when its first file arrives (or at hand-in), and destroyed when the bot is
erased; an account's when the account is erased. With the key gone, whatever a spool folder, a
staging bucket or a backup of either still holds of the bot is ciphertext nobody can open.
Plaintext keys are never stored or cached: each use reads the sealed rows and opens them.
"""

from __future__ import annotations

import base64

from meetstore.domain.ports import Clock, KeyWrap, SecretBox
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.errors import SpoolKeyUnavailable

PURPOSE = "spool_account_key"


class SpoolKeyService:
    def __init__(self, tx: Transactions, box: SecretBox, wrap: KeyWrap, clock: Clock) -> None:
        self._tx = tx
        self._box = box
        self._wrap = wrap
        self._clock = clock

    def data_key(self, account_id: str, bot_id: str, *, create: bool = False) -> bytes:
        """The bot's data key. `create`: make it (and the account's key) when missing; else a
        missing key is SpoolKeyUnavailable (the bot was erased: its files are shredded)."""
        with self._tx.read() as t:
            found = self._open(t, account_id, bot_id)
        if found is not None:
            return found
        if not create:
            raise SpoolKeyUnavailable("The bot's spool key was destroyed; its spooled files cannot be read.")
        with self._tx.write() as t:
            self._make(t, account_id, bot_id)
        with self._tx.read() as t:
            made = self._open(t, account_id, bot_id)
        if made is None:  # erased between the write and this read
            raise SpoolKeyUnavailable("The bot's spool key was destroyed; its spooled files cannot be read.")
        return made

    def _open(self, t: Transaction, account_id: str, bot_id: str) -> bytes | None:
        wrapped = t.spool_keys.bot_key(bot_id)
        sealed = t.spool_keys.account_key(account_id)
        if wrapped is None or sealed is None:
            return None
        account_key = self._account_key(sealed, account_id)
        return self._wrap.unwrap(wrapped, under=account_key, bot_id=bot_id)

    def _account_key(self, sealed: bytes, account_id: str) -> bytes:
        return base64.b64decode(self._box.open(sealed, account_id=account_id, purpose=PURPOSE))

    def _make(self, t: Transaction, account_id: str, bot_id: str) -> None:
        now = self._clock.now()
        sealed = t.spool_keys.account_key(account_id)
        if sealed is None:
            fresh = base64.b64encode(self._wrap.new_key()).decode("ascii")
            t.spool_keys.add_account_key(account_id, self._box.seal(fresh, account_id=account_id, purpose=PURPOSE), now)
            sealed = t.spool_keys.account_key(account_id)
            assert sealed is not None
        if t.spool_keys.bot_key(bot_id) is None:
            wrapped = self._wrap.wrap(self._wrap.new_key(), under=self._account_key(sealed, account_id), bot_id=bot_id)
            t.spool_keys.add_bot_key(bot_id, account_id, wrapped, now)

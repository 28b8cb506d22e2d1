"""What a customer's CloudTrail and inventory see of meetstore: the role session's name and every
object's owner metadata."""

from __future__ import annotations

import re

from meetstore.adapters.s3.bucket import owner_metadata
from meetstore.adapters.s3.clients import session_name
from meetstore.domain.ports import ObjectOwner


def test_role_sessions_name_the_account_and_configuration_version() -> None:
    account = "0b6f3c1e-8d7a-4f2b-9c11-2a3b4c5d6e7f"
    assert session_name(account, 3) == f"meetstore-{account}-v3"
    assert session_name(account, -1) == f"meetstore-{account}-check"
    long = session_name(account, 10**12)
    assert len(long) <= 64 and long.endswith(f"-v{10**12}")
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", long)  # AssumeRole's RoleSessionName pattern


def test_objects_name_their_bot_and_account() -> None:
    assert owner_metadata(ObjectOwner("bot-1", "acct-1")) == {
        "meetstore-bot-id": "bot-1",
        "meetstore-account-id": "acct-1",
    }

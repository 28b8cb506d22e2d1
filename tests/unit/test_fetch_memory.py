"""What a process remembers of finished files (services/fetch_cache.py): only uploaded rows, and
never what a read started before an erasure or a storage change would put back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from meetstore.domain.artifacts import ArtifactKind
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.services.fetch_cache import FinalLocations

CUSTOM = PinnedLocation(kind=PinKind.CUSTOM, bucket="b", region="us-east-1", endpoint_url=None, config_version=1)
PLATFORM = PinnedLocation(kind=PinKind.PLATFORM, bucket="p", region="local", endpoint_url=None, config_version=None)
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)


@dataclass
class Row:
    key: str
    state: str = "uploaded"


def remember(memory: FinalLocations, account: str, row: Row, generation: int, pin: PinnedLocation = CUSTOM) -> None:
    memory.remember(
        account, "bot", pin, ArtifactKind.AUDIO, row,  # type: ignore[arg-type]
        expires_at=EXPIRES, active=None, generation=generation,
    )  # fmt: skip


def test_only_uploaded_rows_are_remembered_with_their_pin_and_expiry() -> None:
    memory = FinalLocations(10)
    remember(memory, "a", Row("k1", state="pending"), memory.generation("a"))
    assert memory.get("a", "bot", ArtifactKind.AUDIO) is None
    remember(memory, "a", Row("k1"), memory.generation("a"))
    final = memory.get("a", "bot", ArtifactKind.AUDIO)
    assert final is not None and (final.key, final.pin, final.expires_at) == ("k1", CUSTOM, EXPIRES)
    assert memory.config("a") == (True, None)  # a custom pin's read saw no configuration in force


def test_a_read_begun_before_a_change_is_not_remembered_after_it() -> None:
    memory = FinalLocations(10)
    before = memory.generation("a")  # a slow read starts ...
    memory.forget_account("a")  # ... the storage changes (or a bot is erased) ...
    remember(memory, "a", Row("stale"), before)  # ... and the read ends
    assert memory.get("a", "bot", ArtifactKind.AUDIO) is None and memory.config("a") == (False, None)
    remember(memory, "b", Row("other"), memory.generation("b"))  # other accounts are not affected
    assert memory.get("b", "bot", ArtifactKind.AUDIO) is not None


def test_a_platform_pin_says_nothing_about_the_configuration_and_the_bound_holds() -> None:
    memory = FinalLocations(2)
    remember(memory, "a", Row("k"), memory.generation("a"), PLATFORM)
    assert memory.config("a") == (False, None)
    for account in ("b", "c", "d"):
        remember(memory, account, Row("k"), memory.generation(account), PLATFORM)
    assert len(memory) == 2 and memory.get("a", "bot", ArtifactKind.AUDIO) is None
    off = FinalLocations(0)
    remember(off, "a", Row("k"), 0)
    assert len(off) == 0

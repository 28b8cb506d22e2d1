"""The ONLY place object keys are built: artifact → category → key (API.md, "Key layout").

`{p}` is the category's effective prefix (normalised, no leading or trailing slash). With `p == ""`
the key starts at `{bot_id}`. There is never a bare `{bot_id}/` folder: every key's first path
segment after the prefix starts with `{bot_id}_`.
"""

from __future__ import annotations

from meetstore.domain.artifacts import CATEGORY_OF, ArtifactKind
from meetstore.domain.storage_config import CategoryPrefixes

_COLLECTION_SUFFIX: dict[ArtifactKind, str] = {
    ArtifactKind.SCREENSHOT: "screenshots",
    ArtifactKind.AUDIO_STREAM: "audio_streams",
    ArtifactKind.RECORDING_STREAM: "recording_streams",
    ArtifactKind.TRANSCRIPT_RAW: "transcription",
    ArtifactKind.TRANSCRIPT_PROCESSED: "transcription",
}


def _join(prefix: str, rest: str) -> str:
    return f"{prefix}/{rest}" if prefix else rest


def _safe_segment(value: str, what: str) -> str:
    if not value or "/" in value or value in (".", "..") or "\\" in value:
        raise ValueError(f"invalid {what} for an object key: {value!r}")
    return value


def object_key(
    kind: ArtifactKind,
    prefixes: CategoryPrefixes,
    bot_id: str,
    *,
    seq: int = 0,
    participant: str = "",
    provider: str = "",
    transcript_id: str = "",
) -> str:
    """The object key of one artifact of bot `bot_id`."""
    bot = _safe_segment(bot_id, "bot id")
    p = prefixes.for_category(CATEGORY_OF[kind])
    if kind is ArtifactKind.AUDIO:
        return _join(p, f"{bot}_audio.mp3")
    if kind is ArtifactKind.VIDEO:
        return _join(p, f"{bot}_video.mp4")
    if kind is ArtifactKind.CHAT:
        return _join(p, f"{bot}_chat.json")
    if kind is ArtifactKind.MANIFEST:
        return _join(p, f"{bot}_manifest.json")
    if kind is ArtifactKind.SCREENSHOT:
        if seq < 1:
            raise ValueError("screenshot numbers start at 1")
        return _join(p, f"{bot}_screenshots/{seq:05d}.png")
    if kind is ArtifactKind.AUDIO_STREAM:
        if seq < 1:
            raise ValueError("stream numbers start at 1")
        slug = _safe_segment(participant, "participant")
        return _join(p, f"{bot}_audio_streams/{slug}_{seq}.webm")
    if kind is ArtifactKind.RECORDING_STREAM:
        if seq < 1:
            raise ValueError("stream numbers start at 1")
        slug = _safe_segment(participant, "participant")
        return _join(p, f"{bot}_recording_streams/{slug}_{seq}.mp4")
    # Transcripts.
    name = "raw.json" if kind is ArtifactKind.TRANSCRIPT_RAW else "processed.json"
    prov = _safe_segment(provider, "provider")
    tid = _safe_segment(transcript_id, "transcript id")
    return _join(p, f"{bot}_transcription/{prov}/{tid}/{name}")


def collection_prefix(
    kind: ArtifactKind,
    prefixes: CategoryPrefixes,
    bot_id: str,
    *,
    provider: str = "",
    transcript_id: str = "",
) -> str:
    """The folder (ending in '/') that holds a multi-file collection of a bot."""
    bot = _safe_segment(bot_id, "bot id")
    suffix = _COLLECTION_SUFFIX.get(kind)
    if suffix is None:
        raise ValueError(f"{kind} is not a collection")
    p = prefixes.for_category(CATEGORY_OF[kind])
    folder = _join(p, f"{bot}_{suffix}/")
    if suffix == "transcription":
        folder += f"{_safe_segment(provider, 'provider')}/{_safe_segment(transcript_id, 'transcript id')}/"
    return folder


def category_folders(prefixes: CategoryPrefixes) -> list[str]:
    """Every distinct folder the account's objects are written under ('' when a category's prefix
    is empty: its objects start at the bucket's root), in category order."""
    folders: list[str] = []
    for category in CATEGORY_OF.values():
        folder = _join(prefixes.for_category(category), "")
        if folder not in folders:
            folders.append(folder)
    return folders


def bot_listing_prefix(key: str, bot_id: str) -> str:
    """The prefix under which every object of `bot_id` in `key`'s category lies: `{p}/{bot_id}_`
    (a key's first segment after the prefix always starts with `{bot_id}_`)."""
    marker = f"{_safe_segment(bot_id, 'bot id')}_"
    at = key.find(marker)
    if at < 0 or (at > 0 and key[at - 1] != "/"):
        raise ValueError(f"{key!r} is not a key of bot {bot_id}")
    return key[: at + len(marker)]

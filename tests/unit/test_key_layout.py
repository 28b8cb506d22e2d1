"""The key layout of API.md ("Key layout in the bucket"), written out literally, plus properties.

Expected keys are spelled out by hand from the API.md table, never recomputed from the code.
"""

from __future__ import annotations

import uuid

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from meetstore.domain.artifacts import CATEGORY_OF, ArtifactKind
from meetstore.domain.key_layout import collection_prefix, object_key
from meetstore.domain.storage_config import (
    Category,
    CategoryPrefixes,
    PrefixError,
    effective_prefixes,
    normalise_prefix,
)

BOT = "3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10"
TID = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
PROVIDER = "deepgram"

DEFAULT = effective_prefixes("meetstream", {})
ROOT = effective_prefixes("", {})
NESTED = effective_prefixes("recordings/meetstream", {})
PER_CATEGORY = effective_prefixes(
    "meetstream",
    {
        Category.AUDIO: "recordings/audio",
        Category.VIDEO: "recordings/video",
        Category.TRANSCRIPT: "transcripts",
        Category.METADATA: "metadata",
    },
)
LAYOUTS = {"default": DEFAULT, "root": ROOT, "nested": NESTED, "per_category": PER_CATEGORY}

# (layout, kind, seq, participant) -> expected key
KEY_TABLE: list[tuple[str, ArtifactKind, int, str, str]] = [
    # default prefix "meetstream"
    ("default", ArtifactKind.AUDIO, 0, "", f"meetstream/{BOT}_audio.mp3"),
    ("default", ArtifactKind.AUDIO_STREAM, 1, "alice", f"meetstream/{BOT}_audio_streams/alice_1.webm"),
    ("default", ArtifactKind.AUDIO_STREAM, 12, "bob-2", f"meetstream/{BOT}_audio_streams/bob-2_12.webm"),
    ("default", ArtifactKind.VIDEO, 0, "", f"meetstream/{BOT}_video.mp4"),
    ("default", ArtifactKind.RECORDING_STREAM, 1, "alice", f"meetstream/{BOT}_recording_streams/alice_1.mp4"),
    ("default", ArtifactKind.SCREENSHOT, 1, "", f"meetstream/{BOT}_screenshots/00001.png"),
    ("default", ArtifactKind.SCREENSHOT, 123, "", f"meetstream/{BOT}_screenshots/00123.png"),
    (
        "default",
        ArtifactKind.TRANSCRIPT_RAW,
        0,
        "",
        f"meetstream/{BOT}_transcription/deepgram/{TID}/raw.json",
    ),
    (
        "default",
        ArtifactKind.TRANSCRIPT_PROCESSED,
        0,
        "",
        f"meetstream/{BOT}_transcription/deepgram/{TID}/processed.json",
    ),
    ("default", ArtifactKind.CHAT, 0, "", f"meetstream/{BOT}_chat.json"),
    ("default", ArtifactKind.MANIFEST, 0, "", f"meetstream/{BOT}_manifest.json"),
    # bucket root ""
    ("root", ArtifactKind.AUDIO, 0, "", f"{BOT}_audio.mp3"),
    ("root", ArtifactKind.AUDIO_STREAM, 1, "alice", f"{BOT}_audio_streams/alice_1.webm"),
    ("root", ArtifactKind.AUDIO_STREAM, 12, "bob-2", f"{BOT}_audio_streams/bob-2_12.webm"),
    ("root", ArtifactKind.VIDEO, 0, "", f"{BOT}_video.mp4"),
    ("root", ArtifactKind.RECORDING_STREAM, 2, "bob-2", f"{BOT}_recording_streams/bob-2_2.mp4"),
    ("root", ArtifactKind.SCREENSHOT, 1, "", f"{BOT}_screenshots/00001.png"),
    ("root", ArtifactKind.SCREENSHOT, 123, "", f"{BOT}_screenshots/00123.png"),
    ("root", ArtifactKind.TRANSCRIPT_RAW, 0, "", f"{BOT}_transcription/deepgram/{TID}/raw.json"),
    ("root", ArtifactKind.TRANSCRIPT_PROCESSED, 0, "", f"{BOT}_transcription/deepgram/{TID}/processed.json"),
    ("root", ArtifactKind.CHAT, 0, "", f"{BOT}_chat.json"),
    ("root", ArtifactKind.MANIFEST, 0, "", f"{BOT}_manifest.json"),
    # nested "recordings/meetstream"
    ("nested", ArtifactKind.AUDIO, 0, "", f"recordings/meetstream/{BOT}_audio.mp3"),
    (
        "nested",
        ArtifactKind.AUDIO_STREAM,
        1,
        "alice",
        f"recordings/meetstream/{BOT}_audio_streams/alice_1.webm",
    ),
    (
        "nested",
        ArtifactKind.AUDIO_STREAM,
        12,
        "bob-2",
        f"recordings/meetstream/{BOT}_audio_streams/bob-2_12.webm",
    ),
    ("nested", ArtifactKind.VIDEO, 0, "", f"recordings/meetstream/{BOT}_video.mp4"),
    (
        "nested",
        ArtifactKind.RECORDING_STREAM,
        1,
        "alice",
        f"recordings/meetstream/{BOT}_recording_streams/alice_1.mp4",
    ),
    ("nested", ArtifactKind.SCREENSHOT, 1, "", f"recordings/meetstream/{BOT}_screenshots/00001.png"),
    ("nested", ArtifactKind.SCREENSHOT, 123, "", f"recordings/meetstream/{BOT}_screenshots/00123.png"),
    (
        "nested",
        ArtifactKind.TRANSCRIPT_RAW,
        0,
        "",
        f"recordings/meetstream/{BOT}_transcription/deepgram/{TID}/raw.json",
    ),
    (
        "nested",
        ArtifactKind.TRANSCRIPT_PROCESSED,
        0,
        "",
        f"recordings/meetstream/{BOT}_transcription/deepgram/{TID}/processed.json",
    ),
    ("nested", ArtifactKind.CHAT, 0, "", f"recordings/meetstream/{BOT}_chat.json"),
    ("nested", ArtifactKind.MANIFEST, 0, "", f"recordings/meetstream/{BOT}_manifest.json"),
    # per-category prefixes
    ("per_category", ArtifactKind.AUDIO, 0, "", f"recordings/audio/{BOT}_audio.mp3"),
    (
        "per_category",
        ArtifactKind.AUDIO_STREAM,
        1,
        "alice",
        f"recordings/audio/{BOT}_audio_streams/alice_1.webm",
    ),
    (
        "per_category",
        ArtifactKind.AUDIO_STREAM,
        12,
        "bob-2",
        f"recordings/audio/{BOT}_audio_streams/bob-2_12.webm",
    ),
    ("per_category", ArtifactKind.VIDEO, 0, "", f"recordings/video/{BOT}_video.mp4"),
    (
        "per_category",
        ArtifactKind.RECORDING_STREAM,
        1,
        "alice",
        f"recordings/video/{BOT}_recording_streams/alice_1.mp4",
    ),
    ("per_category", ArtifactKind.SCREENSHOT, 1, "", f"recordings/video/{BOT}_screenshots/00001.png"),
    ("per_category", ArtifactKind.SCREENSHOT, 123, "", f"recordings/video/{BOT}_screenshots/00123.png"),
    (
        "per_category",
        ArtifactKind.TRANSCRIPT_RAW,
        0,
        "",
        f"transcripts/{BOT}_transcription/deepgram/{TID}/raw.json",
    ),
    (
        "per_category",
        ArtifactKind.TRANSCRIPT_PROCESSED,
        0,
        "",
        f"transcripts/{BOT}_transcription/deepgram/{TID}/processed.json",
    ),
    ("per_category", ArtifactKind.CHAT, 0, "", f"metadata/{BOT}_chat.json"),
    ("per_category", ArtifactKind.MANIFEST, 0, "", f"metadata/{BOT}_manifest.json"),
]


def _key(kind: ArtifactKind, prefixes: CategoryPrefixes, bot: str, seq: int, participant: str) -> str:
    return object_key(
        kind,
        prefixes,
        bot,
        seq=seq,
        participant=participant,
        provider=PROVIDER,
        transcript_id=TID,
    )


def test_table_covers_every_kind_in_every_layout() -> None:
    for layout in LAYOUTS:
        kinds = {kind for (lay, kind, _, _, _) in KEY_TABLE if lay == layout}
        assert kinds == set(ArtifactKind), layout


@pytest.mark.parametrize(
    ("layout", "kind", "seq", "participant", "expected"),
    KEY_TABLE,
    ids=[f"{row[0]}-{row[1].value}-{row[2]}" for row in KEY_TABLE],
)
def test_object_key_matches_api_table(
    layout: str, kind: ArtifactKind, seq: int, participant: str, expected: str
) -> None:
    assert _key(kind, LAYOUTS[layout], BOT, seq, participant) == expected


COLLECTION_TABLE: list[tuple[str, ArtifactKind, str]] = [
    ("default", ArtifactKind.SCREENSHOT, f"meetstream/{BOT}_screenshots/"),
    ("default", ArtifactKind.AUDIO_STREAM, f"meetstream/{BOT}_audio_streams/"),
    ("default", ArtifactKind.TRANSCRIPT_RAW, f"meetstream/{BOT}_transcription/deepgram/{TID}/"),
    ("default", ArtifactKind.TRANSCRIPT_PROCESSED, f"meetstream/{BOT}_transcription/deepgram/{TID}/"),
    ("root", ArtifactKind.SCREENSHOT, f"{BOT}_screenshots/"),
    ("root", ArtifactKind.AUDIO_STREAM, f"{BOT}_audio_streams/"),
    ("root", ArtifactKind.TRANSCRIPT_RAW, f"{BOT}_transcription/deepgram/{TID}/"),
    ("nested", ArtifactKind.SCREENSHOT, f"recordings/meetstream/{BOT}_screenshots/"),
    ("nested", ArtifactKind.AUDIO_STREAM, f"recordings/meetstream/{BOT}_audio_streams/"),
    ("nested", ArtifactKind.TRANSCRIPT_RAW, f"recordings/meetstream/{BOT}_transcription/deepgram/{TID}/"),
    ("per_category", ArtifactKind.SCREENSHOT, f"recordings/video/{BOT}_screenshots/"),
    ("per_category", ArtifactKind.AUDIO_STREAM, f"recordings/audio/{BOT}_audio_streams/"),
    ("per_category", ArtifactKind.TRANSCRIPT_PROCESSED, f"transcripts/{BOT}_transcription/deepgram/{TID}/"),
]


@pytest.mark.parametrize(
    ("layout", "kind", "expected"),
    COLLECTION_TABLE,
    ids=[f"{row[0]}-{row[1].value}" for row in COLLECTION_TABLE],
)
def test_collection_prefix_matches_api_table(layout: str, kind: ArtifactKind, expected: str) -> None:
    assert collection_prefix(kind, LAYOUTS[layout], BOT, provider=PROVIDER, transcript_id=TID) == expected


def test_collection_members_live_under_their_collection_prefix() -> None:
    for prefixes in LAYOUTS.values():
        shots = collection_prefix(ArtifactKind.SCREENSHOT, prefixes, BOT)
        assert _key(ArtifactKind.SCREENSHOT, prefixes, BOT, 7, "").startswith(shots)
        streams = collection_prefix(ArtifactKind.AUDIO_STREAM, prefixes, BOT)
        assert _key(ArtifactKind.AUDIO_STREAM, prefixes, BOT, 1, "alice").startswith(streams)


@pytest.mark.parametrize(
    "kind", [ArtifactKind.AUDIO, ArtifactKind.VIDEO, ArtifactKind.CHAT, ArtifactKind.MANIFEST]
)
def test_single_files_are_not_collections(kind: ArtifactKind) -> None:
    with pytest.raises(ValueError):
        collection_prefix(kind, DEFAULT, BOT)


@pytest.mark.parametrize("kind", [ArtifactKind.SCREENSHOT, ArtifactKind.AUDIO_STREAM])
@pytest.mark.parametrize("seq", [0, -1])
def test_collection_numbers_start_at_one(kind: ArtifactKind, seq: int) -> None:
    with pytest.raises(ValueError):
        _key(kind, DEFAULT, BOT, seq, "alice")


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b"])
def test_unsafe_segments_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        _key(ArtifactKind.AUDIO, DEFAULT, bad, 0, "")
    with pytest.raises(ValueError):
        _key(ArtifactKind.AUDIO_STREAM, DEFAULT, BOT, 1, bad)
    with pytest.raises(ValueError):
        object_key(ArtifactKind.TRANSCRIPT_RAW, DEFAULT, BOT, provider=bad, transcript_id=TID)
    with pytest.raises(ValueError):
        object_key(ArtifactKind.TRANSCRIPT_RAW, DEFAULT, BOT, provider=PROVIDER, transcript_id=bad)


# --- properties ---------------------------------------------------------------------------------

# Prefix text: path-ish fragments ('/', '.', '..', '\\') mixed with any Unicode text (control
# characters included; surrogates excluded here and tested on their own).
prefix_text = st.lists(
    st.one_of(
        st.sampled_from(["/", "//", ".", "..", "\\", "a", "-", "_", " ", "é", "日本"]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=4),
    ),
    max_size=12,
).map("".join)
# Mostly-accepted prefixes (no control characters, no backslash) so that five of them at once
# rarely need rejecting; '.'-ish fragments still appear inside segments.
mostly_ok_prefix = st.lists(
    st.one_of(
        st.sampled_from(["/", "//", "a", "b.c", "..d", "e..", " ", "é", "日本", "_", "-"]),
        st.text(
            alphabet=st.characters(codec="utf-8", exclude_categories=["Cc"], exclude_characters="\\"),
            max_size=4,
        ),
    ),
    max_size=8,
).map("".join)
bot_ids = st.uuids(version=4).map(str)
kinds = st.sampled_from(list(ArtifactKind))


def _all_keys(prefixes: CategoryPrefixes, bot: str) -> list[str]:
    keys = [_key(kind, prefixes, bot, 3, "carol") for kind in ArtifactKind]
    keys += [
        collection_prefix(kind, prefixes, bot, provider=PROVIDER, transcript_id=TID)
        for kind in (ArtifactKind.SCREENSHOT, ArtifactKind.AUDIO_STREAM, ArtifactKind.TRANSCRIPT_RAW)
    ]
    return keys


def _check_key(key: str, prefix: str, bot: str) -> None:
    assert not key.startswith("/")
    assert "//" not in key
    segments = key.rstrip("/").split("/")
    assert "." not in segments and ".." not in segments
    assert "" not in segments
    if prefix:
        assert key.startswith(prefix + "/")
        rest = key[len(prefix) + 1 :]
    else:
        rest = key
    first = rest.split("/", 1)[0]
    assert first.startswith(f"{bot}_"), key
    assert first != bot


@settings(max_examples=200)
@given(raw=prefix_text, bot=bot_ids)
def test_keys_under_any_accepted_prefix_are_safe(raw: str, bot: str) -> None:
    try:
        prefix = normalise_prefix(raw)
    except PrefixError:
        assume(False)
        return
    prefixes = effective_prefixes(prefix, {})
    for key in _all_keys(prefixes, bot):
        _check_key(key, prefix, bot)


@settings(max_examples=200)
@given(
    raws=st.fixed_dictionaries({c: mostly_ok_prefix for c in Category}),
    base=mostly_ok_prefix,
    bot=bot_ids,
)
def test_keys_under_any_accepted_category_prefixes_are_safe(
    raws: dict[Category, str], base: str, bot: str
) -> None:
    try:
        overrides = {c: normalise_prefix(v) for c, v in raws.items()}
        base_p = normalise_prefix(base)
    except PrefixError:
        assume(False)
        return
    prefixes = effective_prefixes(base_p, overrides)
    for kind in ArtifactKind:
        _check_key(_key(kind, prefixes, bot, 1, "dave"), overrides[CATEGORY_OF[kind]], bot)


@given(raw=prefix_text)
def test_normalise_prefix_is_idempotent(raw: str) -> None:
    try:
        once = normalise_prefix(raw)
    except PrefixError:
        return
    assert normalise_prefix(once) == once
    assert not once.startswith("/") and not once.endswith("/")
    assert "//" not in once


@given(
    left=st.text(alphabet="ab/", max_size=6),
    bad=st.sampled_from([".", ".."]),
    right=st.text(alphabet="ab/", max_size=6),
)
def test_dot_segments_are_refused_wherever_they_are(left: str, bad: str, right: str) -> None:
    with pytest.raises(PrefixError):
        normalise_prefix(f"{left}/{bad}/{right}")


@given(left=st.text(max_size=10), right=st.text(max_size=10))
def test_backslash_is_refused(left: str, right: str) -> None:
    with pytest.raises(PrefixError):
        normalise_prefix(f"{left}\\{right}")


@given(
    left=st.text(max_size=10),
    ctl=st.characters(categories=["Cc"]),
    right=st.text(max_size=10),
)
def test_control_characters_are_refused(left: str, ctl: str, right: str) -> None:
    with pytest.raises(PrefixError):
        normalise_prefix(f"{left}{ctl}{right}")


def test_length_limit_is_in_utf8_bytes() -> None:
    assert normalise_prefix("a" * 512) == "a" * 512
    with pytest.raises(PrefixError):
        normalise_prefix("a" * 513)
    # 171 three-byte characters are 513 bytes but only 171 characters.
    with pytest.raises(PrefixError):
        normalise_prefix("€" * 171)
    assert normalise_prefix("€" * 170) == "€" * 170


def test_lone_surrogate_is_a_prefix_error() -> None:
    # json.loads('"\\ud800"') yields a lone surrogate: it is not UTF-8 and can never be a key.
    with pytest.raises(PrefixError):
        normalise_prefix("audio/\ud800")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("/", ""),
        ("///", ""),
        ("meetstream", "meetstream"),
        ("/meetstream/", "meetstream"),
        ("recordings//meetstream///", "recordings/meetstream"),
        ("a.b/..c/c..", "a.b/..c/c.."),
        ("é/日本", "é/日本"),
    ],
)
def test_normalise_prefix_examples(raw: str, expected: str) -> None:
    assert normalise_prefix(raw) == expected


@pytest.mark.parametrize("raw", ["..", "a/..", "./a", "a/./b", "a\\b", "a\nb", "a\x00", "a\x7f", "a\x85b"])
def test_normalise_prefix_refusals(raw: str) -> None:
    with pytest.raises(PrefixError):
        normalise_prefix(raw)


def test_bot_id_examples_are_uuids() -> None:
    assert str(uuid.UUID(BOT)) == BOT and str(uuid.UUID(TID)) == TID



def test_bot_listing_prefix_is_the_category_folder_and_the_bot_id() -> None:
    from meetstore.domain.key_layout import bot_listing_prefix

    bot = "4a1f1918-56bb-4349-840d-4847c43732aa"
    assert bot_listing_prefix(f"m/e/{bot}_audio.mp3", bot) == f"m/e/{bot}_"
    assert bot_listing_prefix(f"{bot}_screenshots/00001.png", bot) == f"{bot}_"
    for wrong in (f"m/x{bot}_audio.mp3", "m/other_audio.mp3"):
        with pytest.raises(ValueError):
            bot_listing_prefix(wrong, bot)


def test_recording_streams_have_their_key_and_spool_name() -> None:
    from meetstore.domain.artifacts import ArtifactKind, parse_spool_name
    from meetstore.domain.key_layout import collection_prefix, object_key
    from meetstore.domain.storage_config import CategoryPrefixes

    bot = "4a1f1918-56bb-4349-840d-4847c43732aa"
    prefixes = CategoryPrefixes(audio="a", video="v/cams", transcript="t", metadata="m")
    parsed = parse_spool_name("recording_streams/alice-example_1.mp4")
    assert parsed is not None and (parsed.kind, parsed.participant, parsed.seq) == (
        ArtifactKind.RECORDING_STREAM,
        "alice-example",
        1,
    )
    key = object_key(ArtifactKind.RECORDING_STREAM, prefixes, bot, seq=1, participant="alice-example")
    assert key == f"v/cams/{bot}_recording_streams/alice-example_1.mp4"
    assert collection_prefix(ArtifactKind.RECORDING_STREAM, prefixes, bot) == f"v/cams/{bot}_recording_streams/"
    for wrong in ("recording_streams/alice_1.webm", "recording_streams/Alice_1.mp4", "recording_streams/a_01.mp4"):
        assert parse_spool_name(wrong) is None

"""Per-participant video through the SDK (`recording_config.per_participant_video`): one real MP4
per participant at `{p:video}/{bot_id}_recording_streams/{slug}_{n}.mp4` in the customer's bucket
(moto, IAM enforced), served by `bots.recording_streams`; write_only answers 403 with the
collection's location."""

from __future__ import annotations

import io

import av
import pytest
from meetstream import NotFoundError
from meetstream import PermissionError as SdkPermissionError

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.moto_s3 import MotoS3, put_only, read_write
from support.pipeline import storage_body
from support.servers import RunningServer


def test_recording_streams_land_at_their_keys_and_are_fetchable(sqlite_server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream", "media/cams"))
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys, prefixes={"video": "media/cams"}))
    bot_id = client.bots.create(
        {
            "meeting_link": "https://meet.google.com/abc-defg-hij",
            "recording_config": {"simulated": {"duration_s": 1.0}, "per_participant_video": True},
        }
    )["bot_id"]
    wait_status(client, bot_id, {"Done"}, timeout=90)

    expected = {f"media/cams/{bot_id}_recording_streams/{slug}.mp4" for slug in ("alice-example_1", "bob-example_2")}
    assert expected <= set(moto.keys(bucket, "media/cams/"))
    answer = client.bots.recording_streams(bot_id)
    assert answer["expires_in"] == 600 and answer["expires_at"]
    streams = {s["key"]: s for s in answer["streams"]}
    assert set(streams) == expected
    assert {s["participant"] for s in streams.values()} == {"Alice Example", "Bob Example"}
    for stream in streams.values():
        data = moto.get_presigned(stream["url"]).content
        with av.open(io.BytesIO(data)) as container:
            video = container.streams.video[0]
            assert (video.codec_context.width, video.codec_context.height) == (640, 360)
            assert sum(1 for _ in container.decode(video)) >= 10  # a second of frames at 15 fps

    # write_only: meetstore says where the collection is instead of handing out URLs.
    moto.set_user_policy(keys[0], put_only(bucket, "meetstream", "media/cams"))
    client.storage.set(
        storage_body(moto.endpoint, bucket, keys, prefixes={"video": "media/cams"}, access_mode="write_only")
    )
    with pytest.raises(SdkPermissionError) as refused:
        client.bots.recording_streams(bot_id)
    body = refused.value.body
    assert body["code"] == "write_only_storage"
    assert body["key"] == f"media/cams/{bot_id}_recording_streams/"
    assert body["location"] == f"s3://{bucket}/media/cams/{bot_id}_recording_streams/"


def test_without_per_participant_video_there_is_none_to_fetch(sqlite_server: RunningServer) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    bot_id = client.bots.create(
        {"meeting_link": "https://zoom.us/j/1", "video_required": False, "recording_config": {"simulated": {"duration_s": 0.5}}}
    )["bot_id"]
    wait_status(client, bot_id, {"Done"}, timeout=60)
    with pytest.raises(NotFoundError) as absent:  # never produced: outcome 3 of the fetch table
        client.bots.recording_streams(bot_id)
    assert absent.value.body["code"] == "artifact_not_found"

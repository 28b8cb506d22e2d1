"""Storage configuration rules: bucket names, regions, effective prefixes, probe keys, IAM resources."""

from __future__ import annotations

import pytest

from meetstore.domain.storage_config import (
    Category,
    CategoryPrefixes,
    bucket_name_problem,
    effective_prefixes,
    probe_key,
    region_problem,
    required_put_resource,
)


@pytest.mark.parametrize(
    "name",
    [
        "abc",
        "my-bucket",
        "my.bucket.name",
        "bucket-1.example.com",
        "1bucket",
        "bucket9",
        "a" * 63,
        "a-b",
        "a.b",
        "123",
        "192.168.5",  # three dotted numbers are not an IPv4 address
        "xn-single-dash",
        "my-s3alias-bucket",
    ],
)
def test_valid_bucket_names(name: str) -> None:
    assert bucket_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "3 to 63"),
        ("ab", "3 to 63"),
        ("a" * 64, "3 to 63"),
        ("MyBucket", "lower-case"),
        ("my_bucket", "lower-case"),
        ("my bucket", "lower-case"),
        ("-bucket", "begin and end"),
        ("bucket-", "begin and end"),
        (".bucket", "begin and end"),
        ("bucket.", "begin and end"),
        ("my..bucket", "'..'"),
        ("my.-bucket", "'.-'"),
        ("my-.bucket", "'-.'"),
        ("192.168.5.4", "IP address"),
        ("10.0.0.1", "IP address"),
        ("xn--bucket", "xn--"),
        ("sthree-bucket", "sthree-"),
        ("sthree-configurator", "sthree-"),
        ("amzn-s3-demo-bucket", "amzn-s3-demo-"),
        ("bucket-s3alias", "-s3alias"),
        ("bucket--ol-s3", "--ol-s3"),
        ("bucket--x-s3", "--x-s3"),
        ("bucket--table-s3", "--table-s3"),
        ("bucket.mrap", ".mrap"),
        ("bucket/x", "lower-case"),
        ("bücket", "lower-case"),
        # A trailing newline must not slip through a `$` anchor.
        ("bucket\n", ""),
        ("abc\n", ""),
        ("\nbucket", ""),
    ],
)
def test_invalid_bucket_names(name: str, why: str) -> None:
    problem = bucket_name_problem(name)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "us-west-2",
        "eu-central-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "cn-north-1",
        "il-central-1",
        "us-iso-east-1",
        "eu-south-2",
    ],
)
def test_valid_regions(region: str) -> None:
    assert region_problem(region) is None


@pytest.mark.parametrize(
    "region",
    [
        "",
        "us",
        "us-east",
        "useast1",
        "US-EAST-1",
        "us-east-1a",
        " us-east-1",
        "us-east-1 ",
        "us-east-1\n",
        "us_east_1",
        "us-east-1/../x",
        "u-east-1",
    ],
)
def test_invalid_regions(region: str) -> None:
    problem = region_problem(region)
    assert problem is not None and "us-east-1" in problem


def test_effective_prefixes_inherit_the_base() -> None:
    assert effective_prefixes("meetstream", {}) == CategoryPrefixes(
        audio="meetstream", video="meetstream", transcript="meetstream", metadata="meetstream"
    )
    assert effective_prefixes("", {}).as_dict() == {
        "audio": "",
        "video": "",
        "transcript": "",
        "metadata": "",
    }


def test_effective_prefixes_take_overrides() -> None:
    p = effective_prefixes("meetstream", {Category.AUDIO: "recordings/audio", Category.METADATA: ""})
    assert p.as_dict() == {
        "audio": "recordings/audio",
        "video": "meetstream",
        "transcript": "meetstream",
        "metadata": "",
    }
    assert p.for_category(Category.AUDIO) == "recordings/audio"
    assert p.for_category(Category.VIDEO) == "meetstream"
    assert p.for_category(Category.METADATA) == ""
    assert list(p.as_dict()) == ["audio", "video", "transcript", "metadata"]


def test_distinct_lists_base_first_then_each_new_prefix_once() -> None:
    assert effective_prefixes("meetstream", {}).distinct("meetstream") == ["meetstream"]
    p = effective_prefixes(
        "meetstream",
        {
            Category.AUDIO: "recordings/audio",
            Category.VIDEO: "recordings/video",
            Category.TRANSCRIPT: "transcripts",
            Category.METADATA: "metadata",
        },
    )
    assert p.distinct("meetstream") == [
        "meetstream",
        "recordings/audio",
        "recordings/video",
        "transcripts",
        "metadata",
    ]
    shared = effective_prefixes("base", {Category.AUDIO: "media", Category.VIDEO: "media"})
    assert shared.distinct("base") == ["base", "media"]
    # Every category overridden: the base still counts (the probe set includes it).
    all_same = effective_prefixes("base", dict.fromkeys(Category, "x"))
    assert all_same.distinct("base") == ["base", "x"]
    # Root and a named prefix are distinct.
    assert effective_prefixes("", {Category.AUDIO: "a"}).distinct("") == ["", "a"]


def test_probe_key() -> None:
    assert probe_key("meetstream", "abc123") == "meetstream/.write_probe_abc123"
    assert probe_key("recordings/audio", "t") == "recordings/audio/.write_probe_t"
    assert probe_key("", "abc123") == ".write_probe_abc123"


def test_required_put_resource() -> None:
    assert required_put_resource("my-bucket", "meetstream") == "arn:aws:s3:::my-bucket/meetstream/*"
    assert (
        required_put_resource("my-bucket", "recordings/audio") == "arn:aws:s3:::my-bucket/recordings/audio/*"
    )
    assert required_put_resource("my-bucket", "") == "arn:aws:s3:::my-bucket/*"

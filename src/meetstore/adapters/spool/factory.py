"""Build the spool named by `MEETSTORE_SPOOL` (`local` or `s3://bucket/prefix`)."""

from __future__ import annotations

from meetstore.adapters.platform_store.factory import own_target
from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.adapters.spool.local import LocalSpool
from meetstore.adapters.spool.s3 import S3Spool
from meetstore.config import Settings


def parse_spool(spec: str) -> tuple[str, str] | None:
    """(bucket, prefix) of an `s3://bucket/prefix` spool; None for `local`; ValueError else."""
    if spec == "local":
        return None
    bucket, _, prefix = spec[len("s3://") :].partition("/") if spec.startswith("s3://") else ("", "", "")
    if not bucket:
        raise ValueError("MEETSTORE_SPOOL is 'local' or 's3://bucket/prefix'")
    return bucket, prefix.strip("/")


def build_spool(settings: Settings, s3: S3ClientFactory) -> LocalSpool | S3Spool:
    staging = parse_spool(settings.spool)
    if staging is None:
        return LocalSpool(settings.spool_dir)
    bucket, prefix = staging
    target = own_target(
        "__spool__",
        bucket,
        settings.spool_s3_region,
        settings.spool_s3_endpoint_url,
        settings.spool_s3_access_key_id,
        settings.spool_s3_secret_access_key,
    )
    return S3Spool(s3.own_client(target), bucket, prefix, region=target.region)

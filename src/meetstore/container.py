"""The composition root: settings → database, crypto, S3 clients, stores, services, and the
background loops. One per process; the only module that knows every concrete class."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from meetstore.adapters.crypto.envelope import EnvelopeBox, LocalKeyProvider, decode_master_key
from meetstore.adapters.crypto.keyring import FileKeyProvider
from meetstore.adapters.crypto.kms import KmsKeyProvider
from meetstore.adapters.crypto.stream import AesKeyWrap
from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.repositories.fetch_reads import FetchReads
from meetstore.adapters.db.repositories.stats import Stats
from meetstore.adapters.db.transactions import SqlTransactions
from meetstore.adapters.media.probe import PyAvProbe
from meetstore.adapters.metrics import PrometheusMetrics
from meetstore.adapters.platform_store.factory import PlatformStore, build_platform_store
from meetstore.adapters.s3.clients import RoleAssumer, S3ClientFactory
from meetstore.adapters.s3.egress import EgressGuard, Resolver, system_resolver
from meetstore.adapters.s3.probe import S3StorageProbe
from meetstore.adapters.s3.upload import transfer_config
from meetstore.adapters.secret_files import read_or_create
from meetstore.adapters.spool.factory import build_spool
from meetstore.adapters.stores import ObjectStores
from meetstore.config import Settings
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Spool
from meetstore.runtime.simulator import SimulatedRuntime
from meetstore.services.accounts import AccountService
from meetstore.services.audit import AuditTrail
from meetstore.services.audit_views import AuditViews
from meetstore.services.bot_controls import BotControls
from meetstore.services.bots import BotService
from meetstore.services.changes import API_KEY, ERASURE, STORAGE, ChangeFeed
from meetstore.services.console_sessions import ConsoleSessions
from meetstore.services.erasure import ErasureService
from meetstore.services.erasure_work import ErasureWork
from meetstore.services.fetch import FetchService
from meetstore.services.handin import HandInService
from meetstore.services.health import StorageHealth
from meetstore.services.ingest import IngestService
from meetstore.services.locations import Locations
from meetstore.services.retention_config import RetentionConfigService
from meetstore.services.retry import RetryService
from meetstore.services.runtime_claims import RuntimeClaims
from meetstore.services.runtime_status import RuntimeStatusService
from meetstore.services.spool_janitor import SpoolJanitor
from meetstore.services.spool_keys import SpoolKeyService
from meetstore.services.storage_config import StorageConfigService
from meetstore.services.uploads import UploadService
from meetstore.services.validation_gate import ValidationGate
from meetstore.services.webhooks import WebhookService

RUNTIME_TOKEN_FILE = "runtime.token"


def build_key_provider(settings: Settings) -> LocalKeyProvider | FileKeyProvider | KmsKeyProvider:
    if settings.kms_key_id:
        return KmsKeyProvider(
            settings.kms_key_id,
            region=settings.kms_region,
            endpoint_url=settings.kms_endpoint_url,
            access_key_id=settings.platform_aws_access_key_id,
            secret_access_key=settings.platform_aws_secret_access_key,
        )
    if settings.master_key is not None:
        current = decode_master_key(settings.master_key.get_secret_value())
        older_raw = settings.old_master_keys.get_secret_value() if settings.old_master_keys else ""
        older = [decode_master_key(k) for k in older_raw.split(",") if k.strip()]
        return LocalKeyProvider(current, older)
    return FileKeyProvider(settings.data_dir)


def runtime_token(settings: Settings) -> str:
    if settings.runtime_token is not None:
        return settings.runtime_token.get_secret_value()
    return read_or_create(
        Path(settings.data_dir) / RUNTIME_TOKEN_FILE, lambda: secrets.token_urlsafe(32)
    ).strip()


@dataclass
class Container:
    settings: Settings
    db: Database
    transactions: SqlTransactions
    metrics: PrometheusMetrics
    box: EnvelopeBox
    s3: S3ClientFactory
    platform: PlatformStore
    spool: Spool
    spool_keys: SpoolKeyService
    accounts: AccountService
    storage: StorageConfigService
    validations: ValidationGate
    locations: Locations
    ingest: IngestService
    runtime_status: RuntimeStatusService
    handin: HandInService
    runtime: SimulatedRuntime
    bots: BotService
    uploads: UploadService
    janitor: SpoolJanitor
    retry: RetryService
    fetch: FetchService
    webhooks: WebhookService
    health: StorageHealth
    changes: ChangeFeed
    runtime_claims: RuntimeClaims
    egress: EgressGuard
    erasures: ErasureService
    erasure_work: ErasureWork
    retention: RetentionConfigService
    controls: BotControls
    audit: AuditTrail
    audit_views: AuditViews
    console_sessions: ConsoleSessions
    liveness: dict[str, Callable[[], bool]] = field(default_factory=dict)
    """Liveness probes of the background workers running in this process, by name (registered
    by the worker hooks while they run; read by /readyz)."""

    def close(self) -> None:
        self.runtime.stop()
        self.validations.close()
        self.egress.close()
        self.db.dispose()


def build_container(settings: Settings | None = None, *, resolver: Resolver | None = None) -> Container:
    """`resolver`: how customer endpoint names are resolved at connect time (the system's DNS;
    tests give an in-memory one)."""
    settings = settings or Settings()
    # The data dir holds the database, the spool, the local platform store and the key files:
    # everything meetstore creates is its own user's alone (0700 folders, 0600 files).
    os.umask(0o077)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.data_dir.chmod(0o700)
    db = Database(settings.resolved_database_url)
    box = EnvelopeBox(build_key_provider(settings))
    egress = EgressGuard(allow_private=settings.allow_private_endpoints, resolver=resolver or system_resolver)
    assumer = RoleAssumer(
        settings.platform_aws_access_key_id,
        settings.platform_aws_secret_access_key,
        sts_endpoint_url=settings.sts_endpoint_url,
        region=settings.sts_region,
        timeout_s=settings.validation_timeout_s,
        egress=egress,
    )
    s3 = S3ClientFactory(
        box,
        role_assumer=assumer,
        connect_timeout=settings.s3_connect_timeout_s,
        read_timeout=settings.s3_read_timeout_s,
        max_attempts=settings.s3_max_attempts,
        transfer=transfer_config(
            settings.multipart_threshold_mb,
            settings.multipart_chunksize_mb,
            # One manager per client bounds the parts in flight (and their memory) for all the
            # process's uploads to that bucket together, as s3transfer intends.
            settings.transfer_max_concurrency,
        ),
        egress=egress,
    )
    platform = build_platform_store(settings, s3)
    tx = SqlTransactions(db)
    audit = AuditTrail(tx, flush_batch=settings.audit_flush_batch)
    spool = build_spool(settings, s3)
    keys = SpoolKeyService(tx, box, AesKeyWrap(), SystemClock())
    stores = ObjectStores(s3, platform)
    probe = S3StorageProbe(s3)
    accounts = AccountService(tx, box, auth_cache_ttl_s=settings.auth_cache_ttl_s, audit=audit)
    metrics = PrometheusMetrics()
    metrics.watch_queues(Stats(db).queue_stats, live_after_s=max(30.0, 3 * settings.lease_seconds))
    gate = ValidationGate(settings)
    storage = StorageConfigService(tx, box, probe, stores, metrics, settings, gate, audit)
    locations = Locations(stores, storage)
    handin = HandInService(tx, spool, keys, stores, PyAvProbe(), settings)
    runtime_status = RuntimeStatusService(tx, settings, handin)
    ingest = IngestService(tx, spool, keys)
    claims = RuntimeClaims(tx, settings)
    runtime = SimulatedRuntime(settings, runtime_status, ingest, handin, claims)
    health = StorageHealth(tx, settings, probe, storage, metrics, audit)
    janitor = SpoolJanitor(tx, spool, settings)
    uploads = UploadService(
        tx, spool, keys, settings, locations, janitor, metrics, before_upload=health.ensure_recent
    )
    fetch = FetchService(tx, FetchReads(db), settings, locations, metrics, audit)
    changes = ChangeFeed(tx)
    changes.subscribe(ERASURE, fetch.final.forget_account)
    changes.subscribe(STORAGE, fetch.final.forget_account)
    storage.on_changed(fetch.final.forget_account)
    changes.subscribe(API_KEY, accounts.forget_account)
    changes.subscribe(STORAGE, stores.forget)
    changes.subscribe(STORAGE, uploads.cancel_account)
    return Container(
        settings=settings,
        db=db,
        transactions=tx,
        metrics=metrics,
        box=box,
        s3=s3,
        platform=platform,
        spool=spool,
        spool_keys=keys,
        accounts=accounts,
        storage=storage,
        validations=gate,
        locations=locations,
        ingest=ingest,
        runtime_status=runtime_status,
        handin=handin,
        runtime=runtime,
        bots=BotService(tx, settings),
        uploads=uploads,
        janitor=janitor,
        retry=RetryService(tx, spool, settings, audit=audit),
        fetch=fetch,
        webhooks=WebhookService(tx, settings, accounts, metrics),
        health=health,
        changes=changes,
        runtime_claims=claims,
        egress=egress,
        erasures=ErasureService(tx, settings, on_requested=fetch.final.forget_account),
        erasure_work=ErasureWork(tx, spool, locations, settings, audit),
        retention=RetentionConfigService(tx, settings, audit),
        controls=BotControls(tx),
        audit=audit,
        audit_views=AuditViews(tx, settings),
        console_sessions=ConsoleSessions(tx, accounts, audit, idle_s=settings.console_idle_s),
    )

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
from meetstore.adapters.spool.local import LocalSpool
from meetstore.adapters.stores import ObjectStores
from meetstore.config import Settings
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
from meetstore.services.storage_config import StorageConfigService
from meetstore.services.uploads import UploadService
from meetstore.services.validation_gate import ValidationGate
from meetstore.services.webhooks import WebhookService

RUNTIME_TOKEN_FILE = "runtime.token"
UPLOAD_PROBE = "upload_worker"
WEBHOOK_PROBE = "webhook_worker"


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
    spool: LocalSpool
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
    audit = AuditTrail(tx)
    spool = LocalSpool(settings.spool_dir)
    stores = ObjectStores(s3, platform)
    probe = S3StorageProbe(s3)
    accounts = AccountService(tx, box, auth_cache_ttl_s=settings.auth_cache_ttl_s, audit=audit)
    metrics = PrometheusMetrics()
    metrics.watch_queues(Stats(db).queue_stats, live_after_s=max(30.0, 3 * settings.lease_seconds))
    gate = ValidationGate(settings)
    storage = StorageConfigService(tx, box, probe, stores, metrics, settings, gate, audit)
    locations = Locations(stores, storage)
    handin = HandInService(tx, spool, stores, PyAvProbe(), settings)
    runtime_status = RuntimeStatusService(tx, settings, handin)
    ingest = IngestService(tx, spool)
    claims = RuntimeClaims(tx, settings)
    runtime = SimulatedRuntime(settings, runtime_status, ingest, handin, claims)
    health = StorageHealth(tx, settings, probe, storage, metrics, audit)
    janitor = SpoolJanitor(tx, spool, settings)
    uploads = UploadService(
        tx, spool, settings, locations, janitor, metrics, before_upload=health.ensure_recent
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


Hook = Callable[[Container], Callable[[], None]]
"""Starts background work for a container; returns the function that stops it."""


def background_hooks(*, with_workers: bool) -> list[Hook]:
    """What an API process runs beside the API: the change feed always, and with workers the
    upload, webhook, health, lifecycle and simulated-recording loops (the upload loop only while
    `MEETSTORE_UPLOAD_WORKER` is on)."""
    if not with_workers:
        return [change_loop(), audit_loop()]
    return [
        change_loop(),
        audit_loop(),
        upload_loops(),
        webhook_loops(),
        health_loop(),
        lifecycle_loops(),
        simulation_loop(),
    ]


def worker_hooks(*, concurrency: int | None = None, grace_s: float = 10.0) -> list[Hook]:
    """What `meetstore worker` runs: the same loops as an API process, without the API."""
    return [
        change_loop(),
        audit_loop(),
        upload_loops(concurrency=concurrency, grace_s=grace_s),
        webhook_loops(),
        health_loop(),
        lifecycle_loops(),
        simulation_loop(grace_s=grace_s),
    ]


def change_loop() -> Hook:
    """Read the change feed every `change_poll_s`: revoked keys and changed storage reach this
    process within about that long."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.changes import ChangeWatcher

        watcher = ChangeWatcher(container.changes, container.settings.change_poll_s)
        watcher.start()
        return watcher.stop

    return start


def audit_loop() -> Hook:
    """Write buffered url.issued entries every `audit_flush_s`, and what is left at shutdown."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.audit import AuditFlusher

        flusher = AuditFlusher(container.audit, container.settings.audit_flush_s)
        flusher.start()
        return flusher.stop

    return start


def upload_loops(*, concurrency: int | None = None, grace_s: float = 10.0) -> Hook:
    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.uploads import UploadWorker

        settings = container.settings
        if not settings.upload_worker:
            return lambda: None
        worker = UploadWorker(
            container.uploads,
            settings,
            concurrency or settings.upload_concurrency,
            # Bots whose runtime runs in this process are alive by definition: never swept here.
            sweeper=lambda: container.handin.sweep_stale_runtimes(skip=container.runtime.active()),
            janitor=container.janitor.purge,
        )
        worker.start()
        container.liveness[UPLOAD_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(UPLOAD_PROBE, None)
            worker.stop(grace_s=grace_s)

        return stop

    return start


def webhook_loops() -> Hook:
    """Deliver webhooks on threads of their own (never the upload workers')."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.webhooks import WebhookWorker

        settings = container.settings
        worker = WebhookWorker(container.webhooks, settings, settings.webhook_concurrency)
        worker.start()
        container.liveness[WEBHOOK_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(WEBHOOK_PROBE, None)
            worker.stop()

        return stop

    return start


def health_loop() -> Hook:
    """Re-validate every storage configuration each MEETSTORE_HEALTH_INTERVAL_S (default hourly)."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.health import HealthMonitor

        monitor = HealthMonitor(container.health, container.settings.health_interval_s)
        monitor.start()
        return monitor.stop

    return start


def simulation_loop(*, grace_s: float = 10.0) -> Hook:
    """Record the queued simulated bots (API.md "Bots"), at most `simulated_recordings_per_worker`
    at once in this process."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.simulations import SimulationWorker

        worker = SimulationWorker(container.runtime, container.runtime.poll_s, grace_s=grace_s)
        worker.start()
        return worker.stop

    return start


LIFECYCLE_PROBE = "lifecycle_worker"


def lifecycle_loops() -> Hook:
    """Erasures from their outbox, and the retention sweep (API.md "Data lifecycle")."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.lifecycle import LifecycleWorker

        worker = LifecycleWorker(
            container.erasure_work, container.erasures, container.audit_views, container.settings
        )
        worker.start()
        container.liveness[LIFECYCLE_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(LIFECYCLE_PROBE, None)
            worker.stop()

        return stop

    return start

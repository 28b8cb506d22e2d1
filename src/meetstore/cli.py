"""meetstore's command line: run | serve | worker | migrate | accounts | keys | audit | local-aws."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from meetstore.config import Settings
from meetstore.container import build_container, runtime_token
from meetstore.errors import NotFound
from meetstore.logging_setup import configure_logging
from meetstore.process_memory import tune_allocator

app = typer.Typer(
    help="meetstore: MeetStream-compatible media storage. Settings come from MEETSTORE_* variables.",
    no_args_is_help=True,
    add_completion=False,
)
accounts_app = typer.Typer(help="Create accounts and manage their API keys and webhook secrets.")
keys_app = typer.Typer(help="Master-key operations.")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
audit_app = typer.Typer(help="The audit trail of an account.")
app.add_typer(audit_app, name="audit")
console = Console(stderr=True)


def _migrate(settings: Settings) -> None:
    from meetstore.adapters.db.migrate import upgrade

    container = build_container(settings)
    try:
        upgrade(container.db)
    finally:
        container.close()


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    settings = Settings()
    _migrate(settings)
    console.print("[green]database is up to date[/green]")


def _serve(settings: Settings, *, workers: int, upload_worker: bool) -> None:
    import uvicorn

    from meetstore.api.main import SERVER_OPTIONS

    # uvicorn starts the API processes from an import string, and each reads its Settings from
    # the environment: that is the one channel to them, and the flag is MEETSTORE_UPLOAD_WORKER.
    os.environ["MEETSTORE_UPLOAD_WORKER"] = "true" if upload_worker else "false"
    uvicorn.run(
        "meetstore.api.main:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        **SERVER_OPTIONS,
    )


@app.command()
def run() -> None:
    """Migrate, create a first account if there is none (printing its API key), and serve."""
    settings = Settings()
    configure_logging(settings.log_level)
    _migrate(settings)
    container = build_container(settings)
    try:
        if container.accounts.count() == 0:
            new = container.accounts.create("first account")
            console.print(
                "[bold green]Created a first account.[/bold green] Keep these; they are shown once:"
            )
            console.print(f"  account_id:     {new.account_id}")
            console.print(f"  api_key:        {new.api_key}")
            console.print(f"  webhook_secret: {new.webhook_secret}")
        runtime_token(settings)
    finally:
        container.close()
    base = f"http://{settings.host}:{settings.port}/api/v1"
    console.print(f"Serving the API at [bold]{base}[/bold] (data in {settings.data_dir.resolve()})")
    _serve(settings, workers=1, upload_worker=True)


@app.command()
def serve(
    workers: Annotated[int, typer.Option(help="API processes to run.")] = 1,
    no_upload_worker: Annotated[
        bool,
        typer.Option(
            "--no-upload-worker",
            help="Run no workers (uploads, webhooks, simulated recordings) in the API processes.",
        ),
    ] = False,
) -> None:
    """Serve the API (MEETSTORE_HOST:MEETSTORE_PORT), by default with an in-process upload worker."""
    settings = Settings()
    configure_logging(settings.log_level)
    _serve(settings, workers=workers, upload_worker=not no_upload_worker)


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, help="Upload threads (default: MEETSTORE_UPLOAD_CONCURRENCY)."),
    ] = None,
    grace: Annotated[
        float, typer.Option(min=0.0, help="Seconds uploads in flight get to finish on SIGTERM/SIGINT.")
    ] = 10.0,
) -> None:
    """Run the upload, webhook, health, lifecycle (erasure, retention) and simulated-recording
    workers without the API (run as many as you like).

    SIGTERM or SIGINT stops it gracefully: uploads in flight finish within --grace seconds, what is
    still running then is cancelled and its lease released for another worker.
    """
    from meetstore.background import worker_hooks

    settings = Settings()
    configure_logging(settings.log_level)
    container = build_container(settings)
    stop_requested = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        console.print(f"[yellow]{signal.Signals(signum).name}: stopping gracefully[/yellow]")
        stop_requested.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    stops: list[Callable[[], None]] = []
    try:
        for hook in worker_hooks(concurrency=concurrency, grace_s=grace):
            stops.append(hook(container))
        console.print(
            f"worker: {concurrency or settings.upload_concurrency} upload thread(s), webhook delivery and up "
            f"to {settings.simulated_recordings_per_worker} simulated recordings"
        )
        while not stop_requested.wait(1.0):
            pass
    finally:
        for stop in stops:  # uploads first: their grace period starts at the signal
            stop()
        container.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@accounts_app.command("create")
def accounts_create(
    name: Annotated[str, typer.Option(help="A name for the account.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: account_id, api_key, webhook_secret.")
    ] = False,
) -> None:
    """Create an account; prints its API key and webhook secret once."""
    settings = Settings()
    _migrate(settings)
    container = build_container(settings)
    try:
        new = container.accounts.create(name)
    finally:
        container.close()
    doc = {"account_id": new.account_id, "api_key": new.api_key, "webhook_secret": new.webhook_secret}
    if as_json:
        typer.echo(json.dumps(doc))
    else:
        for k, v in doc.items():
            typer.echo(f"{k}: {v}")


@accounts_app.command("rotate-webhook-secret")
def accounts_rotate_webhook_secret(
    account_id: Annotated[str, typer.Argument(help="The account whose webhook secret to replace.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new webhook secret for an account (the old one stops signing at once)."""
    container = build_container(Settings())
    try:
        secret = container.accounts.rotate_webhook_secret(account_id)
    finally:
        container.close()
    typer.echo(json.dumps({"account_id": account_id, "webhook_secret": secret}) if as_json else secret)


@accounts_app.command("rotate-key")
def accounts_rotate_key(
    account_id: Annotated[str, typer.Argument(help="The account whose API key to replace.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new API key for an account, printed once. The old key (or a revoked one) stops
    working in every meetstore process within a second."""
    container = build_container(Settings())
    try:
        api_key = _or_exit(lambda: container.accounts.rotate_key(account_id))
    finally:
        container.close()
    typer.echo(json.dumps({"account_id": account_id, "api_key": api_key}) if as_json else api_key)


@accounts_app.command("revoke-key")
def accounts_revoke_key(
    account_id: Annotated[str, typer.Argument(help="The account whose API key to revoke.")],
) -> None:
    """Revoke an account's API key: every meetstore process refuses it (403) within a second.
    `rotate-key` issues the account a new one."""
    container = build_container(Settings())
    try:
        _or_exit(lambda: container.accounts.revoke(account_id))
    finally:
        container.close()
    typer.echo(f"revoked the API key of account {account_id}")


@audit_app.command("export")
def audit_export(
    account: Annotated[str, typer.Option("--account", help="The account whose trail to print.")],
    since: Annotated[
        str | None,
        typer.Option(
            help="Only entries at or after this time (ISO 8601, e.g. 2026-12-01 or 2026-12-01T09:00:00Z)."
        ),
    ] = None,
) -> None:
    """Print the account's audit entries as JSON lines, oldest first, with the hashes that chain
    them (each entry's prev_hash is the hash of the one before)."""
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            typer.echo(f"--since: not an ISO 8601 time: {since!r}", err=True)
            raise typer.Exit(code=2) from None
        start = start if start.tzinfo is not None else start.replace(tzinfo=UTC)
    container = build_container(Settings())
    try:
        for event in _or_exit(lambda: container.audit_views.export(account, start)):
            typer.echo(json.dumps(event, separators=(",", ":")))
    finally:
        container.close()


T = TypeVar("T")


def _or_exit(call: Callable[[], T]) -> T:
    try:
        return call()
    except NotFound as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(code=1) from None


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-wrap every stored data key under a new master key, while the service keeps running.

    With the generated keyring file (no MEETSTORE_MASTER_KEY), a new master key is generated, every
    data key is re-wrapped under it, and the old key is removed once nothing uses it. With
    MEETSTORE_MASTER_KEY, set the new key there and the old one in MEETSTORE_OLD_MASTER_KEYS, restart
    the processes, then run this to re-wrap everything under the new key.
    """
    from rich.progress import Progress

    from meetstore.adapters.crypto.envelope import add_new_current_key, drop_older_keys
    from meetstore.services.key_rotation import count_sealed, rewrap_until_clean

    settings = Settings()
    file_keyring = settings.master_key is None and not settings.kms_key_id
    if file_keyring:
        add_new_current_key(settings.data_dir)
    container = build_container(settings)
    try:
        total = count_sealed(container.transactions)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("re-wrapping data keys", total=total)

            def advance(pass_no: int, n: int) -> None:
                if pass_no == 1:
                    progress.advance(task, n)

            report = rewrap_until_clean(container.transactions, container.box, advance)
        if file_keyring and report.clean:
            drop_older_keys(settings.data_dir)
    finally:
        container.close()
    console.print(
        f"[green]re-wrapped {report.rewrapped} data keys[/green] "
        f"({report.already_current} were already under the current key; {report.passes} passes); "
        f"master key id {container.box.current_key_id()}"
    )
    if not report.clean:
        console.print(
            "[yellow]secrets kept being sealed under the old key; it is kept. Run the rotation "
            "again once every process has restarted.[/yellow]"
        )


@app.command("local-aws")
def local_aws(
    state_dir: Annotated[Path, typer.Option("--dir", help="Where its buckets and keys are kept.")] = Path(
        ".local-aws"
    ),
    s3_port: Annotated[int, typer.Option(help="Port of the S3 server with signature checks (rclone).")] = 5056,
    iam_port: Annotated[int, typer.Option(help="Port of the S3 server with IAM enforced (moto).")] = 5055,
) -> None:
    """A stand-in for your AWS on 127.0.0.1, for local development only: an S3 server whose
    presigned downloads are signature-checked (rclone), and one with IAM enforced (moto) holding a
    read_write, a write-only and a no-rights user. Prints each case's storage.set body (also
    written to DIR/storage/<case>.json); Ctrl-C stops it. Needs `make install` (moto, rclone)."""
    try:
        from meetstore.local_aws import LocalAws, render
    except ImportError as exc:  # a production install has no development dependencies
        console.print(f"[red]local-aws needs the development dependencies ({exc.name}): run `make local-aws`[/red]")
        raise typer.Exit(1) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda _s, _f: stop.set())
    aws = LocalAws(state_dir.resolve(), s3_port=s3_port, iam_port=iam_port)
    try:
        cases = aws.start()
        print(render(aws, cases), flush=True)
        aws.watch(stop)
    except RuntimeError as exc:
        console.print(f"[red]local-aws: {exc}[/red]")
        raise typer.Exit(1) from None
    finally:
        aws.stop()
    console.print("local-aws stopped.")


def main() -> None:
    tune_allocator()
    app()


if __name__ == "__main__":
    main()

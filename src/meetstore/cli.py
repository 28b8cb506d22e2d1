"""meetstore's command line: run | serve | worker | migrate | accounts | keys."""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer
from rich.console import Console

from meetstore.config import Settings
from meetstore.container import build_container, runtime_token
from meetstore.logging_setup import configure_logging

app = typer.Typer(
    help="meetstore: MeetStream-compatible media storage. Settings come from MEETSTORE_* variables.",
    no_args_is_help=True,
    add_completion=False,
)
accounts_app = typer.Typer(help="Create accounts and manage their API keys and webhook secrets.")
keys_app = typer.Typer(help="Master-key operations.")
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
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

    os.environ["MEETSTORE_UPLOAD_WORKER"] = "true" if upload_worker else "false"
    uvicorn.run(
        "meetstore.api.main:app_factory",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
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
        typer.Option("--no-upload-worker", help="Do not run upload/webhook workers in the API processes."),
    ] = False,
) -> None:
    """Serve the API (MEETSTORE_HOST:MEETSTORE_PORT), by default with an in-process upload worker."""
    settings = Settings()
    configure_logging(settings.log_level)
    _serve(settings, workers=workers, upload_worker=not no_upload_worker)


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()

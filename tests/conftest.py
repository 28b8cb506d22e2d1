"""Shared fixtures: a real S3 server (moto, IAM on), SQLite and PostgreSQL, the app on a port, the SDK.

Isolation: every test makes its own accounts and buckets; PostgreSQL runs get their own schema,
dropped at the end of the session.
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from meetstream import MeetStream
from pydantic import SecretStr

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.migrate import upgrade
from meetstore.config import Settings
from meetstore.container import Container, build_container
from meetstore.services.accounts import NewAccount

from support.moto_s3 import MotoS3
from support.servers import RunningServer, start_server

PG_ADMIN_URL = os.environ.get("MEETSTORE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoS3]:
    server = MotoS3()
    server.start()
    yield server
    server.stop()


class PgSchemas:
    """Creates a fresh schema per database the tests ask for; drops them all at the end."""

    def __init__(self) -> None:
        self.engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def new_url(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self.engine.connect() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
        self.created.append(name)
        sep = "&" if "?" in PG_ADMIN_URL else "?"
        return f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{name}"

    def drop_all(self) -> None:
        with self.engine.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        self.engine.dispose()


@pytest.fixture(scope="session")
def pg_schemas() -> Iterator[PgSchemas]:
    schemas = PgSchemas()
    yield schemas
    schemas.drop_all()


def settings_for(data_dir: Path, database_url: str | None, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "master_key": SecretStr(base64.b64encode(os.urandom(32)).decode()),
        "runtime_token": SecretStr("test-runtime-token-" + uuid.uuid4().hex),
        "allow_private_endpoints": True,
        "poll_interval_s": 0.05,
        "upload_backoff_base_s": 0.05,
        "upload_backoff_max_s": 0.5,
        "webhook_backoff_base_s": 0.05,
        "webhook_backoff_max_s": 0.5,
        "simulated_step_delay_s": 0.05,
        "lease_seconds": 10.0,
        "validation_timeout_s": 5.0,
        "rate_limit_per_minute": 100000,
        "rate_limit_burst": 100000,
        "auth_failures_per_minute": 100000,
    }
    base.update(overrides)
    return Settings(**base)


ContainerFactory = Callable[..., Container]


@pytest.fixture
def make_container(
    tmp_path_factory: pytest.TempPathFactory, pg_schemas: PgSchemas
) -> Iterator[ContainerFactory]:
    """Build a migrated container on 'sqlite' or 'postgres', with settings overrides."""
    made: list[Container] = []

    def factory(backend: str = "sqlite", **overrides: Any) -> Container:
        data_dir = tmp_path_factory.mktemp("meetstore")
        url = None if backend == "sqlite" else pg_schemas.new_url()
        container = build_container(settings_for(data_dir, url, **overrides))
        upgrade(container.db)
        made.append(container)
        return container

    yield factory
    for c in made:
        c.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@pytest.fixture
def make_server(make_container: ContainerFactory) -> Iterator[Callable[..., RunningServer]]:
    """Start the app on a loopback port; stopped after the test."""
    running: list[RunningServer] = []

    def factory(backend: str = "sqlite", *, workers: bool = True, **overrides: Any) -> RunningServer:
        server = start_server(make_container(backend, **overrides), workers=workers)
        running.append(server)
        return server

    yield factory
    for s in running:
        s.stop()


@pytest.fixture
def server(make_server: Callable[..., RunningServer], backend: str) -> RunningServer:
    """The app on this test's backend (runs the test once on SQLite, once on PostgreSQL)."""
    return make_server(backend)


@pytest.fixture
def sqlite_server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite")


def new_account(server: RunningServer, name: str = "acme") -> NewAccount:
    return server.container.accounts.create(name)


def sdk_for(server: RunningServer, api_key: str) -> MeetStream:
    return MeetStream(api_key=api_key, base_url=server.api, max_retries=0, timeout=60)


def db_of(server: RunningServer) -> Database:
    return server.container.db

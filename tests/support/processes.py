"""meetstore's command line in processes of their own, on a test server's database and keys."""

from __future__ import annotations

import os
import subprocess
import sys

from meetstore.container import Container

from support.servers import RunningServer


def cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """`meetstore <args>` run to completion; its output captured."""
    s = server.container.settings
    env = {**os.environ, "MEETSTORE_DATA_DIR": str(s.data_dir), "MEETSTORE_DATABASE_URL": s.resolved_database_url}
    if s.master_key is not None:
        env["MEETSTORE_MASTER_KEY"] = s.master_key.get_secret_value()
    return subprocess.run(
        [sys.executable, "-m", "meetstore.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def worker_env(container: Container, **extra: str) -> dict[str, str]:
    """The environment of a `meetstore worker` sharing the container's database, spool and keys
    (and its upload settings), with `extra` MEETSTORE_* settings on top."""
    s = container.settings
    assert s.master_key is not None
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSTORE_")}
    env.update(
        {
            "MEETSTORE_DATA_DIR": str(s.data_dir),
            "MEETSTORE_DATABASE_URL": s.resolved_database_url,
            "MEETSTORE_MASTER_KEY": s.master_key.get_secret_value(),
            "MEETSTORE_ALLOW_PRIVATE_ENDPOINTS": "true",
            "MEETSTORE_MULTIPART_THRESHOLD_MB": str(s.multipart_threshold_mb),
            "MEETSTORE_MULTIPART_CHUNKSIZE_MB": str(s.multipart_chunksize_mb),
            "MEETSTORE_TRANSFER_MAX_CONCURRENCY": str(s.transfer_max_concurrency),
            "MEETSTORE_LEASE_SECONDS": str(s.lease_seconds),
            "MEETSTORE_POLL_INTERVAL_S": "0.05",
            "MEETSTORE_LOG_LEVEL": "WARNING",
        }
    )
    env.update(extra)
    return env

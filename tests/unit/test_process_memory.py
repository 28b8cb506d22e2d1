"""The allocator settings a meetstore process passes on to the processes it starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = (
    "import json, os; from meetstore.process_memory import tune_allocator; tune_allocator(); "
    "print(json.dumps({k: os.environ.get(k) for k in ('MALLOC_MMAP_THRESHOLD_', 'MALLOC_ARENA_MAX')}))"
)


def _run(**env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env={**base, **env}, capture_output=True, text=True, check=True)
    result: dict[str, str] = json.loads(out.stdout)
    return result


def test_started_processes_get_a_fixed_mmap_threshold_and_two_arenas() -> None:
    assert _run() == {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_ARENA_MAX": "2"}


def test_an_operators_own_settings_are_kept() -> None:
    assert _run(MALLOC_ARENA_MAX="4", MALLOC_MMAP_THRESHOLD_="65536") == {
        "MALLOC_MMAP_THRESHOLD_": "65536",
        "MALLOC_ARENA_MAX": "4",
    }

"""Commands a user types, run as processes of their own from the repository's root (`make run`,
`make local-aws`), with their output in a file the test can wait on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def user_env() -> dict[str, str]:
    """The environment a user's terminal has: the suite's own settings (or a developer's) and
    make's variables must not leak into the commands."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("MEETSTORE_", "MAKE", "MFLAGS"))}


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.output())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared; output:\n{self.output()[-3000:]}")

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it: SIGINT to the whole process group."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
        return self.proc.wait(timeout=30)


def shell(command: str, log: Path, env: dict[str, str]) -> Process:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Process(proc, log)


def api_key_of(process: Process) -> str:
    """The first account's API key, as `make run` prints it on its first start."""
    return process.wait_for(r"api_key:\s+(ms_\S+)").group(1)

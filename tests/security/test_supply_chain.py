"""Supply chain: what `make run` and `make test` install is pinned, with hashes, in
requirements.lock (made by `make lock`), and installed with `--require-hashes`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].strip().lower().replace("_", "-")


def _locked() -> dict[str, list[str]]:
    """name → its hashes, for every pinned requirement of the lock."""
    pins: dict[str, list[str]] = {}
    current: str | None = None
    for raw in (ROOT / "requirements.lock").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9_.-]+)==\S+", line)
        if m and not raw.startswith(" "):
            current = m.group(1).lower().replace("_", "-")
            pins[current] = []
        for h in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            assert current is not None
            pins[current].append(h)
    return pins


def test_every_dependency_is_locked_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"]} | {_name(r) for r in project["optional-dependencies"]["test"]}
    pins = _locked()
    assert wanted <= set(pins), sorted(wanted - set(pins))
    assert all(pins.values()), [n for n, h in pins.items() if not h]


def test_the_install_requires_the_hashes() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile
    assert "--no-deps -e ." in makefile  # meetstore itself adds no unlocked dependency
    assert (ROOT / ".ci" / "run").read_text().strip().endswith("make test")

"""README's five-minute walkthrough, replayed as written: its two shell commands (`make local-aws`,
`MEETSTORE_ALLOW_PRIVATE_ENDPOINTS=true make run`) in processes of their own, then its Python
snippets in one Python session, each printing what the README's `# ` lines say it prints. Only
what a second run on the same machine must change comes from the environment: the ports, the data
folders (make variables and MEETSTORE_* settings) and the API key the first start printed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.servers import free_port
from support.shell import ROOT, Process, shell, user_env

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def walkthrough() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Five minutes")
    return text[start : text.index("### With your own AWS bucket", start)]


def blocks(language: str) -> list[str]:
    return [m.group(1) for m in re.finditer(rf"```{language}\n(.*?)```", walkthrough(), re.S)]


def commands() -> list[str]:
    return [line.strip() for block in blocks("sh") for line in block.splitlines() if line.strip()]


@pytest.fixture
def env() -> dict[str, str]:
    return user_env()


@pytest.fixture
def running() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for p in started:
        if p.proc.poll() is None:
            os.killpg(p.proc.pid, signal.SIGKILL)
            p.proc.wait(timeout=30)


def expected(code: str, ports: dict[str, int]) -> re.Pattern[str]:
    """What a snippet prints: its `# ` lines, joined (a long line may be wrapped there), with
    `<bot_id>` and `<size>` standing for what changes and the documented ports for the test's."""
    said = " ".join(line[2:] for line in code.splitlines() if line.startswith("# "))
    pattern = re.escape(said).replace(re.escape("<bot_id>"), UUID).replace(re.escape("<size>"), r"\d+")
    for documented, port in ports.items():
        pattern = pattern.replace(re.escape(f"127.0.0.1:{documented}"), f"127\\.0\\.0\\.1:{port}")
    return re.compile(pattern)


def run_snippets(snippets: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """Every snippet in one Python session, as a user pastes them; what each printed."""
    driver = (
        "import contextlib, io, json, sys\n"
        "ns, out = {}, []\n"
        "for code in json.load(sys.stdin):\n"
        "    buf = io.StringIO()\n"
        "    with contextlib.redirect_stdout(buf):\n"
        "        exec(compile(code, 'README.md', 'exec'), ns)\n"
        "    out.append(buf.getvalue())\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", driver], input=json.dumps(snippets), cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    printed: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return printed


def test_the_readme_walkthrough_works_as_written(
    tmp_path: Path, env: dict[str, str], running: list[Process]
) -> None:
    assert commands() == ["make local-aws", "MEETSTORE_ALLOW_PRIVATE_ENDPOINTS=true make run"]
    s3_port, iam_port, api_port = free_port(), free_port(), free_port()
    state = tmp_path / ".local-aws"
    aws_env = {**env, "LOCAL_AWS_ARGS": f"--dir {state} --s3-port {s3_port} --iam-port {iam_port}"}
    local_aws = shell(commands()[0], tmp_path / "local-aws.log", aws_env)
    running.append(local_aws)
    local_aws.wait_for(r"local-aws is ready\.")
    printed = local_aws.output()
    for case in ("happy", "iam-read-write", "iam-write-only", "iam-no-s3-rights"):
        body = json.loads((state / "storage" / f"{case}.json").read_text())
        assert json.dumps(body) in printed  # the exact body to paste is on the terminal

    run_env = {**env, "MEETSTORE_DATA_DIR": str(tmp_path / "meetstore"), "MEETSTORE_PORT": str(api_port)}
    meetstore = shell(commands()[1], tmp_path / "run.log", run_env)
    running.append(meetstore)
    api_key = meetstore.wait_for(r"api_key:\s+(ms_\S+)").group(1)
    meetstore.wait_for(r"Application startup complete")

    snippets = blocks("python")
    assert len(snippets) == 3
    py_env = {**env, "MEETSTORE_API_KEY": api_key, "MEETSTORE_URL": f"http://127.0.0.1:{api_port}"}
    outputs = run_snippets(snippets, tmp_path, py_env)
    ports = {"5056": s3_port, "5055": iam_port}
    for code, out in zip(snippets, outputs, strict=True):
        assert expected(code, ports).fullmatch(" ".join(out.split("\n")).strip()), (out, code)
    # The recording really is in "your" bucket, where README says to look.
    assert list((state / "s3" / "my-recordings" / "meetstream").glob("*_audio.mp3"))

    # Ctrl-C stops both cleanly; the happy bucket's files and keys survive a restart.
    meetstore.interrupt()
    local_aws.interrupt()
    assert "local-aws stopped." in local_aws.output()
    kept = (state / "storage" / "happy.json").read_text()
    again = shell(commands()[0], tmp_path / "local-aws-2.log", aws_env)
    running.append(again)
    again.wait_for(r"local-aws is ready\.")
    assert (state / "storage" / "happy.json").read_text() == kept
    assert list((state / "s3" / "my-recordings" / "meetstream").glob("*_audio.mp3"))
    again.interrupt()

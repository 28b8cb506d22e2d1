"""The console's test fixtures: `make run`'s server in a process of its own, Debian's Chromium
driven by Playwright, and the steps every console test takes (sign in, fill the storage form)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from support.moto_s3 import MotoS3
from support.servers import free_port
from support.shell import Process, api_key_of, shell, user_env

CHROMIUM = "/usr/bin/chromium"


class Console:
    def __init__(self, url: str, data_dir: Path, api_key: str) -> None:
        self.url = url
        self.data_dir = data_dir
        self.api_key = api_key

    def new_account(self) -> str:
        env = {**user_env(), "MEETSTORE_DATA_DIR": str(self.data_dir)}
        done = subprocess.run(
            [sys.executable, "-m", "meetstore.cli", "accounts", "create", "--name", "other", "--json"],
            env=env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        key: str = json.loads(done.stdout)["api_key"]
        return key


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    data_dir = tmp_path_factory.mktemp("console")
    port = free_port()
    env = {**user_env(), "MEETSTORE_DATA_DIR": str(data_dir), "MEETSTORE_PORT": str(port)}
    server: Process = shell("MEETSTORE_ALLOW_PRIVATE_ENDPOINTS=true make run", data_dir / "run.log", env)
    try:
        key = api_key_of(server)
        server.wait_for(r"Application startup complete")
        yield Console(f"http://127.0.0.1:{port}/console", data_dir, key)
    finally:
        if server.proc.poll() is None:
            os.killpg(server.proc.pid, signal.SIGINT)
            server.proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--autoplay-policy=no-user-gesture-required"],
        )  # fmt: skip
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def sign_in(page: Page, console: Console, key: str) -> None:
    page.goto(console.url)
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Sign in").click()


def fill_storage(page: Page, moto: MotoS3, bucket: str, keys: tuple[str, str], **fields: str) -> None:
    page.get_by_label("Bucket name").fill(bucket)
    page.get_by_label("Region").fill("us-east-1")
    page.get_by_label("Prefix", exact=True).fill("meetstream")
    page.get_by_label("Endpoint URL").fill(moto.endpoint)
    page.get_by_label("Access key ID").fill(keys[0])
    page.get_by_label("Secret key").fill(keys[1])
    page.get_by_label("Access mode").select_option(fields.get("access_mode", "read_write"))

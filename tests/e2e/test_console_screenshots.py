"""`make screenshots`: each console page, rendered in the same browser as the console's tests, into
docs/console/*.png (README shows them). Deselected from `make test` (marker `screenshots`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from support.console import CHROMIUM, Console, browser, console, fill_storage, page, sign_in
from support.moto_s3 import MotoS3, put_only, read_write

OUT = Path(__file__).resolve().parents[2] / "docs" / "console"
pytestmark = [
    pytest.mark.screenshots,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make screenshots installs Chromium first"),
]
__all__ = ["browser", "console", "page"]  # fixtures


def shot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def test_screenshots_of_every_page(console: Console, moto: MotoS3, page: Page) -> None:
    bucket = moto.make_bucket("my-recordings-demo")
    writer = moto.make_user(put_only(bucket, "meetstream"))
    full = moto.make_user(read_write(bucket, "meetstream"))
    page.goto(console.url)
    shot(page, "sign-in")
    sign_in(page, console, console.api_key)
    fill_storage(page, moto, bucket, writer)
    page.get_by_role("button", name="Validate").click()
    expect(page.locator("tr.bad").first).to_be_visible()
    shot(page, "storage-validation")
    fill_storage(page, moto, bucket, full)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    page.get_by_role("link", name="Bots").click()
    page.get_by_role("button", name="Start a test bot").click()
    expect(page.locator("#bot-status")).to_have_text("Done", timeout=90_000)
    with moto.auth_off():
        page.reload()
        page.wait_for_function("document.querySelector('audio').readyState >= 2")
        shot(page, "bot")
    page.get_by_role("link", name="Bots").click()
    shot(page, "bots")
    page.get_by_role("link", name="API keys").click()
    shot(page, "keys")

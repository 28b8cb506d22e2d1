"""The web console in a real browser (Playwright driving Debian's Chromium) against `make run`'s
server, with moto (IAM enforced) as the customer's AWS: sign in, a failing validation naming the
missing action, save, a test bot recorded and its audio playing, a failed upload retried from the
page, sign out, and another account's bot refused."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from support.console import CHROMIUM, Console, browser, console, fill_storage, page, sign_in
from support.moto_s3 import MotoS3, put_only, read_write

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="make test installs Chromium first")
__all__ = ["browser", "console", "page"]  # fixtures


def wait_for_status(page: Page, status: str, timeout_s: float = 90) -> None:
    """The bot page follows its bot by itself (its script reloads it when the bot changes)."""
    expect(page.locator("#bot-status")).to_have_text(status, timeout=timeout_s * 1000)


def test_from_sign_in_to_a_playing_recording_and_a_retried_upload(
    console: Console, moto: MotoS3, page: Page
) -> None:
    bucket = moto.make_bucket()
    writer = moto.make_user(put_only(bucket, "meetstream"))
    full = moto.make_user(read_write(bucket, "meetstream"))

    sign_in(page, console, console.api_key)
    expect(page).to_have_url(re.compile(r"/console/storage$"))
    expect(page.get_by_role("link", name="Storage")).to_have_attribute("aria-current", "page")
    assert console.api_key not in page.content()  # never rendered back

    # A policy that only allows writes fails read_write's checks, naming the action to grant.
    fill_storage(page, moto, bucket, writer)
    page.get_by_role("button", name="Validate").click()
    failed = page.locator("tr.bad")
    expect(failed.first).to_be_visible()
    expect(page.locator("tr.bad", has_text="s3:GetObject").first).to_be_visible()
    expect(page.get_by_label("Policy", exact=True)).to_contain_text(f"arn:aws:s3:::{bucket}/meetstream/*")
    assert writer[1] not in page.content()  # the secret typed in is not rendered back

    fill_storage(page, moto, bucket, full)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved")
    expect(page.locator("dl.facts")).to_contain_text(bucket)

    # A test bot, recorded and uploaded to the bucket; its audio plays from the presigned URL.
    page.get_by_role("link", name="Bots").click()
    page.get_by_role("button", name="Start a test bot").click()
    expect(page).to_have_url(re.compile(r"/console/bots/[0-9a-f-]{36}$"))
    wait_for_status(page, "Done")
    bot_url = page.url
    expect(page.locator("table").filter(has_text="SHA-256")).to_contain_text(f"s3://{bucket}/meetstream/")
    with moto.auth_off():  # moto cannot serve a presigned GET while it enforces IAM (TESTING.md)
        page.reload()
        page.wait_for_function("document.querySelector('audio') && document.querySelector('audio').readyState >= 2")
    expect(page.locator("ol.transcript li").first).to_be_visible()

    # The customer narrows the policy: the next bot's uploads fail, the page says why; fixed, retried.
    moto.set_user_policy(full[0], put_only(bucket, "elsewhere"))
    page.get_by_role("link", name="Bots").click()
    page.get_by_role("button", name="Start a test bot").click()
    expect(page.get_by_role("button", name="Retry uploads")).to_be_visible(timeout=90_000)
    expect(page.locator("tr.bad").first).to_contain_text("AccessDenied")
    moto.set_user_policy(full[0], read_write(bucket, "meetstream"))
    page.get_by_role("button", name="Retry uploads").click()
    wait_for_status(page, "Done")
    expect(page.locator("tr.bad")).to_have_count(0)
    page.get_by_role("link", name="Bots").click()
    page.get_by_label("Has failed uploads").check()
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No bots match")).to_be_visible()

    # Sign out: the pages ask to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.goto(bot_url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()

    # Another account's session cannot see this account's bot: the same 404 as an unknown id.
    sign_in(page, console, console.new_account())
    resp = page.goto(bot_url)
    assert resp is not None and resp.status == 404
    expect(page.get_by_role("alert")).to_contain_text("No bot")


def test_the_session_cookie_csrf_and_headers(console: Console, page: Page) -> None:
    sign_in(page, console, console.api_key)
    cookies: list[Any] = page.context.cookies()
    (session,) = [c for c in cookies if c["name"] == "meetstore_console"]
    assert session["httpOnly"] is True and session["sameSite"] == "Strict" and session["path"] == "/console"
    assert session["value"] != console.api_key
    resp = page.goto(console.url + "/bots")
    assert resp is not None
    csp = resp.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    # A form posted without the page's CSRF token is refused, and changes nothing.
    bots = page.locator("tbody tr a").count()
    status = page.evaluate(
        """async () => (await fetch('/console/bots/test', {method: 'POST', body: new URLSearchParams({csrf: 'x'})})).status"""
    )
    assert status == 403
    page.goto(console.url + "/bots")
    assert page.locator("tbody tr a").count() == bots

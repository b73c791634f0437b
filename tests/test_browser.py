"""The web page in a real browser (headless Chromium) against the three real services."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from pantry_common import catalogue_documents

from .conftest import make_stack
from .servers import ServerUrls
from .test_e2e import processes, running
from .thirdparty import ThirdParty

pytestmark = [pytest.mark.integration, pytest.mark.client_tooling_blocks]

OUTPUT = Path(os.environ.get("PANTRY_TEST_OUTPUT", Path(__file__).parent.parent / "test-output"))
CHROMIUM = (
    os.environ.get("PANTRY_CHROMIUM")
    or shutil.which("chromium")
    or shutil.which("chromium-browser")
)
OUTPUT.mkdir(parents=True, exist_ok=True)
FEED = [doc for doc in catalogue_documents("feed") if doc["name"] == "Jollof Rice"]
# As this machine's browser needs them: no sandbox as root, no calls home.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


async def test_the_page_shows_results_then_inserts_a_discovered_recipe_live(
    database: str, servers: ServerUrls, vhost: str, thirdparty: tuple[ThirdParty, str]
) -> None:
    assert CHROMIUM, "Chromium is needed for the browser test (apt-get install chromium)"
    fake, base = thirdparty
    fake.feed = FEED
    fake.feed_delay = 2.0  # the discovered recipe arrives after the first answer is on screen
    stack = make_stack(database, servers, vhost, feed_url=f"{base}/feed.json")
    async with running(*processes(stack).values()), async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"http://127.0.0.1:{stack.api.port}/")
            await expect(page).to_have_title("Pantry Chef — what can I cook?")
            await page.fill("#q", "jollof rice")
            await page.fill("#have", "rice, onion, tomato")
            await page.click("#go")
            status = page.locator("#status")
            await expect(status).to_contain_text("looking for more", timeout=10_000)
            known = await page.locator("#results li").count()
            assert not await page.locator("#results li.new").count()
            discovered = page.locator("#results li.new", has_text="Jollof Rice")
            await expect(discovered).to_be_visible(timeout=30_000)
            await expect(discovered.locator(".badge")).to_have_text("New")
            await expect(status).to_contain_text("search complete", timeout=30_000)
            assert await page.locator("#results li").count() == known + 1
            await page.screenshot(path=str(OUTPUT / "search-live.png"), full_page=True)
            await discovered.click()
            recipe = page.locator("#recipe")
            await expect(recipe.locator("h2")).to_have_text("Jollof Rice")
            assert await recipe.locator("ul li").count() >= 4
            await page.screenshot(path=str(OUTPUT / "recipe-view.png"), full_page=True)
        finally:
            await browser.close()

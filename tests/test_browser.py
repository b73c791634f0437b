"""The web page in a real browser (headless Chromium) against the three real services."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from redis.asyncio import Redis

from pantry_common import catalogue_documents

from .conftest import make_stack
from .events import wait_for_event
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


async def test_the_page_of_a_search_that_completed_earlier_is_not_looking_for_more(
    database: str, servers: ServerUrls, vhost: str, thirdparty: tuple[ThirdParty, str]
) -> None:
    assert CHROMIUM, "Chromium is needed for the browser test (apt-get install chromium)"
    fake, base = thirdparty
    fake.feed = FEED
    stack = make_stack(database, servers, vhost, feed_url=f"{base}/feed.json")
    params = {"q": "jollof rice", "have": "rice, onion, tomato"}
    redis = Redis.from_url(servers.redis)
    try:
        async with (
            running(*processes(stack).values()),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.api.port}", timeout=15) as api,
            async_playwright() as playwright,
        ):
            first = (await api.get("/api/v1/recipes/search", params=params)).json()
            assert first["status"] == "refreshing"
            await wait_for_event(
                redis, stack.common.redis_prefix, first["search_id"], "search.completed"
            )
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = await browser.new_page(viewport={"width": 1200, "height": 900})
                await page.goto(f"http://127.0.0.1:{stack.api.port}/?{urlencode(params)}")
                status = page.locator("#status")
                # "N recipes …", and not "… so far — looking for more…".
                answered = re.compile(r"^\d+ recipes?(?!.*looking for more)")
                await expect(status).to_have_text(answered, timeout=10_000)
                await expect(page.locator("#results li", has_text="Jollof Rice")).to_be_visible()
                await page.wait_for_timeout(1500)  # and it stays so: nothing is awaited
                assert "looking for more" not in (await status.text_content() or "")
            finally:
                await browser.close()
    finally:
        await redis.aclose()

"""The page shows, for each result, what it uses of what you have and how many foods it lacks
(a real headless Chromium over the real api, PostgreSQL and Redis)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import async_playwright, expect

from .conftest import api_server, settings_for
from .servers import ServerUrls
from .test_browser import ARGS, CHROMIUM, OUTPUT

pytestmark = [pytest.mark.integration, pytest.mark.client_tooling_blocks]


async def test_each_result_shows_what_it_uses_and_how_many_are_missing(
    database: str, servers: ServerUrls
) -> None:
    assert CHROMIUM, "Chromium is needed for the browser test (apt-get install chromium)"
    async with (
        api_server(settings_for(database, servers)) as api,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 900})
            await page.goto(f"{api.base_url}/")
            await page.fill("#have", "chicken, rice, soy sauce, garlic, ginger")
            await page.click("#go")
            adobo = page.locator("#results li", has_text="Chicken Adobo")
            await expect(adobo).to_be_visible(timeout=10_000)
            uses = adobo.locator(".used")
            await expect(uses).to_contain_text("chicken thigh (your chicken)")
            await expect(uses).to_contain_text("soy sauce")
            await expect(uses).to_contain_text("garlic")
            missing = adobo.locator(".missing")
            await expect(missing).to_have_text(re.compile(r"^missing \d+: "))
            text = await missing.inner_text()
            count = int(text.split(":", 1)[0].split()[1])
            assert count == len(text.split(":", 1)[1].split(","))
            assert "chicken thigh" not in text
            # Every result says what it uses, and the count of what it lacks.
            n = await page.locator("#results li").count()
            assert n > 0
            assert await page.locator("#results li .used").count() == n
            assert await page.locator("#results li .missing").count() == n
            await page.screenshot(path=str(OUTPUT / "search-uses.png"), full_page=True)

            await page.fill("#have", "")
            await page.fill("#q", "quick vegetarian dinner")
            await page.click("#go")
            await expect(page.locator("#status")).to_contain_text(
                "vegetarian · 30 min or less", timeout=10_000
            )
        finally:
            await browser.close()

"""Third-party HTTP services, recorded-shape, on loopback: TheMealDB, a recipe site, a feed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

DATA = Path(__file__).parent / "data"
KOSHARI: dict[str, Any] = orjson.loads((DATA / "themealdb-koshari.json").read_bytes())
RECIPE_PAGE = (DATA / "recipe-page.html").read_text()
#: A family recipe: the only one anywhere with the word "zyxwq".
FAMILY_TITLE = "Tante Zyxwq's Smoky Lentil Stew"
FAMILY_PAGE = RECIPE_PAGE.replace('"name": "Smoky Lentil Stew"', f'"name": "{FAMILY_TITLE}"')


@dataclass
class ThirdParty:
    """What the fake services serve, and what they were asked."""

    feed: list[dict[str, Any]] = field(default_factory=list)
    feed_delay: float = 0.0
    themealdb_fails: bool = False
    requests: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        koshari, page = KOSHARI, RECIPE_PAGE

        async def themealdb(request: Request) -> Response:
            self.requests.append(f"themealdb:{request.path_params['endpoint']}")
            if self.themealdb_fails:
                return JSONResponse({"error": "upstream"}, status_code=500)
            endpoint, params = request.path_params["endpoint"], request.query_params
            if endpoint == "search.php":
                match = "koshari" in params.get("s", "").lower()
                return JSONResponse(koshari if match else {"meals": None})
            if endpoint == "filter.php":
                if params.get("i", "").lower() == "brown_lentils":
                    meal = koshari["meals"][0]
                    return JSONResponse(
                        {"meals": [{k: meal[k] for k in ("idMeal", "strMeal", "strMealThumb")}]}
                    )
                return JSONResponse({"meals": None})
            if endpoint == "lookup.php":
                return JSONResponse(koshari if params.get("i") == "53900" else {"meals": None})
            return JSONResponse({"meals": None})

        async def feed(_: Request) -> Response:
            self.requests.append("feed")
            if self.feed_delay:
                await asyncio.sleep(self.feed_delay)
            return Response(orjson.dumps(self.feed), media_type="application/ld+json")

        async def recipe_page(_: Request) -> Response:
            self.requests.append("page")
            return HTMLResponse(page)

        async def family_page(_: Request) -> Response:
            self.requests.append("family")
            return HTMLResponse(FAMILY_PAGE)

        async def no_recipe(_: Request) -> Response:
            return HTMLResponse("<html><body><p>Just a blog post.</p></body></html>")

        async def moved(request: Request) -> Response:
            hops = int(request.query_params.get("hops", "1"))
            target = "/recipes/smoky-lentil-stew" if hops <= 1 else f"/moved?hops={hops - 1}"
            return RedirectResponse(target, status_code=302)

        async def huge(_: Request) -> Response:
            return HTMLResponse("<html>" + "x" * 5_000_000 + "</html>")

        async def broken(_: Request) -> Response:
            return Response("upstream trouble", status_code=503)

        return Starlette(
            routes=[
                Route("/themealdb/api/json/v1/1/{endpoint}", themealdb),
                Route("/feed.json", feed),
                Route("/recipes/smoky-lentil-stew", recipe_page),
                Route("/recipes/family", family_page),
                Route("/recipes/blog-post", no_recipe),
                Route("/moved", moved),
                Route("/huge", huge),
                Route("/broken", broken),
            ]
        )

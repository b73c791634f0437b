"""The bundled catalogue's feed (or any JSON-LD feed of schema.org Recipes, file or URL),
searched for the recipes that match a search's words or foods."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import orjson

from pantry_common import FoodVocabulary, SearchCriteria, catalogue_documents, normalise_text

from ._base import Candidate, SourceError


def _recipes(data: Any) -> list[dict[str, Any]]:
    """Recipe objects of a feed: a list, a single object, or an `@graph`."""
    items = data.get("@graph", [data]) if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise SourceError("the feed is not a list of recipes")
    return [i for i in items if isinstance(i, dict) and i.get("@type") in ("Recipe", ["Recipe"])]


def _text_of(doc: dict[str, Any]) -> tuple[str, str]:
    title = normalise_text(str(doc.get("name", "")))
    lines = doc.get("recipeIngredient") or []
    body = " ".join(
        [
            title,
            normalise_text(" ".join(str(x) for x in lines if isinstance(x, str))),
            normalise_text(str(doc.get("recipeCuisine", ""))),
            normalise_text(str(doc.get("keywords", ""))),
        ]
    )
    return title, f" {body} "


class CatalogueSource:
    name = "catalogue"

    def __init__(self, url: str | None, client: httpx.AsyncClient, vocab: FoodVocabulary) -> None:
        self.url = url
        self.client = client
        self.vocab = vocab
        self._bundled: list[dict[str, Any]] | None = None

    async def _load(self) -> list[dict[str, Any]]:
        if self.url is None:
            if self._bundled is None:
                self._bundled = await asyncio.to_thread(lambda: list(catalogue_documents("feed")))
            return self._bundled
        if self.url.startswith(("http://", "https://")):
            try:
                response = await self.client.get(self.url)
                response.raise_for_status()
                return _recipes(orjson.loads(response.content))
            except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
                raise SourceError(f"feed unavailable: {type(exc).__name__}") from exc
        path = Path(self.url.removeprefix("file://"))
        try:
            raw = await asyncio.to_thread(path.read_bytes)
            return _recipes(orjson.loads(raw))
        except (OSError, orjson.JSONDecodeError) as exc:
            raise SourceError(f"feed unreadable: {type(exc).__name__}") from exc

    async def search(self, criteria: SearchCriteria, limit: int) -> list[Candidate]:
        docs = await self._load()
        words = [w for w in normalise_text(criteria.q).split() if len(w) > 1]
        foods = [normalise_text(f) for f in criteria.have]
        scored: list[tuple[int, int, dict[str, Any]]] = []
        for n, doc in enumerate(docs):
            title, text = _text_of(doc)
            title_hits = sum(f" {w}" in f" {title}" for w in words)
            word_hits = sum(f" {w}" in text for w in words)
            food_hits = sum(f" {f}" in text for f in foods)
            if words and word_hits < len(words):
                continue
            if not words and not food_hits:
                continue
            scored.append((-(title_hits * 10 + word_hits * 3 + food_hits), n, doc))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [Candidate(doc=doc, source=self.name) for _, _, doc in scored[:limit]]

"""The search's HTTP parameters, read once: by the cache-hit fast path and by the route.

The query string is read as Starlette reads it (Latin-1, then percent-decoded as UTF-8): a list
parameter (`have`, `exclude`, `diet`) may repeat and its values are joined; for the others the
last one wins. Unknown parameters are ignored.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from pantry_common import MAX_LIMIT, MAX_QUERY_CHARS, FoodVocabulary, QueryError, SearchQuery
from pantry_common import build_query as normalise

_LISTS = ("have", "exclude", "diet")
_SINGLE = ("q", "max_time", "cuisine", "sort", "limit", "cursor")

#: The parameters as the OpenAPI document shows them.
OPENAPI_PARAMETERS: list[dict[str, Any]] = [
    {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
    for name, schema, text in [
        ("q", {"type": "string"}, f"Free text, at most {MAX_QUERY_CHARS} characters."),
        (
            "have",
            {"type": "array", "items": {"type": "string"}},
            "Foods you have, comma-separated.",
        ),
        (
            "exclude",
            {"type": "array", "items": {"type": "string"}},
            "Foods to avoid (and what is made from them).",
        ),
        (
            "diet",
            {"type": "array", "items": {"type": "string"}},
            "vegetarian, vegan, gluten-free, dairy-free, nut-free.",
        ),
        ("max_time", {"type": "integer"}, "Total time at most, in minutes."),
        ("cuisine", {"type": "string"}, "A cuisine, as recipes name it."),
        ("sort", {"type": "string"}, "relevance, max_used or fewest_missing."),
        ("limit", {"type": "integer", "default": 20}, f"1 to {MAX_LIMIT}."),
        ("cursor", {"type": "string"}, "`next_cursor` of the previous page."),
    ]
]


def _whole(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise QueryError(name, f"{name} is a whole number") from None


def search_query(vocab: FoodVocabulary, query_string: bytes) -> SearchQuery:
    """The normalised search of a raw query string. Raises `QueryError` naming the parameter."""
    single: dict[str, str] = {}
    lists: dict[str, list[str]] = {name: [] for name in _LISTS}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name in lists:
            lists[name].append(value)
        elif name in _SINGLE:
            single[name] = value
    joined = {name: ",".join(values) if values else None for name, values in lists.items()}
    return normalise(
        vocab,
        q=single.get("q"),
        have=joined["have"],
        exclude=joined["exclude"],
        diet=joined["diet"],
        max_time=_whole("max_time", single.get("max_time")),
        cuisine=single.get("cuisine"),
        sort=single.get("sort"),
        limit=_whole("limit", single.get("limit")),
        cursor=single.get("cursor"),
    )

"""The search's HTTP parameters, read once: by the cache-hit fast path and by the route.

The query string is read as Starlette reads it (Latin-1, then percent-decoded as UTF-8): a list
parameter (`have`, `exclude`, `diet`) may repeat and its values are joined; for the others the
last one wins. Unknown parameters are ignored.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from pantry_common import MAX_LIMIT, MAX_QUERY_CHARS, FoodVocabulary, QueryError, SearchQuery
from pantry_common import build_query as normalise

_LISTS = ("have", "exclude", "diet")
_SINGLE = ("q", "max_time", "cuisine", "sort", "limit", "cursor")
# The limits `build_query` holds a search to, as the document states them.
MAX_FOODS = 30
MAX_MINUTES = 7 * 24 * 60
SORTS = ("relevance", "max_used", "fewest_missing")

#: At least one letter or digit: what normalising leaves of a text that has any (`_` is neither).
_WORDY = r"[^\W_]"
#: Foods, comma-separated: at most 30, each at most 60 characters.
_FOODS = rf"^[^,]{{0,60}}(,[^,]{{0,60}}){{0,{MAX_FOODS - 1}}}$"
_DIET = r"\s*(vegetarian|vegan|gluten[- ]free|dairy[- ]free|nut[- ]free)?\s*"

#: The parameters as the OpenAPI document shows them. A search needs `q` or `have` (or both)
#: with something to search for in it: OpenAPI's parameters are independent of each other, so
#: the two are one `form`-style exploded object parameter (`?q=…&have=…` on the wire) whose
#: schema can say "one of them".
OPENAPI_PARAMETERS: list[dict[str, Any]] = [
    {
        "name": "search",
        "in": "query",
        "required": True,
        "style": "form",
        "explode": True,
        "description": (
            "`q`, `have` or both, as plain query parameters (`?q=lentil+soup&have=rice`): "
            "at least one of them with a letter or digit in it."
        ),
        "schema": {
            "type": "object",
            "properties": {
                "q": {
                    "type": "string",
                    "maxLength": MAX_QUERY_CHARS,
                    "description": f"Free text, at most {MAX_QUERY_CHARS} characters.",
                },
                "have": {
                    "type": "string",
                    "pattern": _FOODS,
                    "description": (
                        f"Foods you have, comma-separated: at most {MAX_FOODS}, "
                        "each at most 60 characters."
                    ),
                },
            },
            "additionalProperties": False,
            "anyOf": [
                {"required": ["q"], "properties": {"q": {"pattern": _WORDY}}},
                {"required": ["have"], "properties": {"have": {"pattern": _WORDY}}},
            ],
        },
    },
    *(
        {"name": name, "in": "query", "required": False, "schema": schema, "description": text}
        for name, schema, text in [
            (
                "exclude",
                {"type": "string", "pattern": _FOODS},
                "Foods to avoid (and what is made from them), comma-separated.",
            ),
            (
                "diet",
                {"type": "string", "pattern": rf"^{_DIET}(,{_DIET})*$"},
                "Comma-separated: vegetarian, vegan, gluten-free, dairy-free, nut-free.",
            ),
            (
                "max_time",
                {"type": "integer", "minimum": 0, "maximum": MAX_MINUTES},
                "Total time at most, in minutes.",
            ),
            (
                "cuisine",
                {"type": "string", "maxLength": 60},
                "A cuisine, as recipes name it.",
            ),
            (
                "sort",
                {"type": "string", "enum": [*SORTS, ""]},
                "relevance (the default with `q`), max_used (the default without) or "
                "fewest_missing; empty for the default.",
            ),
            (
                "limit",
                {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 20},
                f"1 to {MAX_LIMIT}.",
            ),
            (
                "cursor",
                {"type": "string", "format": "cursor"},
                "`next_cursor` of the previous page (a token this API issued).",
            ),
        ]
    ),
]

#: A whole number as the parameters take it: ASCII digits, perhaps a minus (not `int()`'s
#: " 5", "+5", "1_0" or other scripts' digits, which the document does not allow).
_WHOLE = re.compile(r"-?[0-9]+")


def _whole(name: str, value: str | None) -> int | None:
    if value is None:
        return None
    if not _WHOLE.fullmatch(value):
        raise QueryError(name, f"{name} is a whole number")
    return int(value)


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

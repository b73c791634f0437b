"""Search queries: validation limits, normalisation into a stable form, cache keys and cursors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

import orjson

from ._foods import Diet, FoodVocabulary, normalise_once, normalise_text
from ._interpret import read_filters
from ._keys import Keys

# `max_used`: most of what the user has first, then fewest missing (the default with `have`);
# `fewest_missing`: fewest missing first, then most used.
Sort = Literal["relevance", "max_used", "fewest_missing"]
SORTS: tuple[Sort, ...] = ("relevance", "max_used", "fewest_missing")

MAX_QUERY_CHARS = 200
MAX_FOODS = 30
MAX_LIMIT = 50
DEFAULT_LIMIT = 20
MAX_OFFSET = 1000

_SEARCH_ID_NAMESPACE = uuid.UUID("6f1c2a57-3f4e-4c8e-9a51-1f0d3b2f7c11")


class QueryError(ValueError):
    """A search parameter that cannot be used; `parameter` names it for the 422 body."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message


def split_foods(value: str | None) -> list[str]:
    """Comma-separated foods as the user typed them, empty items dropped."""
    if not value:
        return []
    return [item.strip() for item in value.split(",") if item.strip()]


def canonical_foods(items: list[str], vocab: FoodVocabulary) -> tuple[str, ...]:
    """Canonical food names (unknown foods keep their normalised text), de-duplicated, sorted."""
    out: set[str] = set()
    for item in items:
        text = normalise_text(item)
        if text:
            out.add(vocab.canonical(text) or text)
    return tuple(sorted(out))


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A search in its normalised form: equal searches give equal keys."""

    text: str = ""
    have: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    diets: tuple[str, ...] = ()
    max_time: int | None = None
    cuisine: str | None = None
    sort: Sort = "relevance"
    limit: int = DEFAULT_LIMIT
    offset: int = 0

    @property
    def words(self) -> list[str]:
        return self.text.split()

    def criteria(self) -> dict[str, Any]:
        """What decides which recipes match (not their order or the page)."""
        return {
            "q": self.text,
            "have": list(self.have),
            "exclude": list(self.exclude),
            "diet": list(self.diets),
            "max_time": self.max_time,
            "cuisine": self.cuisine,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.criteria(), "sort": self.sort, "limit": self.limit, "offset": self.offset}

    @property
    def search_id(self) -> str:
        """Stable id of the search (same criteria, same id, whatever the page or order)."""
        return str(uuid.uuid5(_SEARCH_ID_NAMESPACE, orjson.dumps(self.criteria()).decode()))

    @property
    def digest(self) -> str:
        return hashlib.sha256(
            orjson.dumps(self.as_dict(), option=orjson.OPT_SORT_KEYS)
        ).hexdigest()[:40]

    def cache_key(self, prefix: str) -> str:
        return Keys(prefix).search(self.digest)

    def next_cursor(self, total: int) -> str | None:
        nxt = self.offset + self.limit
        if nxt >= total or nxt > MAX_OFFSET:
            return None
        return encode_cursor(nxt)


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        offset = data["o"]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeEncodeError) as exc:
        raise QueryError("cursor", "cursor is not one this API issued") from exc
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 <= offset <= MAX_OFFSET:
        raise QueryError("cursor", "cursor is not one this API issued")
    return offset


def build_query(
    vocab: FoodVocabulary,
    *,
    q: str | None = None,
    have: str | None = None,
    exclude: str | None = None,
    diet: str | None = None,
    max_time: int | None = None,
    cuisine: str | None = None,
    sort: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> SearchQuery:
    """Validate raw parameters and normalise them. Raises `QueryError` naming the parameter."""
    if q is not None and len(q) > MAX_QUERY_CHARS:
        raise QueryError("q", f"q is longer than {MAX_QUERY_CHARS} characters")
    text = " ".join(normalise_once(q or "").split()[:32])
    have_items, exclude_items = split_foods(have), split_foods(exclude)
    for name, items in (("have", have_items), ("exclude", exclude_items)):
        if len(items) > MAX_FOODS:
            raise QueryError(name, f"{name} lists more than {MAX_FOODS} foods")
        if any(len(item) > 60 for item in items):
            raise QueryError(name, f"{name} has a food name longer than 60 characters")
    have_foods = canonical_foods(have_items, vocab)
    # Diets, foods to leave out and time limits said in the text become filters, when
    # something is left to search for (other words, or foods that name something).
    said = read_filters(text, vocab)
    if said.text or have_foods:
        text = said.text
    else:  # only filter words and nothing to search for: the text is searched as typed
        said = replace(said, diets=frozenset(), exclude=frozenset(), max_time=None)
    if not text and not have_foods:
        raise QueryError("q", "give q (free text) or have (foods you have), or both")
    diets: set[str] = set(said.diets)
    for item in split_foods(diet):
        key = normalise_text(item).replace(" ", "-")
        try:
            diets.add(Diet(key).value)
        except ValueError:
            allowed = ", ".join(d.value for d in Diet)
            raise QueryError("diet", f"unknown diet {item!r}; one of: {allowed}") from None
    if max_time is not None and not 0 <= max_time <= 7 * 24 * 60:
        raise QueryError("max_time", "max_time is minutes, from 0 to 10080")
    if said.max_time is not None:
        max_time = said.max_time if max_time is None else min(max_time, said.max_time)
    if limit is None:
        limit = DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"limit is from 1 to {MAX_LIMIT}")
    if sort is None or sort == "":
        resolved: Sort = "relevance" if text else "max_used"
    elif sort in SORTS:
        resolved = sort
    else:
        raise QueryError("sort", f"unknown sort {sort!r}; one of: {', '.join(SORTS)}")
    if cuisine is not None and len(cuisine) > 60:
        raise QueryError("cuisine", "cuisine is longer than 60 characters")
    offset = decode_cursor(cursor) if cursor else 0
    return SearchQuery(
        text=text,
        have=have_foods,
        exclude=tuple(sorted(set(canonical_foods(exclude_items, vocab)) | said.exclude)),
        diets=tuple(sorted(diets)),
        max_time=max_time,
        cuisine=normalise_text(cuisine) or None if cuisine else None,
        sort=resolved,
        limit=limit,
        offset=offset,
    )

"""The ranked recipe search: one PostgreSQL statement per query, and the response it makes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import asyncpg
import orjson

from ._foods import FoodVocabulary
from ._query import SearchQuery

CacheState = Literal["hit", "miss", "bypass"]
RefreshStatus = Literal["refreshing", "complete"]

# Misspelt words are corrected to the nearest known word (trigram similarity, threshold 0.3).
_WORDS_CTE = """
words AS (
    SELECT coalesce(
        (SELECT w.word FROM search_words w WHERE w.word = t.tok),
        (SELECT w.word FROM search_words w WHERE w.word % t.tok
         ORDER BY w.word <-> t.tok, w.word LIMIT 1)
    ) AS word
    FROM unnest($1::text[]) WITH ORDINALITY AS t(tok, n)
    ORDER BY t.n
),
terms AS (
    SELECT coalesce(string_agg(word, ' '), '') AS text FROM words
),
tsq AS (
    SELECT plainto_tsquery('english', text) AS q_and,
           replace(plainto_tsquery('english', text)::text, ' & ', ' | ')::tsquery AS q_or,
           text
    FROM terms
)"""

_COLUMNS = "r.id, r.title, r.cuisine, r.course, r.total_time_min, r.diets, r.foods"


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    results: list[dict[str, Any]]
    corrected: str | None


def have_kinds(query: SearchQuery, vocab: FoodVocabulary) -> list[str]:
    """Every food the user's foods cover: having cheddar covers a recipe that asks for cheese."""
    covered: set[str] = set()
    for food in query.have:
        covered |= vocab.kinds(food) if food in vocab else {food}
    return sorted(covered)


def build_sql(query: SearchQuery) -> str:
    """The statement for this shape of query: only the filters it uses, so plans stay sharp.

    Parameters: $1 words, $2 foods covered by `have`, $3 exclude, $4 diets, $5 max_time,
    $6 cuisine, $7 limit, $8 offset.
    """
    filters = []
    if query.exclude:
        filters.append("NOT (r.food_closure && $3::text[])")
    if query.diets:
        filters.append("r.diets @> $4::text[]")
    if query.max_time is not None:
        filters.append("r.total_time_min <= $5::int")
    if query.cuisine:
        filters.append("r.cuisine_key = $6::text")
    where = "".join(f" AND {f}" for f in filters)
    has_text, has_have = bool(query.text), bool(query.have)

    coverage = (
        "cardinality(ARRAY(SELECT f FROM unnest(r.foods) f WHERE f = ANY($2::text[])))"
        if has_have
        else "0"
    )
    if has_text:
        text_rank = (
            "(ts_rank_cd(r.document, {q}, 32) * 0.6 + similarity(r.title_key, tsq.text) * 0.4)"
        )
        matched = f"""
and_hits AS MATERIALIZED (
    SELECT {_COLUMNS}, {text_rank.format(q="tsq.q_and")} AS text_score, {coverage} AS used_n
    FROM recipes r, tsq WHERE r.document @@ tsq.q_and{where}
),
or_hits AS (
    SELECT {_COLUMNS}, {text_rank.format(q="tsq.q_or")} * 0.5 AS text_score, {coverage} AS used_n
    FROM recipes r, tsq
    WHERE NOT EXISTS (SELECT 1 FROM and_hits) AND r.document @@ tsq.q_or{where}
),
hits AS (SELECT * FROM and_hits UNION ALL SELECT * FROM or_hits)"""
        head = f"WITH {_WORDS_CTE},{matched}"
    else:
        head = f"""WITH tsq AS (SELECT ''::text AS text),
hits AS (
    SELECT {_COLUMNS}, 0::real AS text_score, {coverage} AS used_n
    FROM recipes r WHERE r.foods && $2::text[]{where}
)"""
    if has_have:
        coverage_ratio = "(h.used_n::real / greatest(cardinality(h.foods), 1))"
        score = f"(h.text_score + 0.3 * {coverage_ratio})" if has_text else coverage_ratio
        missing_n = "(cardinality(h.foods) - h.used_n)"
    else:
        score, missing_n = "h.text_score", ""
    if query.sort == "fewest_missing" and has_have:
        order = f"{missing_n} ASC, h.used_n DESC, score DESC, h.id"
    elif has_have:
        order = f"score DESC, {missing_n} ASC, h.id"
    else:
        order = "score DESC, h.id"
    # Every parameter is typed here, whether or not this shape of query uses it.
    params = "params AS (SELECT $1::text[], $2::text[], $3::text[], $4::text[], $5::int, $6::text)"
    return f"""{head.replace("WITH ", f"WITH {params},", 1)}
SELECT h.id, h.title, h.cuisine, h.course, h.total_time_min, h.diets, h.foods,
       {score}::real AS score, count(*) OVER () AS total,
       (SELECT text FROM tsq) AS corrected
FROM hits h
ORDER BY {order}
LIMIT $7::int OFFSET $8::int"""


async def search_recipes(
    conn: asyncpg.Pool | asyncpg.Connection[Any], query: SearchQuery, vocab: FoodVocabulary
) -> SearchPage:
    covered = have_kinds(query, vocab)
    rows = await conn.fetch(
        build_sql(query),
        query.words,
        covered,
        list(query.exclude),
        list(query.diets),
        query.max_time,
        query.cuisine,
        query.limit,
        query.offset,
    )
    covered_set = set(covered)
    results: list[dict[str, Any]] = []
    for row in rows:
        item: dict[str, Any] = {
            "id": row["id"],
            "title": row["title"],
            "cuisine": row["cuisine"],
            "course": row["course"],
            "total_time_min": row["total_time_min"],
            "diets": row["diets"],
            "score": round(float(row["score"]), 4),
        }
        if query.have:
            foods = row["foods"]
            item["used"] = [f for f in foods if f in covered_set]
            item["missing"] = [f for f in foods if f not in covered_set]
        results.append(item)
    total = rows[0]["total"] if rows else await _count_only(conn, query, covered)
    corrected = rows[0]["corrected"] if rows else None
    return SearchPage(total=total, results=results, corrected=corrected or None)


async def _count_only(
    conn: asyncpg.Pool | asyncpg.Connection[Any], query: SearchQuery, covered: list[str]
) -> int:
    """Past the last page there are no rows to carry the total: count it alone."""
    if query.offset == 0:
        return 0
    first = replace(query, offset=0, limit=1)
    row = await conn.fetchrow(
        build_sql(first),
        first.words,
        covered,
        list(first.exclude),
        list(first.diets),
        first.max_time,
        first.cuisine,
        1,
        0,
    )
    return int(row["total"]) if row else 0


def render_search(
    query: SearchQuery,
    page: SearchPage,
    *,
    cache: CacheState,
    status: RefreshStatus = "complete",
    events_url: str | None = None,
) -> bytes:
    """The response bytes. A cached copy is rendered with `cache="hit"` and served as it is."""
    body: dict[str, Any] = {
        "search_id": query.search_id,
        "query": query.as_dict(),
        "cache": cache,
        "status": status,
        "events_url": events_url,
        "total": page.total,
        "results": page.results,
        "next_cursor": query.next_cursor(page.total),
    }
    if page.corrected and page.corrected != query.text:
        body["corrected_q"] = page.corrected
    return orjson.dumps(body)

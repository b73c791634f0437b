"""The ranked recipe search: one PostgreSQL statement per query, and the response it makes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import asyncpg

from ._foods import FoodVocabulary
from ._query import SearchQuery

CacheState = Literal["hit", "miss", "bypass"]
RefreshStatus = Literal["refreshing", "complete"]

# Misspelt words are corrected to the nearest known word (trigram similarity, threshold 0.3).
# `trgm`: the trigrams of the corrected text as integers, as `recipe_search.title_trgm` has them;
# `and_n`: how many nodes (lexemes and operators) `q_and` has, 2k - 1 for k lexemes; `title_q`:
# titles with every trigram of a query word (`recipe_search.title_trgm @@ title_q`).
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
    SELECT q.*, numnode(q.q_and) AS and_n,
           pantry_trgm_ids(q.text) AS trgm, cardinality(pantry_trgm_ids(q.text)) AS trgm_n,
           (SELECT string_agg('(' || array_to_string(pantry_trgm_ids(w.word), '&') || ')', '|')
            FROM words w WHERE numnode(plainto_tsquery('english', w.word)) > 0)::query_int
           AS title_q
    FROM (
        SELECT plainto_tsquery('english', text) AS q_and,
               replace(plainto_tsquery('english', text)::text, ' & ', ' | ')::tsquery AS q_or,
               text
        FROM terms
    ) q
)"""

# Food names as ids (`food_terms`). A name no recipe uses has no id: it covers, or excludes,
# nothing, as it would by name.
_HAVE_CTE = "have AS (SELECT pantry_food_ids($2::text[]) AS ids)"
_EXCLUDED_CTE = "excluded AS (SELECT pantry_food_ids($3::text[]) AS ids)"

# How much a bound adds to be sure to be one: scores are float4, and ts_rank_cd sums float4
# weights.
_SLACK = "1e-5"

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


def _filters(query: SearchQuery) -> str:
    """The filters, on `recipe_search s`."""
    filters = []
    if query.exclude:
        filters.append("NOT (s.closure_ids && (SELECT ids FROM excluded))")
    if query.diets:
        filters.append("s.diets @> $4::text[]")
    if query.max_time is not None:
        filters.append("s.total_time_min <= $5::int")
    if query.cuisine:
        filters.append("s.cuisine_key = $6::text")
    return "".join(f" AND {f}" for f in filters)


def _order(query: SearchQuery, p: str) -> str:
    if query.have and query.sort == "fewest_missing":
        return f"{p}missing ASC, {p}used_n DESC, {p}score DESC, {p}id"
    if query.have:
        return f"{p}score DESC, {p}missing ASC, {p}id"
    return f"{p}score DESC, {p}id"


def build_sql(query: SearchQuery) -> str:
    """The statement for this shape of query: only the filters it uses, so plans stay sharp.

    Parameters: $1 words, $2 foods covered by `have`, $3 exclude, $4 diets, $5 max_time,
    $6 cuisine, $7 limit, $8 offset.

    Matches are found in the narrow `recipe_search` (text) or `recipe_foods` (`have` alone)
    tables; the wide recipe rows are read for the page only. `total` counts every match.
    """
    # Every parameter is typed here, whether or not this shape of query uses it.
    ctes = ["params AS (SELECT $1::text[], $2::text[], $3::text[], $4::text[], $5::int, $6::text)"]
    if query.have:
        ctes.append(_HAVE_CTE)
    if query.exclude:
        ctes.append(_EXCLUDED_CTE)
    ctes.extend(_text_ctes(query) if query.text else _have_ctes(query))
    head = ",\n".join(ctes)
    return f"""WITH {head}
SELECT {_COLUMNS}, p.score, p.total, (SELECT text FROM tsq) AS corrected
FROM page p JOIN recipes r ON r.id = p.id
ORDER BY {_order(query, "p.")}"""


def _have_ctes(query: SearchQuery) -> list[str]:
    """`have` without text: the coverage of every recipe with one of the foods.

    Computed once a row: the OFFSET 0 keeps the subquery from being folded into each use.
    """
    where = _filters(query)
    join = " JOIN recipe_search s ON s.recipe_id = f.recipe_id" if where else ""
    return [
        "tsq AS (SELECT ''::text AS text)",
        f"""hits AS (
    SELECT f.recipe_id AS id, f.food_count, icount(f.food_ids & (SELECT ids FROM have)) AS used_n
    FROM recipe_foods f{join}
    WHERE f.food_ids && (SELECT ids FROM have){where}
    OFFSET 0
)""",
        f"""page AS (
    SELECT h.id, h.used_n, h.food_count - h.used_n AS missing,
           (h.used_n::real / greatest(h.food_count, 1))::real AS score, count(*) OVER () AS total
    FROM hits h
    ORDER BY {_order(query, "")}
    LIMIT $7::int OFFSET $8::int
)""",
    ]


def _text_ctes(query: SearchQuery) -> list[str]:
    """Text, with or without `have`: recipes with every word, or with any when none has every
    word (scored half), by text rank (title > ingredients > description), title similarity and
    coverage.

    The text rank (ts_rank_cd), the costly part, is only computed where it can change the page.
    For one word, or any of several, it is R / (R + 1) of a sum R over the word's positions of
    their weights (A 1, B 0.4, C 0.2), at most k·c / (k·c + 1) for k words in a recipe where no
    word sums more than c (`recipe_search.max_lexeme_weight`); with the rest of the score
    computed exactly (title similarity from trigram ids, coverage) that bounds a match's score.
    A bar comes first: the page's last place among a few likely matches (titles with a query
    word, shortest first), scored for real. Then one pass over the matches counts them all and
    ranks and scores those whose bound reaches the bar; no other can be on the page. The page
    is the one scoring every match gives, ties included. With all of several words the rank is
    bounded by 1 only: it is computed for about every match.
    """
    where = _filters(query)
    has_have = bool(query.have)
    fewest = has_have and query.sort == "fewest_missing"

    def score(rank: str, similarity: str, factor: str, h: str = "h") -> str:
        text = f"({rank} * 0.6 + {similarity} * 0.4){factor}"
        if not has_have:
            return text
        return f"({text} + 0.3 * ({h}.used_n::real / greatest({h}.food_count, 1)))"

    def similarity(h: str) -> str:
        """pg_trgm's similarity(title_key, text), exactly, from `common` trigrams."""
        return (
            f"CASE WHEN {h}.title_n = 0 OR tsq.trgm_n = 0 THEN 0::real"
            f" ELSE {h}.common::real / ({h}.title_n + tsq.trgm_n - {h}.common)::real END"
        )

    def similarity_bound(h: str) -> str:
        """Its bound from the trigram counts alone."""
        return f"least({h}.title_n, tsq.trgm_n)::float8 / greatest({h}.title_n, tsq.trgm_n, 1)"

    # What bounds the rank: the largest weight sum of a lexeme, or of a lexeme's positions out of
    # the title when no query word is in the title.
    cap = (
        "CASE WHEN s.title_lexemes @@ tsq.q_or THEN s.max_lexeme_weight"
        " ELSE s.max_body_lexeme_weight END"
    )
    used, coverage = "", ""
    if has_have:
        used = ", icount(s.food_ids & (SELECT ids FROM have)) AS used_n"
        coverage = ", s.used_n, s.food_count, s.missing"
    # Computed once a row (OFFSET 0 keeps them from being folded into each use).
    source = f"""(
                SELECT c.*{", c.food_count - c.used_n AS missing" if has_have else ""} FROM (
                    SELECT s.*, {cap} AS cap{used}
                    FROM recipe_search s, tsq
                    WHERE {{guard}}s.document @@ tsq.{{q}}{where}
                    OFFSET 0
                ) c
            ) s, tsq"""
    kept = ", h.used_n, h.missing" if has_have else ""
    n = "$7::int + $8::int"
    if fewest:
        seed_order, bar_order = "missing, -used_n, title_n", "missing, used_n DESC, score DESC"
    else:
        seed_order, bar_order = "title_n", "score DESC"
    columns = ["id", "score", "used_n", "missing"] if has_have else ["id", "score"]
    ctes = [_WORDS_CTE.strip()]
    branches = [
        # q, factor (OR matches score half), rank bound, guard
        ("and", "q_and", "", "CASE WHEN tsq.and_n = 1 THEN {c} / ({c} + 1) ELSE 1 END", ""),
        # Only when no recipe has every one of several words: so no OR match has all k.
        (
            "or",
            "q_or",
            " * 0.5",
            "(tsq.and_n / 2) * {c} / ((tsq.and_n / 2) * {c} + 1)",
            "tsq.and_n > 1 AND (SELECT total FROM and_pass) = 0 AND ",
        ),
    ]
    for name, q, factor, rank_max, guard in branches:
        exact = f"({score(f'ts_rank_cd(h.document, tsq.{q}, 32)', similarity('h'), factor)})::real"
        bar = f"(SELECT score FROM {name}_bar)"
        no_bar = f"NOT EXISTS (SELECT 1 FROM {name}_bar)"
        # Which matches may reach the page, from what costs least to what costs most: coverage
        # (sorted by fewest missing), the score with similarity bounded by trigram counts
        # (before the trigrams are compared), the score with the rank alone bounded.
        loose = (
            f"{score(rank_max.format(c='s.cap'), similarity_bound('s'), factor, 's')}"
            f" + {_SLACK} >= {bar}"
        )
        bound = f"{score(rank_max.format(c='h.cap'), similarity('h'), factor)} + {_SLACK} >= {bar}"
        if fewest:
            best = f"(SELECT missing, -used_n FROM {name}_bar)"
            compare = (
                f"{no_bar} OR (s.missing, -s.used_n) < {best}"
                f" OR ((s.missing, -s.used_n) = {best} AND {loose})"
            )
            final = f"{no_bar} OR (h.missing, -h.used_n) < {best} OR {bound}"
        else:
            compare = f"{no_bar} OR {loose}"
            final = f"{no_bar} OR {bound}"
        trigrams = "icount(s.title_trgm & tsq.trgm)"
        matches = f"""SELECT s.recipe_id AS id, s.document, s.title_n, s.cap{
            coverage
        }, {{common}} AS common
            FROM {source.format(guard=guard, q=q)}
            OFFSET 0"""
        # The seed: matches with a query word in the title (GIN on title_trgm).
        seed = matches.format(common=trigrams).replace(
            "FROM recipe_search s,",
            "FROM (SELECT * FROM recipe_search s WHERE s.title_trgm @@ (SELECT title_q FROM tsq)"
            " OFFSET 0) s,",
        )
        aggregates = ",\n           ".join(
            f"array_agg(h.{c}) FILTER (WHERE h.score IS NOT NULL) AS {c}s" for c in columns
        )
        ctes += [
            f"""{name}_seed AS MATERIALIZED (
    SELECT h.id{kept}, {exact} AS score
    FROM (
        SELECT h.* FROM (
            {seed}
        ) h
        ORDER BY {seed_order} LIMIT greatest(200, 2 * ({n}))
    ) h, tsq
)""",
            # Too few of those (filters, say): any matches, then.
            f"""{name}_seed_any AS (
    SELECT h.id{kept}, {exact} AS score
    FROM (
        {matches.format(common=trigrams)}
        LIMIT greatest(1000, 10 * ({n}))
    ) h, tsq
    WHERE (SELECT count(*) FROM {name}_seed) < {n}
)""",
            # Each seed's page's last place is a bar (the page's own last place is no worse);
            # the best one is kept.
            f"""{name}_bar AS (
    SELECT * FROM (
        (SELECT * FROM {name}_seed ORDER BY {bar_order} OFFSET {n} - 1 LIMIT 1)
        UNION ALL
        (SELECT * FROM {name}_seed_any ORDER BY {bar_order} OFFSET {n} - 1 LIMIT 1)
    ) b ORDER BY {bar_order} LIMIT 1
)""",
            f"""{name}_pass AS MATERIALIZED (
    SELECT count(*) AS total,
           {aggregates}
    FROM (
        SELECT h.id{kept}, CASE WHEN {final} THEN {exact} END AS score
        FROM (
            {matches.format(common=f"CASE WHEN {compare} THEN {trigrams} END")}
        ) h, tsq
        OFFSET 0
    ) h
)""",
        ]
    names = ", ".join(columns)
    unnest = ", ".join(f"p.{c}s" for c in columns)
    ctes += [
        f"""hits AS (
    SELECT u.* FROM and_pass p, unnest({unnest}) AS u({names})
    UNION ALL
    SELECT u.* FROM or_pass p, unnest({unnest}) AS u({names})
)""",
        f"""page AS (
    SELECT h.*, (SELECT total FROM and_pass) + (SELECT total FROM or_pass) AS total
    FROM hits h
    ORDER BY {_order(query, "")}
    LIMIT $7::int OFFSET $8::int
)""",
    ]
    return ctes


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

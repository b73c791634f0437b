"""The ranked recipe search: one PostgreSQL statement per query, and the response it makes."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import asyncpg

from ._foods import FoodVocabulary
from ._query import SearchQuery

# `delta`: a cached answer brought up to date with the recipes stored since (`catch_up`).
CacheState = Literal["hit", "delta", "miss", "bypass"]
RefreshStatus = Literal["refreshing", "complete"]

# Misspelt words are corrected to the nearest known word (trigram similarity, threshold 0.3);
# a stop word or a word of the language (`dictionary_words`) is no typo and stays as typed.
# `trgm`: the trigrams of the corrected text as integers, as `recipe_search.title_trgm` has them;
# `and_n`: how many nodes (lexemes and operators) `q_and` has, 2k - 1 for k lexemes; `*_terms`:
# how many of them a match of each branch can have at most, for the rank bound (NULL: unbounded).
_WORDS_CTE = """
words AS (
    SELECT coalesce(
        (SELECT w.word FROM search_words w WHERE w.word = t.tok),
        CASE WHEN numnode(plainto_tsquery('english', t.tok)) = 0
                  OR EXISTS (SELECT FROM dictionary_words d WHERE d.word = t.tok) THEN t.tok END,
        (SELECT w.word FROM search_words w WHERE w.word % t.tok
         ORDER BY w.word <-> t.tok, w.word LIMIT 1)
    ) AS word
    FROM unnest((SELECT words FROM params)) WITH ORDINALITY AS t(tok, n)
    ORDER BY t.n
),
terms AS (
    SELECT coalesce(string_agg(word, ' '), '') AS text FROM words
),
tsq AS (
    SELECT q.*, numnode(q.q_and) AS and_n,
           CASE WHEN numnode(q.q_and) = 1 THEN 1 END AS and_terms,
           numnode(q.q_and) / 2 AS or_terms,
           pantry_trgm_ids(q.text) AS trgm, cardinality(pantry_trgm_ids(q.text)) AS trgm_n
    FROM (
        SELECT plainto_tsquery('english', text) AS q_and,
               replace(plainto_tsquery('english', text)::text, ' & ', ' | ')::tsquery AS q_or,
               text
        FROM terms
    ) q
)"""

# Every parameter is typed here, whether or not this shape of query uses it. The statement
# uses them through this CTE (each an InitPlan), never as $n: its plan is then the same for any
# values, and PostgreSQL keeps the generic one rather than planning every execution anew.
_PARAMS_CTE = """params AS (
    SELECT $1::text[] AS words, $2::text[] AS covered, $3::text[] AS excluded,
           $4::text[] AS diets, $5::int AS max_time, $6::text AS cuisine,
           $7::int AS lim, $8::int AS off, $9::text[] AS single, $10::text[] AS grouped,
           $11::int[] AS group_of
)"""

# Catching up (`catch_up`): $12 the cached page's recipes, $13 the snapshot its search saw.
# `delta`: the recipes written since, seen by the written_by index from the snapshot's xmin;
# `changed` if one of them was there already (an update, not an arrival).
_CATCH_UP_CTES = """since AS (SELECT $12::bigint[] AS kept, $13::text::pg_snapshot AS snapshot),
delta AS (
    SELECT coalesce(array_agg(d.recipe_id), '{}') AS ids,
           coalesce(bool_or(pg_visible_in_snapshot(d.created_by, x.snapshot)), false) AS changed
    FROM recipe_search d, since x
    WHERE d.written_by >= pg_snapshot_xmin((SELECT snapshot FROM since))
      AND NOT pg_visible_in_snapshot(d.written_by, x.snapshot)
),
among AS (SELECT (SELECT kept FROM since) || (SELECT ids FROM delta) AS ids)"""
# (The cast makes ANY take the array, not the subquery's rows.)
_IN_AMONG = "recipe_id = ANY((SELECT ids FROM among)::bigint[])"
_AMONG = f"(SELECT * FROM recipe_search WHERE {_IN_AMONG} OFFSET 0)"


# Food names as ids (`food_terms`). A name no recipe uses has no id: it covers, or excludes,
# nothing, as it would by name.
def _have_cte(groups: int) -> str:
    """`have`: the ids of every food covered, of those covered alone (`single`), and of each
    food of the user's that stands for several (`g1`, `g2`...: chicken and its thighs)."""
    columns = ["pantry_food_ids(covered) AS ids", "pantry_food_ids(single) AS single"]
    columns += [
        "pantry_food_ids(ARRAY(SELECT u.name FROM unnest(grouped, group_of) AS u(name, g)"
        f" WHERE u.g = {i})) AS g{i}"
        for i in range(1, groups + 1)
    ]
    return f"have AS (SELECT {', '.join(columns)} FROM params)"


def _used(groups: int, alias: str) -> str:
    """`used_n`, how many of the user's foods a recipe (`alias`) uses: each food once, however
    many of the recipe's foods it stands for; and `covered_n`, how many of the recipe's foods
    the user's cover (the rest are missing)."""
    covered = f"icount({alias}.food_ids & (SELECT ids FROM have))"
    if not groups:
        return f"{covered} AS used_n, {covered} AS covered_n"
    used = f"icount({alias}.food_ids & (SELECT single FROM have))"
    for i in range(1, groups + 1):
        used += f" + ({alias}.food_ids && (SELECT g{i} FROM have))::int"
    return f"{used} AS used_n, {covered} AS covered_n"


_EXCLUDED_CTE = "excluded AS (SELECT pantry_food_ids(excluded) AS ids FROM params)"

# How much a bound adds to be sure to be one: scores are float4, and ts_rank_cd sums float4
# weights.
_SLACK = "1e-5"

_COLUMNS = "r.id, r.title, r.cuisine, r.course, r.total_time_min, r.diets, r.foods"


@dataclass(frozen=True, slots=True)
class SearchPage:
    total: int
    results: list[dict[str, Any]]
    corrected: str | None
    #: The snapshot its statement saw (`pg_current_snapshot()`), and for text whether the
    #: matches have every word: what `catch_up` needs to bring it up to date.
    snapshot: str | None = None
    all_words: bool | None = None


@dataclass(frozen=True, slots=True)
class Basis:
    """What a cached page was computed from: the snapshot, its recipes in order, its total."""

    snapshot: str
    ids: list[int]
    total: int
    all_words: bool | None

    @classmethod
    def of(cls, page: SearchPage) -> Basis | None:
        """None when the page cannot be caught up: no snapshot, or no recipes to anchor it."""
        if page.snapshot is None or not page.results:
            return None
        ids = [int(r["id"]) for r in page.results]
        return cls(page.snapshot, ids, page.total, page.all_words)


def have_kinds(query: SearchQuery, vocab: FoodVocabulary) -> list[str]:
    """Every food the user's foods cover: having cheddar covers a recipe that asks for cheese,
    having chicken one that asks for chicken thighs (`FoodVocabulary.covers`)."""
    return sorted(stand_ins(query, vocab))


def have_groups(query: SearchQuery, vocab: FoodVocabulary) -> list[list[str]]:
    """The user's foods that stand for kinds of them, each with those kinds (a recipe with
    thighs and drumsticks uses one food of the user's, chicken). Ancestors are not grouped:
    having cheddar for a recipe with cheese and cheddar counts both."""
    groups = []
    for food in query.have:
        below = vocab.stands_for(food)
        if below:
            groups.append([food, *below])
    return groups


def sql_args(query: SearchQuery, vocab: FoodVocabulary) -> list[Any]:
    """The parameters of `build_sql(query, groups)`, in order."""
    covered = have_kinds(query, vocab)
    groups = have_groups(query, vocab)
    grouped = [name for group in groups for name in group]
    return [
        query.words,
        covered,
        list(query.exclude),
        list(query.diets),
        query.max_time,
        query.cuisine,
        query.limit,
        query.offset,
        sorted(set(covered) - set(grouped)),
        grouped,
        [i for i, group in enumerate(groups, 1) for _ in group],
    ]


def stand_ins(query: SearchQuery, vocab: FoodVocabulary) -> dict[str, str]:
    """Each food the user's foods cover -> the food of theirs that covers it (itself first)."""
    out: dict[str, str] = {food: food for food in query.have}
    for food in query.have:
        for covered in sorted(vocab.covers(food)) if food in vocab else ():
            out.setdefault(covered, food)
    return out


def _filters(query: SearchQuery, alias: str = "s") -> str:
    """The filters, on `recipe_search` as `alias`."""
    filters = []
    if query.exclude:
        filters.append(f"NOT ({alias}.closure_ids && (SELECT ids FROM excluded))")
    if query.diets:
        filters.append(f"{alias}.diets @> (SELECT diets FROM params)")
    if query.max_time is not None:
        filters.append(f"{alias}.total_time_min <= (SELECT max_time FROM params)")
    if query.cuisine:
        filters.append(f"{alias}.cuisine_key = (SELECT cuisine FROM params)")
    return "".join(f" AND {f}" for f in filters)


def _order(query: SearchQuery, p: str) -> str:
    if query.have and query.sort == "fewest_missing":
        return f"{p}missing ASC, {p}used_n DESC, {p}score DESC, {p}id"
    if query.have and query.sort == "max_used":
        return f"{p}used_n DESC, {p}missing ASC, {p}score DESC, {p}id"
    if query.have:
        return f"{p}score DESC, {p}missing ASC, {p}id"
    return f"{p}score DESC, {p}id"


def build_sql(query: SearchQuery, groups: int = 0, *, catching_up: bool = False) -> str:
    """The statement for this shape of query: only the filters it uses, so plans stay sharp.

    Parameters: $1 words, $2 foods covered by `have`, $3 exclude, $4 diets, $5 max_time,
    $6 cuisine, $7 limit, $8 offset, $9 foods covered alone, $10 foods of `groups` groups
    (the user's foods that stand for several), $11 their group numbers (`sql_args`).

    Matches are found in the narrow `recipe_search` (text) or `recipe_foods` (`have` alone)
    tables; the wide recipe rows are read for the page only. `total` counts every match.

    `catching_up`: the same search among the recipes $12 and those written since the snapshot
    $13 only (`catch_up`).
    """
    ctes = [_PARAMS_CTE]
    if catching_up:
        ctes.append(_CATCH_UP_CTES)
    if query.have:
        ctes.append(_have_cte(groups))
    if query.exclude:
        ctes.append(_EXCLUDED_CTE)
    table = _AMONG if catching_up else "recipe_search"
    if query.text:
        ctes.extend(_text_ctes(query, groups, table))
        all_words = "(SELECT total FROM and_pass) > 0"
    else:
        ctes.extend(_have_ctes(query, groups, catching_up))
        all_words = "NULL::boolean"
    changed = "(SELECT changed FROM delta)" if catching_up else "false"
    head = ",\n".join(ctes)
    return f"""WITH {head}
SELECT {_COLUMNS}, p.score, p.total, (SELECT text FROM tsq) AS corrected,
       pg_current_snapshot()::text AS snapshot, {all_words} AS all_words, {changed} AS changed
FROM page p JOIN recipes r ON r.id = p.id
ORDER BY {_order(query, "p.")}"""


def _have_ctes(query: SearchQuery, groups: int, catching_up: bool = False) -> list[str]:
    """`have` without text: the coverage of every recipe with one of the foods.

    Computed once a row: the OFFSET 0 keeps the subquery from being folded into each use.
    """
    where = _filters(query)
    if catching_up:
        where += f" AND f.{_IN_AMONG}"
    join = " JOIN recipe_search s ON s.recipe_id = f.recipe_id" if _filters(query) else ""
    return [
        "tsq AS (SELECT ''::text AS text)",
        f"""hits AS (
    SELECT f.recipe_id AS id, f.food_count, {_used(groups, "f")}
    FROM recipe_foods f{join}
    WHERE f.food_ids && (SELECT ids FROM have){where}
    OFFSET 0
)""",
        f"""page AS (
    SELECT h.id, h.used_n, h.food_count - h.covered_n AS missing,
           (h.covered_n::real / greatest(h.food_count, 1))::real AS score,
           count(*) OVER () AS total
    FROM hits h
    ORDER BY {_order(query, "")}
    LIMIT (SELECT lim FROM params) OFFSET (SELECT off FROM params)
)""",
    ]


@dataclass(frozen=True, slots=True)
class _Branch:
    name: str
    q: str  # its tsquery, a column of `tsq`
    half: bool  # whether its text score is halved
    # How many query lexemes a match can have at most, for the rank bound (NULL: unbounded).
    terms: str
    guard: str  # when it runs at all


_BRANCHES = (
    # Every word: bounded for one lexeme (each position a cover), not for several.
    _Branch("and", "q_and", False, "tsq.and_terms", ""),
    # Any word, when there are several (k lexemes, 2k - 1 nodes) and no match has all of them:
    # k - 1 at most, each position a cover.
    _Branch(
        "or",
        "q_or",
        True,
        "tsq.or_terms",
        "tsq.and_n > 1 AND (SELECT total FROM and_pass) = 0 AND ",
    ),
)


def _text_ctes(query: SearchQuery, groups: int, table: str = "recipe_search") -> list[str]:
    """Text, with or without `have`: recipes with every word, or with any when none has every
    word (scored half), by text rank (title > ingredients > description), title similarity and
    coverage.

    ts_rank_cd, the costly part, is computed only for the matches that can reach the page. For
    k lexemes in a match, each position its own cover, the rank is R / (R + 1) with R the sum
    of their positions' weights (A 1, B 0.4, C 0.2): at most k·c / (k·c + 1) where c is the
    largest such sum of a lexeme of the recipe, or of its positions out of the title when no
    query word is in the title (`max_rank`, `max_body_rank`: c / (c + 1)). With that and the
    exact rest of the score (title similarity from trigram ids, coverage), each match has a
    bound.

    A bar comes first: the page's last place among likely matches (a query word in the title,
    shortest titles first), scored for real; the page's own last place is no worse. One pass
    over the matches counts them all and scores those whose bound, for a title without a query
    word, reaches the bar, cheapest check first (coverage, the similarity that takes against
    what the trigram counts allow, then against the trigrams); those with a query word in the
    title are checked with their own bound. The page is the one scoring every match gives, ties
    included. With every one of several words, the rank is bounded by 1 only; with no bar (too
    few likely matches), every match is scored.

    (The pool prepares statements up to 64 kB once, `create_pool`: asyncpg's default of 15 kB
    is less than the richest shapes take.)
    """
    has_have = bool(query.have)
    # Pantry orders (fewest missing, most used) come before the score: as a row compared.
    pantry = has_have and query.sort in ("fewest_missing", "max_used")
    n = "(SELECT lim + off FROM params)"
    missing = "h.food_count - h.covered_n"
    if query.sort == "max_used":
        key, bar_key = f"(-h.used_n, {missing})", "-used_n, missing"
    else:
        key, bar_key = f"({missing}, -h.used_n)", "missing, -used_n"
    coverage = "(h.covered_n::real / greatest(h.food_count, 1))"
    common = "icount(h.title_trgm & tsq.trgm)"
    similarity = (
        "CASE WHEN h.title_n = 0 OR tsq.trgm_n = 0 THEN 0::real"
        f" ELSE {common}::real / (h.title_n + tsq.trgm_n - {common})::real END"
    )
    kept = f", h.used_n, {missing} AS missing" if has_have else ""
    if pantry:
        seed_order = f"{key.strip('()')}, h.title_n"
        bar_order = f"{bar_key}, score DESC"
    else:
        seed_order, bar_order = "h.title_n", "score DESC"
    columns = ["id", "score", "used_n", "missing"] if has_have else ["id", "score"]
    ctes = [_WORDS_CTE.strip()]
    for b in _BRANCHES:
        name = b.name

        def matches(base: str, join: str = "", b: _Branch = b) -> str:
            """The matches among `base` (a recipe_search) as `h`, with `tsq`: a FROM ... WHERE."""
            if not has_have:
                where = _filters(query, "h")
                return f"{base} h, tsq{join} WHERE {b.guard}h.document @@ tsq.{b.q}{where}"
            # Coverage once a row (OFFSET 0 keeps it from being folded into each use of it).
            return (
                f"(SELECT s.*, {_used(groups, 's')}"
                f" FROM {base} s, tsq WHERE {b.guard}s.document @@ tsq.{b.q}"
                f"{_filters(query)} OFFSET 0) h, tsq{join} WHERE true"
            )

        factor = " * 0.5" if b.half else ""
        text = f"(ts_rank_cd(h.document, tsq.{b.q}, 32) * 0.6 + {similarity} * 0.4){factor}"
        exact = f"({text} + 0.3 * {coverage})::real" if has_have else f"({text})::real"

        def check(rank: str, b: _Branch = b, name: str = name) -> str:
            """Whether a match can reach the bar, its rank at most `rank` (c / (c + 1)).

            It takes a title similarity of s = need - 1.5 R (- coverage), R the rank bound for
            its terms; similarity is at most min / max of the trigram counts, and common /
            (title + text - common) >= s when common (1 + s) >= s (title + text), taken a
            little short for float4 rounding.
            """
            bound = (
                f"CASE {b.terms} WHEN 1 THEN {rank}"
                f" ELSE coalesce({b.terms} * {rank} / ({b.terms} * {rank} + 1 - {rank}), 1) END"
            )
            s = f"(x.need - 1.5 * {bound}"
            s += f" - {1.5 if b.half else 0.75} * {coverage})" if has_have else ")"
            cases = ["WHEN x.need IS NULL THEN true"]
            if pantry:
                best = f"(SELECT {bar_key} FROM {name}_bar)"
                cases += [f"WHEN {key} < {best} THEN true", f"WHEN {key} > {best} THEN false"]
            cases += [
                f"WHEN least(h.title_n, tsq.trgm_n) < {s} * greatest(h.title_n, tsq.trgm_n)"
                " THEN false",
                f"ELSE {s} <= 0 OR {common} * (1 + {s}) >= {s} * (h.title_n + tsq.trgm_n) - 1e-4",
            ]
            return f"CASE {' '.join(cases)} END"

        # The matches with the query words (the branch's way) in their title (GIN).
        titles = (
            f"(SELECT * FROM {table} s WHERE s.title_lexemes @@ (SELECT {b.q} FROM tsq) OFFSET 0)"
        )
        need = f"(score - {_SLACK}) / {0.2 if b.half else 0.4}"
        aggregates = ", ".join(
            f"array_agg(h.{c}) FILTER (WHERE h.score IS NOT NULL) AS {c}s" for c in columns
        )
        ctes += [
            # Likely matches (a query word in the title, shortest titles first), scored: the
            # page's last place among them is a bar, the page's own is no worse.
            f"{name}_seeds AS MATERIALIZED (\n    SELECT h.recipe_id AS id{kept}, {exact} AS score"
            f" FROM (SELECT h.* FROM {matches(titles)}"
            f" ORDER BY {seed_order} LIMIT greatest(200, 2 * {n})) h, tsq\n)",
            f"{name}_bar AS (\n    SELECT * FROM {name}_seeds"
            f" ORDER BY {bar_order} OFFSET {n} - 1 LIMIT 1\n)",
            # What it takes of the text score, as similarity before the rank's part of it.
            f"{name}_need AS (\n    SELECT (SELECT {need} FROM {name}_bar) AS need\n)",
            # Every match counted, and scored if it can reach the page with the rank bound for
            # a title without a query word (most titles).
            f"{name}_pass AS MATERIALIZED (\n    SELECT count(*) AS total, {aggregates} FROM ("
            f"SELECT h.recipe_id AS id{kept}, CASE WHEN {check('h.max_body_rank')}"
            f" THEN {exact} END AS score FROM {matches(table, f', {name}_need x')}"
            " OFFSET 0) h\n)",
            # And those with a query word in the title, with their own bound (again, some).
            f"{name}_titled AS (\n    SELECT h.recipe_id AS id{kept}, {exact} AS score"
            f" FROM {matches(titles, f', {name}_need x')} AND {check('h.max_rank')}\n)",
        ]
    names = ", ".join(columns)
    arrays = ", ".join(f"p.{c}s" for c in columns)
    ctes += [
        f"""hits AS (
    SELECT DISTINCT ON (id) * FROM (
        SELECT u.* FROM and_pass p, unnest({arrays}) AS u({names})
        UNION ALL SELECT u.* FROM or_pass p, unnest({arrays}) AS u({names})
        UNION ALL SELECT {names} FROM and_titled UNION ALL SELECT {names} FROM or_titled
    ) h ORDER BY id
)""",
        f"""page AS (
    SELECT h.*, (SELECT total FROM and_pass) + (SELECT total FROM or_pass) AS total
    FROM hits h
    ORDER BY {_order(query, "")}
    LIMIT (SELECT lim FROM params) OFFSET (SELECT off FROM params)
)""",
    ]
    return ctes


async def search_recipes(
    conn: asyncpg.Pool | asyncpg.Connection[Any], query: SearchQuery, vocab: FoodVocabulary
) -> SearchPage:
    groups = len(have_groups(query, vocab))
    rows = await conn.fetch(build_sql(query, groups), *sql_args(query, vocab))
    page = _page(query, vocab, rows)
    if rows:
        return page
    return replace(page, total=await _count_only(conn, query, vocab))


async def catch_up(
    conn: asyncpg.Pool | asyncpg.Connection[Any],
    query: SearchQuery,
    vocab: FoodVocabulary,
    basis: Basis,
) -> SearchPage | None:
    """The page `basis` was, brought up to date: the same search among its recipes and those
    written since its snapshot only, a few rows instead of every match. Exact, because a
    recipe's score and order depend on it and the query alone: a new match either enters
    the page or counts in the total.

    None when only a full search can tell: a recipe written since was there before (it
    changed, and may have left or entered anywhere), text whose matches change from some
    words to every word, or a later page that a new recipe would push along.
    """
    first = replace(query, offset=0)
    groups = len(have_groups(first, vocab))
    args = [*sql_args(first, vocab), basis.ids, basis.snapshot]
    rows = await conn.fetch(build_sql(first, groups, catching_up=True), *args)
    if not rows or rows[0]["changed"] or rows[0]["all_words"] is not basis.all_words:
        return None
    if query.offset and rows[0]["id"] != basis.ids[0]:
        return None
    page = _page(query, vocab, rows)
    return replace(page, total=basis.total + page.total - len(basis.ids))


def _page(query: SearchQuery, vocab: FoodVocabulary, rows: list[asyncpg.Record]) -> SearchPage:
    standing = stand_ins(query, vocab)
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
            used = [f for f in foods if f in standing]
            item["used"] = used
            item["substitutes"] = [{"food": f, "as": standing[f]} for f in used if standing[f] != f]
            item["missing"] = [f for f in foods if f not in standing]
            item["missing_count"] = len(item["missing"])
        results.append(item)
    if not rows:
        return SearchPage(total=0, results=[], corrected=None)
    first = rows[0]
    return SearchPage(
        total=first["total"],
        results=results,
        corrected=first["corrected"] or None,
        snapshot=first["snapshot"],
        all_words=first["all_words"],
    )


async def _count_only(
    conn: asyncpg.Pool | asyncpg.Connection[Any], query: SearchQuery, vocab: FoodVocabulary
) -> int:
    """Past the last page there are no rows to carry the total: count it alone."""
    if query.offset == 0:
        return 0
    first = replace(query, offset=0, limit=1)
    groups = len(have_groups(first, vocab))
    row = await conn.fetchrow(build_sql(first, groups), *sql_args(first, vocab))
    return int(row["total"]) if row else 0

"""Narrow search tables: the text document, title trigrams and food ids, apart from recipes.

- `food_terms`: an integer id for every food name recipes use in `foods` or `food_closure`
  (known to the vocabulary or not), for intarray (`&&`, `&`, `icount`).
- `recipe_search`: what text searches read of each recipe: the weighted document (moved here
  from `recipes`) with bounds of its text rank, the title's trigrams as integers, food ids
  and the filter columns. A match costs one narrow row instead of a wide recipe row.
- `recipe_foods`: food ids and the food count alone, for `have` searches without text, which
  look at every recipe with one of the foods.

Every writer of recipes writes `food_terms`, `recipe_search` and `recipe_foods` with the recipe.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from pantry_common._migrations import execute_script

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


UPGRADE = r"""
-- A trusted extension (PostgreSQL 13+): the owner of the database may create it.
CREATE EXTENSION IF NOT EXISTS intarray;

-- The trigrams pg_trgm makes of a text (show_trgm), each as the integer of its three bytes
-- (show_trgm prints those that are not plain characters as hex). similarity(a, b) is then
-- icount(ta & tb) / (#ta + #tb - icount(ta & tb)) in float4, exactly as pg_trgm computes it.
CREATE FUNCTION pantry_trgm_ids(text) RETURNS integer[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN ARRAY(
        SELECT CASE WHEN length(t) = 3
                    THEN (ascii(substr(t, 1, 1)) << 16) | (ascii(substr(t, 2, 1)) << 8)
                         | ascii(substr(t, 3, 1))
                    ELSE ('x' || lpad(substr(t, 3), 8, '0'))::bit(32)::integer
               END
        FROM unnest(show_trgm($1)) AS t
        ORDER BY 1
    );

CREATE TABLE food_terms (
    id      integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name    text NOT NULL UNIQUE
);

-- c / (c + 1) for c the largest sum of the weights of one lexeme's positions in a document,
-- with the weights ts_rank_cd gives A, B, C and D (1, 0.4, 0.2, 0.1, as float4). For a query
-- of one lexeme, or any of k, where each position is a cover, ts_rank_cd(document, query, 32)
-- is at most k·c / (k·c + 1) of it.
CREATE FUNCTION pantry_max_rank(tsvector) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN (
        SELECT coalesce(max(c / (c + 1)), 0) FROM (
            SELECT sum(CASE w WHEN 'A' THEN 1.0::real WHEN 'B' THEN 0.4::real
                              WHEN 'C' THEN 0.2::real ELSE 0.1::real END::double precision) AS c
            FROM unnest($1) AS u, unnest(u.weights) AS w
            GROUP BY u.lexeme
        ) x
    );

-- The sorted ids of food names; a name without an id is left out.
CREATE FUNCTION pantry_food_ids(text[]) RETURNS integer[]
    LANGUAGE sql STABLE PARALLEL SAFE STRICT
    RETURN ARRAY(
        SELECT DISTINCT t.id FROM unnest($1) AS f JOIN food_terms t ON t.name = f ORDER BY t.id
    );

INSERT INTO food_terms (name)
SELECT DISTINCT f FROM recipes, unnest(foods || food_closure) AS f ORDER BY f;

-- The document last: a search reads the small columns of every match and the document of few.
CREATE TABLE recipe_search (
    recipe_id           bigint PRIMARY KEY REFERENCES recipes (id) ON DELETE CASCADE,
    max_rank            double precision
        GENERATED ALWAYS AS (pantry_max_rank(document)) STORED,
    max_body_rank       double precision
        GENERATED ALWAYS AS (pantry_max_rank(ts_filter(document, '{b,c,d}'))) STORED,
    food_count          integer NOT NULL,
    total_time_min      integer,
    title_n             integer GENERATED ALWAYS AS (cardinality(title_trgm)) STORED,
    title_trgm          integer[] NOT NULL,
    food_ids            integer[] NOT NULL,
    closure_ids         integer[] NOT NULL,
    diets               text[] NOT NULL,
    cuisine_key         text,
    title_lexemes       tsvector GENERATED ALWAYS AS (ts_filter(document, '{a}')) STORED,
    document            tsvector NOT NULL
);
INSERT INTO recipe_search (recipe_id, food_count, total_time_min, title_trgm, food_ids,
    closure_ids, diets, cuisine_key, document)
SELECT id, cardinality(foods), total_time_min, pantry_trgm_ids(title_key), pantry_food_ids(foods),
    pantry_food_ids(food_closure), diets, cuisine_key, document
FROM recipes ORDER BY id;
CREATE INDEX recipe_search_document_idx ON recipe_search USING gin (document);
CREATE INDEX recipe_search_title_lexemes_idx ON recipe_search USING gin (title_lexemes);

CREATE TABLE recipe_foods (
    recipe_id   bigint PRIMARY KEY REFERENCES recipes (id) ON DELETE CASCADE,
    food_ids    integer[] NOT NULL,
    food_count  integer NOT NULL
);
INSERT INTO recipe_foods (recipe_id, food_ids, food_count)
SELECT recipe_id, food_ids, food_count FROM recipe_search ORDER BY recipe_id;
CREATE INDEX recipe_foods_food_ids_idx ON recipe_foods USING gin (food_ids gin__int_ops);

ALTER TABLE recipes DROP COLUMN document;
ANALYZE food_terms;
ANALYZE recipe_search;
ANALYZE recipe_foods;
"""

DOWNGRADE = r"""
ALTER TABLE recipes ADD COLUMN document tsvector;
UPDATE recipes r SET document = s.document FROM recipe_search s WHERE s.recipe_id = r.id;
UPDATE recipes SET document = ''::tsvector WHERE document IS NULL;
ALTER TABLE recipes ALTER COLUMN document SET NOT NULL;
CREATE INDEX recipes_document_idx ON recipes USING gin (document);
DROP TABLE recipe_foods;
DROP TABLE recipe_search;
DROP FUNCTION pantry_food_ids(text[]);
DROP TABLE food_terms;
DROP FUNCTION pantry_max_rank(tsvector);
DROP FUNCTION pantry_trgm_ids(text);
"""


def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)

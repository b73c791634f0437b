"""Recipes, ingredient lines, food vocabulary and the search indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from pantry_common._migrations import execute_script

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


UPGRADE = r"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is only STABLE (it reads a dictionary); pinning the dictionary makes it safe to
-- use in indexes and generated columns.
CREATE FUNCTION pantry_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    RETURN unaccent('unaccent'::regdictionary, $1);

CREATE TABLE foods (
    name        text PRIMARY KEY,
    parents     text[] NOT NULL DEFAULT '{}',
    made_from   text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE food_aliases (
    alias       text PRIMARY KEY,
    food        text NOT NULL REFERENCES foods (name) ON DELETE CASCADE
);
CREATE INDEX food_aliases_food_idx ON food_aliases (food);

CREATE TABLE recipes (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug            text NOT NULL UNIQUE,
    title           text NOT NULL,
    description     text NOT NULL DEFAULT '',
    cuisine         text,
    course          text,
    keywords        text[] NOT NULL DEFAULT '{}',
    prep_time_min   integer CHECK (prep_time_min >= 0),
    cook_time_min   integer CHECK (cook_time_min >= 0),
    total_time_min  integer CHECK (total_time_min >= 0),
    yield           text,
    steps           text[] NOT NULL DEFAULT '{}',
    diets           text[] NOT NULL DEFAULT '{}',
    diets_stated    boolean NOT NULL DEFAULT false,
    foods           text[] NOT NULL DEFAULT '{}',
    food_closure    text[] NOT NULL DEFAULT '{}',
    source          text NOT NULL,
    canonical_url   text UNIQUE,
    fingerprint     text NOT NULL UNIQUE,
    image_url       text,
    document        tsvector NOT NULL,
    title_key       text GENERATED ALWAYS AS (lower(pantry_unaccent(title))) STORED,
    cuisine_key     text GENERATED ALWAYS AS (lower(pantry_unaccent(cuisine))) STORED,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX recipes_document_idx ON recipes USING gin (document);
CREATE INDEX recipes_title_trgm_idx ON recipes USING gin (title_key gin_trgm_ops);
CREATE INDEX recipes_foods_idx ON recipes USING gin (foods);
CREATE INDEX recipes_food_closure_idx ON recipes USING gin (food_closure);
CREATE INDEX recipes_diets_idx ON recipes USING gin (diets);
CREATE INDEX recipes_total_time_idx ON recipes (total_time_min);
CREATE INDEX recipes_cuisine_idx ON recipes (cuisine_key);

CREATE TABLE ingredient_lines (
    recipe_id     bigint NOT NULL REFERENCES recipes (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    raw           text NOT NULL,
    quantity      double precision,
    quantity_max  double precision,
    unit          text,
    name          text,
    food          text,
    preparation   text,
    comment       text,
    PRIMARY KEY (recipe_id, position)
);
CREATE INDEX ingredient_lines_food_idx ON ingredient_lines (food);

-- The words that occur in titles, foods and cuisines: what a misspelt query word is corrected to.
CREATE TABLE search_words (
    word    text PRIMARY KEY
);
CREATE INDEX search_words_trgm_idx ON search_words USING gist (word gist_trgm_ops);
"""

DOWNGRADE = r"""
DROP TABLE search_words;
DROP TABLE ingredient_lines;
DROP TABLE recipes;
DROP TABLE food_aliases;
DROP TABLE foods;
DROP FUNCTION pantry_unaccent(text);
"""



def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)

"""Ingredient-line parser: rules for quantities and units, a CRF for the rest.

``parse_ingredient("2 (14-ounce) cans chickpeas, drained and rinsed")`` splits a recipe line into
quantity, unit, food name, size, preparation, comment and purpose. Numbers and units are read by
rules; a linear-chain CRF (python-crfsuite, ``data/ingredient_crf.model``) labels each token.
See ``data/INGREDIENT_MODEL.md`` for how the model was trained. By concern: `_units` (units and
quantities), `_tokens` (tokens and features), `_model` (the tagger and the parser), `_reference`
(the labelled data and its scoring, for training and the accuracy test).
"""

from __future__ import annotations

from ._model import (
    _CONTROL_RE as _CONTROL_RE,
)
from ._model import (
    _EMPTY as _EMPTY,
)
from ._model import (
    _MODEL as _MODEL,
)
from ._model import (
    MAX_LINE_CHARS as MAX_LINE_CHARS,
)
from ._model import (
    MODEL_PATH as MODEL_PATH,
)
from ._model import (
    ParsedIngredient as ParsedIngredient,
)
from ._model import (
    _bracketed_measure as _bracketed_measure,
)
from ._model import (
    _clean as _clean,
)
from ._model import (
    _force_name as _force_name,
)
from ._model import (
    _join as _join,
)
from ._model import (
    _Model as _Model,
)
from ._model import (
    _open_tagger as _open_tagger,
)
from ._model import (
    _parse as _parse,
)
from ._model import (
    _parse_kept as _parse_kept,
)
from ._model import (
    _parse_safely as _parse_safely,
)
from ._model import (
    _primary_measure as _primary_measure,
)
from ._model import (
    _rule_tags as _rule_tags,
)
from ._model import (
    _tag_tokens as _tag_tokens,
)
from ._model import (
    parse_ingredient as parse_ingredient,
)
from ._reference import (
    _COLUMN_TAG as _COLUMN_TAG,
)
from ._reference import (
    _NUMBER_START as _NUMBER_START,
)
from ._reference import (
    REFERENCE_COLUMNS as REFERENCE_COLUMNS,
)
from ._reference import (
    _decode_label_word as _decode_label_word,
)
from ._reference import (
    _lemma as _lemma,
)
from ._reference import (
    _word_match as _word_match,
)
from ._reference import (
    align_labels as align_labels,
)
from ._reference import (
    decode_label_quantity as decode_label_quantity,
)
from ._reference import (
    is_held_out as is_held_out,
)
from ._reference import (
    normalise_name as normalise_name,
)
from ._reference import (
    read_reference_rows as read_reference_rows,
)
from ._reference import (
    reference_unit as reference_unit,
)
from ._reference import (
    score_rows as score_rows,
)
from ._tokens import (
    _FRACTION_TOKEN_RE as _FRACTION_TOKEN_RE,
)
from ._tokens import (
    _HAS_DIGIT_RE as _HAS_DIGIT_RE,
)
from ._tokens import (
    _INT_RE as _INT_RE,
)
from ._tokens import (
    _KEEP_SLASH as _KEEP_SLASH,
)
from ._tokens import (
    _NUMERIC_CHUNK_RE as _NUMERIC_CHUNK_RE,
)
from ._tokens import (
    _PERCENT_RE as _PERCENT_RE,
)
from ._tokens import (
    _SEG_BREAK as _SEG_BREAK,
)
from ._tokens import (
    _SPLIT_PUNCT_RE as _SPLIT_PUNCT_RE,
)
from ._tokens import (
    _features as _features,
)
from ._tokens import (
    _is_number as _is_number,
)
from ._tokens import (
    _is_unit_word as _is_unit_word,
)
from ._tokens import (
    _kind as _kind,
)
from ._tokens import (
    _segments as _segments,
)
from ._tokens import (
    _shape as _shape,
)
from ._tokens import (
    _split_chunk as _split_chunk,
)
from ._tokens import (
    _tokenize as _tokenize,
)
from ._units import (
    _CONTAINERS as _CONTAINERS,
)
from ._units import (
    _FRAC_CLASS as _FRAC_CLASS,
)
from ._units import (
    _FRACTIONS as _FRACTIONS,
)
from ._units import (
    _NUM_RE as _NUM_RE,
)
from ._units import (
    _NUMBER_WORDS as _NUMBER_WORDS,
)
from ._units import (
    _PUNCT as _PUNCT,
)
from ._units import (
    _RANGE_RE as _RANGE_RE,
)
from ._units import (
    _SINGULAR as _SINGULAR,
)
from ._units import (
    _SIZES as _SIZES,
)
from ._units import (
    _UNIT_CASED as _UNIT_CASED,
)
from ._units import (
    _UNIT_LOOKUP as _UNIT_LOOKUP,
)
from ._units import (
    _UNIT_MODIFIERS as _UNIT_MODIFIERS,
)
from ._units import (
    _UNIT_SPELLINGS as _UNIT_SPELLINGS,
)
from ._units import (
    _num as _num,
)
from ._units import (
    _token_unit as _token_unit,
)
from ._units import (
    canonical_unit as canonical_unit,
)
from ._units import (
    parse_quantity as parse_quantity,
)

__all__ = [
    "ParsedIngredient",
    "canonical_unit",
    "parse_ingredient",
    "parse_quantity",
]

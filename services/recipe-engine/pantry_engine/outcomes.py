"""What a handled message did, as recorded with its id (`processed_messages.outcome`).

A redelivered message whose work was committed finishes from this record: it says what was
stored and what changed, typed, so nothing is guessed back out of a column.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from pantry_common import CatalogueChange, RecipeFound, SourceOutcome


class _Outcome(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchOutcome(_Outcome):
    recipes: list[RecipeFound]
    sources: dict[str, SourceOutcome]
    change: CatalogueChange


class ImportOutcome(_Outcome):
    recipe_id: int
    created: bool
    change: CatalogueChange

"""How much of what cooks write the vocabulary names: the share of ingredient lines whose food it
cannot name, on the catalogue and on the labelled reference rows, stays at or below where it was
brought (bench.vocabulary lists the most frequent unnamed foods, to grow it further)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pantry_common import FoodVocabulary, catalogue_documents, parse_ingredient
from pantry_common._ingredients import read_reference_rows

REPO_ROOT = Path(__file__).resolve().parents[3]


def reference(filename: str) -> Path:
    base = os.environ.get("PANTRY_REFERENCE_DATA") or str(REPO_ROOT.parent / "shared" / "data")
    path = Path(base) / "ingredients" / filename
    if not path.is_file():
        pytest.fail(f"reference data not found at {path} (or set PANTRY_REFERENCE_DATA)")
    return path


pytestmark = pytest.mark.quality


def unnamed_share(lines: list[str], vocab: FoodVocabulary) -> float:
    """Lines whose food neither the parsed name nor the whole line names (as analysis reads)."""
    unnamed = 0
    for line in lines:
        name = parse_ingredient(line).name
        food = (vocab.canonical(name) if name else None) or vocab.canonical(line)
        unnamed += food is None
    return unnamed / len(lines)


@pytest.fixture(scope="module")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


def test_every_catalogue_line_names_a_food(vocab: FoodVocabulary) -> None:
    lines = [
        str(line)
        for part in ("starter", "feed")
        for doc in catalogue_documents(part)  # type: ignore[arg-type]
        for line in doc["recipeIngredient"]
    ]
    assert len(lines) > 3000
    assert unnamed_share(lines, vocab) == 0


# Brought from 0.9% and 0.8% by naming what the reference rows left unnamed.
@pytest.mark.parametrize(
    ("filename", "most"), [("tastecooking-2024.csv", 0.0075), ("cookstr-2017.csv", 0.006)]
)
def test_few_reference_lines_name_no_known_food(
    vocab: FoodVocabulary, filename: str, most: float
) -> None:
    rows = read_reference_rows(reference(filename))
    share = unnamed_share([row["input"] for row in rows], vocab)
    assert share <= most, f"{filename}: {share:.2%} of {len(rows)} lines name no known food"

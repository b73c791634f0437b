"""Ingredient-line parser: unit tests and the accuracy test on the labelled reference data."""

from __future__ import annotations

import os
import random
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pantry_common._ingredients import (
    MODEL_PATH,
    ParsedIngredient,
    canonical_unit,
    is_held_out,
    parse_ingredient,
    parse_quantity,
    read_reference_rows,
    score_rows,
)

REPO_ROOT = Path(__file__).resolve().parents[3]


def _parsed(line: str, **fields: Any) -> ParsedIngredient:
    empty = ParsedIngredient(line.strip(), None, None, None, None, None, None, None, None)
    return replace(empty, **fields)


EXAMPLES: list[tuple[str, dict[str, Any]]] = [
    ("1 1/2 cups all-purpose flour", {"quantity": 1.5, "unit": "cup", "name": "all-purpose flour"}),
    (
        "½ cup fresh bean sprouts for garnish",
        {"quantity": 0.5, "unit": "cup", "name": "fresh bean sprouts", "purpose": "for garnish"},
    ),
    (
        "2-3 tbsp olive oil",
        {"quantity": 2.0, "quantity_max": 3.0, "unit": "tbsp", "name": "olive oil"},
    ),
    (
        "2 to 3 cloves garlic, finely chopped",
        {
            "quantity": 2.0,
            "quantity_max": 3.0,
            "unit": "clove",
            "name": "garlic",
            "preparation": "finely chopped",
        },
    ),
    (
        "1 (14-ounce) can chickpeas, drained and rinsed",
        {
            "quantity": 1.0,
            "unit": "can",
            "size": "14 oz",
            "name": "chickpeas",
            "preparation": "drained and rinsed",
        },
    ),
    (
        "2 15-ounce cans black beans, drained and rinsed",
        {
            "quantity": 2.0,
            "unit": "can",
            "size": "15 oz",
            "name": "black beans",
            "preparation": "drained and rinsed",
        },
    ),
    ("Salt, to taste", {"name": "Salt", "comment": "to taste"}),
    (
        "200 g dark chocolate, roughly chopped",
        {
            "quantity": 200.0,
            "unit": "g",
            "name": "dark chocolate",
            "preparation": "roughly chopped",
        },
    ),
    ("250ml whole milk", {"quantity": 250.0, "unit": "ml", "name": "whole milk"}),
    ("1.5 kg potatoes", {"quantity": 1.5, "unit": "kg", "name": "potatoes"}),
    ("1½ tsp kosher salt", {"quantity": 1.5, "unit": "tsp", "name": "kosher salt"}),
    (
        "3 Tbsp. unsalted butter, melted",
        {"quantity": 3.0, "unit": "tbsp", "name": "unsalted butter", "preparation": "melted"},
    ),
    (
        "2 large eggs, beaten",
        {"quantity": 2.0, "size": "large", "name": "eggs", "preparation": "beaten"},
    ),
    (
        "1 lb boneless chicken thighs",
        {"quantity": 1.0, "unit": "lb", "name": "boneless chicken thighs"},
    ),
    ("4 fl oz heavy cream", {"quantity": 4.0, "unit": "fl oz", "name": "heavy cream"}),
    ("1 cup (240 ml) whole milk", {"quantity": 1.0, "unit": "cup", "name": "whole milk"}),
    (
        "Chopped fresh parsley, for garnish",
        {"name": "fresh parsley", "preparation": "Chopped", "purpose": "for garnish"},
    ),
    (
        "1 tablespoon sesame seeds, to garnish",
        {"quantity": 1.0, "unit": "tbsp", "name": "sesame seeds", "purpose": "to garnish"},
    ),
    ("2 dashes Angostura bitters", {"quantity": 2.0, "unit": "dash", "name": "Angostura bitters"}),
]


@pytest.mark.parametrize(("line", "fields"), EXAMPLES, ids=[line for line, _ in EXAMPLES])
def test_parse_examples(line: str, fields: dict[str, Any]) -> None:
    assert parse_ingredient(line) == _parsed(line, **fields)


def test_raw_is_stripped() -> None:
    assert parse_ingredient("  1 cup sugar \n").raw == "1 cup sugar"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 1/2", (1.5, None)),
        ("½", (0.5, None)),
        ("1½", (1.5, None)),
        ("1 ½", (1.5, None)),
        ("2-3", (2.0, 3.0)),
        ("2 to 3", (2.0, 3.0)),
        ("1.5", (1.5, None)),
        (".25", (0.25, None)),
        ("3/4", (0.75, None)),
        ("¾", (0.75, None)),
        ("⅛", (0.125, None)),
        ("one", (1.0, None)),
        ("2 dozen", (24.0, None)),
        ("1/0", (None, None)),
        ("a lot", (None, None)),
        ("", (None, None)),
    ],
)
def test_parse_quantity(text: str, expected: tuple[float | None, float | None]) -> None:
    assert parse_quantity(text) == expected


def test_parse_quantity_thirds() -> None:
    q, q_max = parse_quantity("⅓")
    assert q == pytest.approx(1 / 3) and q_max is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tablespoons", "tbsp"),
        ("Tbsp.", "tbsp"),
        ("T", "tbsp"),
        ("t", "tsp"),
        ("teaspoon", "tsp"),
        ("grams", "g"),
        ("ounces", "oz"),
        ("fl. oz.", "fl oz"),
        ("fluid ounces", "fl oz"),
        ("lbs", "lb"),
        ("c", "cup"),
        ("millilitres", "ml"),
        ("L", "l"),
        ("kilograms", "kg"),
        ("cloves", "clove"),
        ("small clove", "clove"),
        ("tins", "can"),
        ("banana", None),
        ("", None),
    ],
)
def test_canonical_unit(text: str, expected: str | None) -> None:
    assert canonical_unit(text) == expected


GARBAGE = [
    "",
    "   ",
    "\x00\x01\x02",
    "(((((",
    ")))) ,,, ;;",
    "-",
    "/",
    "½½½½",
    "1/0 cup",
    "1e309 kg",
    "9" * 500,
    "🍕" * 1000,
    "cup " * 2000,
    "((1 (2 (3 can)",
    "1 - - - 2 to to or",
    "\u200b\u00ad\ufeff",
    "𝟙 𝕔𝕦𝕡 ∞ ¼⁄½",
]


@pytest.mark.parametrize("line", GARBAGE, ids=range(len(GARBAGE)))
def test_garbage_does_not_raise(line: str) -> None:
    parsed = parse_ingredient(line)
    assert isinstance(parsed, ParsedIngredient)
    assert parsed.raw == line.strip()


def test_random_unicode_does_not_raise() -> None:
    rng = random.Random(20240601)
    alphabet = "abc XYZ 0123456789 ½¼¾⅓ /-–,.()[]%#$ éü中文 \t\n\x7f\ud7ff"
    for _ in range(500):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        assert isinstance(parse_ingredient(line), ParsedIngredient)


def test_parser_is_thread_safe() -> None:
    lines = [line for line, _ in EXAMPLES] * 20
    expected = [parse_ingredient(line) for line in lines]
    results: list[list[ParsedIngredient]] = []

    def work() -> None:
        results.append([parse_ingredient(line) for line in lines])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [expected] * 4


def test_model_is_bundled_and_small() -> None:
    assert MODEL_PATH.is_file(), f"missing {MODEL_PATH}: run scripts/train_ingredient_model.py"
    assert MODEL_PATH.stat().st_size < 2 * 1024 * 1024


# ----------------------------------------------------------------------------- accuracy

FILES_AND_TARGETS = [("tastecooking-2024.csv", 0.90), ("cookstr-2017.csv", 0.85)]


def _reference_folder() -> Path:
    base = os.environ.get("PANTRY_REFERENCE_DATA") or str(REPO_ROOT.parent / "shared" / "data")
    folder = Path(base) / "ingredients"
    if not folder.is_dir():
        pytest.fail(
            f"reference data not found at {folder}: the accuracy test needs the labelled "
            "ingredient CSVs (../shared/data next to the repository, or set PANTRY_REFERENCE_DATA)"
        )
    return folder


@pytest.mark.quality
@pytest.mark.parametrize(("filename", "target"), FILES_AND_TARGETS)
def test_name_accuracy_on_held_out_rows(filename: str, target: float) -> None:
    """Food-name exact match on the ~20% of rows the model was not trained on."""
    path = _reference_folder() / filename
    assert path.is_file(), f"missing reference file {path}"
    rows = read_reference_rows(path)
    held = [row for row in rows if is_held_out(row["input"])]
    assert 0.15 < len(held) / len(rows) < 0.25, "the held-out split should be about 20%"
    score = score_rows(held)
    summary = (
        f"{filename}: {len(held)} held-out rows, name {score['name']:.1%}, "
        f"quantity {score['quantity']:.1%}, unit {score['unit']:.1%}"
    )
    assert score["name"] >= target, summary
    assert score["quantity"] >= 0.97, summary
    assert score["unit"] >= 0.95, summary

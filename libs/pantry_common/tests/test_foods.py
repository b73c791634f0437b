"""The food vocabulary (data/foods.toml, _foods.py): aliases, taxonomy, diets, coverage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pantry_common
from pantry_common._foods import (
    _DIET_BLOCKERS,
    STAPLES,
    Diet,
    FoodVocabulary,
    derive_diets,
    normalise_text,
    plural_forms,
)
from pantry_common._ingredients import parse_ingredient

CATALOGUE = Path(pantry_common.__file__).parent / "catalogue"
ALL_DIETS = frozenset(Diet)


@pytest.fixture(scope="module")
def vocab() -> FoodVocabulary:
    return FoodVocabulary.default()


def line_food(line: str, vocab: FoodVocabulary) -> str | None:
    """The canonical food of one ingredient line, as recipe analysis reads it."""
    name = parse_ingredient(line).name
    return (vocab.canonical(name) if name else None) or vocab.canonical(line)


def diets_of(lines: list[str], vocab: FoodVocabulary) -> frozenset[Diet]:
    return derive_diets([line_food(line, vocab) for line in lines], vocab)


def catalogue_recipes() -> Iterator[tuple[str, dict[str, Any]]]:
    files = sorted(CATALOGUE.glob("*/*.json"))
    assert files, f"no catalogue files under {CATALOGUE}"
    for path in files:
        for recipe in json.loads(path.read_text(encoding="utf-8")):
            yield f"{path.parent.name}/{path.name}:{recipe.get('identifier')}", recipe


# --------------------------------------------------------------------------- loading


def test_the_bundled_vocabulary_loads_with_at_least_500_foods(vocab: FoodVocabulary) -> None:
    assert len(vocab) >= 500
    assert FoodVocabulary.default() is vocab  # loaded once per process
    assert vocab.names() == sorted(vocab.names())


def test_every_category_the_diets_test_for_is_defined(vocab: FoodVocabulary) -> None:
    for _, blockers in _DIET_BLOCKERS:
        for name in blockers:
            assert name in vocab.names(), name


def test_staples_are_canonical_foods(vocab: FoodVocabulary) -> None:
    for staple in STAPLES:
        assert vocab.canonical(staple) == staple
    assert vocab.canonical("freshly ground black pepper") == "black pepper"
    assert vocab.canonical("flaky sea salt") == "salt"


def test_normalise_text() -> None:
    assert normalise_text("Crème Brûlée") == "creme brulee"
    assert normalise_text("  Crème   BRÛLÉE!! ") == "creme brulee"
    assert normalise_text("confectioners' sugar") == "confectioners sugar"
    assert normalise_text("extra-virgin olive oil") == "extra virgin olive oil"


def test_plural_forms() -> None:
    assert plural_forms("berry") == ("berries",)
    assert plural_forms("leaf") == ("leaves", "leafs")
    assert plural_forms("tomato") == ("tomatoes",)
    assert plural_forms("couscous") == ()


# --------------------------------------------------------------------------- the loader's checks


def test_undefined_references_are_refused() -> None:
    with pytest.raises(ValueError, match="undefined"):
        FoodVocabulary.from_toml('[foods.x]\n"a" = { is_a = ["b"] }\n')


def test_an_alias_belongs_to_one_food_only() -> None:
    text = '[foods.x]\n"a" = { aliases = ["same"] }\n"b" = { aliases = ["Same"] }\n'
    with pytest.raises(ValueError, match="both"):
        FoodVocabulary.from_toml(text)


def test_unknown_keys_and_cycles_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        FoodVocabulary.from_toml('[foods.x]\n"a" = { alias = ["b"] }\n')
    with pytest.raises(ValueError, match="cycle"):
        FoodVocabulary.from_toml('[foods.x]\n"a" = { is_a = ["b"] }\n"b" = { made_from = ["a"] }\n')


# --------------------------------------------------------------------------- aliases


@pytest.mark.parametrize(
    ("phrase", "food"),
    [
        ("scallion", "green onion"),
        ("Scallions", "green onion"),
        ("spring onions", "green onion"),
        ("green onions", "green onion"),
        ("garbanzo beans", "chickpea"),
        ("chickpeas", "chickpea"),
        ("fresh coriander", "cilantro"),
        ("coriander leaves", "cilantro"),
        ("cilantro", "cilantro"),
        ("ground coriander", "coriander seed"),
        ("aubergine", "eggplant"),
        ("courgettes", "zucchini"),
        ("prawns", "shrimp"),
        ("bicarbonate of soda", "baking soda"),
        ("icing sugar", "powdered sugar"),
        ("cornflour", "cornstarch"),
        ("plain flour", "flour"),
        ("double cream", "cream"),
        ("boneless skinless chicken thighs", "chicken thigh"),
        ("Crème fraîche", "creme fraiche"),
        ("jalapeños", "jalapeno"),
        ("bay leaves", "bay leaf"),
    ],
)
def test_aliases_and_plurals(vocab: FoodVocabulary, phrase: str, food: str) -> None:
    assert vocab.canonical(phrase) == food
    assert phrase in vocab


@pytest.mark.parametrize(
    ("typed", "category"),
    [
        ("nuts", "nut"),
        ("tree nuts", "tree nut"),
        ("peanuts", "peanut"),
        ("gluten", "gluten grain"),
        ("dairy", "dairy"),
        ("shellfish", "shellfish"),
        ("seafood", "seafood"),
        ("meat", "meat"),
        ("eggs", "egg"),
        ("soy", "soybean"),
        ("sesame", "sesame seed"),
    ],
)
def test_categories_users_exclude_resolve(vocab: FoodVocabulary, typed: str, category: str) -> None:
    assert vocab.canonical(typed) == category


@pytest.mark.parametrize(
    ("line", "food"),
    [
        ("2 tbsp peanut butter", "peanut butter"),
        ("1 cup unsalted butter", "butter"),
        ("1 large eggplant, cubed", "eggplant"),
        ("1 small butternut squash, peeled", "butternut squash"),
        ("¼ teaspoon ground nutmeg", "nutmeg"),
        ("1 teaspoon cream of tartar", "cream of tartar"),
        ("50 g cocoa butter", "cocoa butter"),
        ("1 cup frozen peas", "pea"),
        ("½ cup roasted peanuts", "peanut"),
        ("8 oz dried rice noodles", "rice noodle"),
        ("1 cup rice flour", "rice flour"),
        ("1 tablespoon corn starch", "cornstarch"),
        ("1 cup buckwheat groats", "buckwheat"),
        ("1 (400 ml) can coconut cream", "coconut cream"),
        ("1 cup oat milk", "oat milk"),
        ("2 (400 g) tins butter beans, drained", "lima bean"),
        ("4 oz chestnut mushrooms, sliced", "mushroom"),
        ("1 (8 oz) can water chestnuts", "water chestnut"),
        ("2 cups oyster crackers", "cracker"),
        ("2 tins tuna in olive oil, drained", "tuna"),
        ("Salt and freshly ground black pepper", "black pepper"),
        ("2 (15-ounce) cans chickpeas, drained and rinsed", "chickpea"),
    ],
)
def test_catalogue_style_lines_map_to_the_right_food(
    vocab: FoodVocabulary, line: str, food: str
) -> None:
    assert line_food(line, vocab) == food


def test_foods_in_finds_every_food_of_a_line(vocab: FoodVocabulary) -> None:
    assert vocab.foods_in("Shredded cheddar and sliced green onions") == ["cheddar", "green onion"]


# --------------------------------------------------------------------------- taxonomy


def test_is_a_chains(vocab: FoodVocabulary) -> None:
    assert {"chicken", "poultry", "meat"} <= vocab.kinds("chicken thigh")
    assert {"cheese", "dairy"} <= vocab.kinds("cheddar")
    assert {"tree nut", "nut"} <= vocab.kinds("cashew")
    assert {"pork", "meat"} <= vocab.kinds("guanciale")
    assert {"beef", "meat"} <= vocab.kinds("ground beef")
    assert {"fish", "seafood"} <= vocab.kinds("salmon")
    assert {"shellfish", "seafood"} <= vocab.kinds("mussel")
    assert "egg" in vocab.kinds("egg yolk")
    assert vocab.parents("chicken thigh") == {"chicken"}
    assert "gluten grain" in vocab.kinds("wheat")


def test_kinds_follow_is_a_only_and_closure_adds_made_from(vocab: FoodVocabulary) -> None:
    assert "peanut" not in vocab.kinds("peanut butter")
    assert "peanut" in vocab.closure("peanut butter")
    assert vocab.made_from("peanut butter") == {"peanut"}
    # having chicken thighs covers a recipe asking for chicken, not the other way round
    assert "chicken" in vocab.kinds("chicken thigh")
    assert "chicken thigh" not in vocab.kinds("chicken")
    # unknown foods are only themselves
    assert vocab.kinds("unobtainium") == {"unobtainium"}
    assert vocab.closure("unobtainium") == {"unobtainium"}


@pytest.mark.parametrize(
    ("food", "contains"),
    [
        ("peanut butter", {"peanut", "nut"}),
        ("peanut oil", {"peanut", "nut"}),
        ("almond milk", {"almond", "tree nut", "nut"}),
        ("pesto", {"basil", "pine nut", "parmesan", "dairy", "tree nut"}),
        ("soy sauce", {"soybean", "wheat", "gluten grain"}),
        ("tofu", {"soybean"}),
        ("miso", {"soybean"}),
        ("edamame", {"soybean"}),
        ("fish sauce", {"anchovy", "fish", "seafood"}),
        ("worcestershire sauce", {"anchovy", "fish"}),
        ("oyster sauce", {"oyster", "shellfish"}),
        ("mayonnaise", {"egg"}),
        ("chicken stock", {"chicken", "poultry", "meat"}),
        ("beef stock", {"beef", "meat"}),
        ("pasta", {"wheat", "gluten grain"}),
        ("spaghetti", {"wheat", "gluten grain"}),
        ("bread", {"wheat"}),
        ("breadcrumb", {"wheat"}),
        ("noodle", {"wheat"}),
        ("couscous", {"wheat"}),
        ("bulgur", {"wheat"}),
        ("seitan", {"wheat"}),
        ("pita", {"wheat"}),
        ("tortilla", {"wheat"}),
        ("soba", {"buckwheat", "wheat"}),
        ("oat", {"gluten grain"}),
        ("barley", {"gluten grain"}),
        ("rye", {"gluten grain"}),
        ("spelt", {"gluten grain"}),
        ("gelatin", {"animal product"}),
        ("honey", {"animal product"}),
        ("curry paste", {"shrimp paste", "shellfish"}),
        ("refried beans", {"lard", "pork"}),
    ],
)
def test_made_from_closure(vocab: FoodVocabulary, food: str, contains: set[str]) -> None:
    assert contains <= vocab.closure(food)


@pytest.mark.parametrize(
    ("food", "lacks"),
    [
        ("tamari", {"wheat", "gluten grain"}),
        ("rice noodle", {"wheat", "gluten grain"}),
        ("rice flour", {"wheat", "gluten grain"}),
        ("corn tortilla", {"wheat", "gluten grain"}),
        ("buckwheat", {"wheat", "gluten grain"}),
        ("cornstarch", {"wheat", "gluten grain"}),
        ("glutinous rice", {"gluten grain"}),
        ("gluten-free oat", {"gluten grain"}),
        ("vegetable stock", {"meat", "animal product"}),
        ("coconut", {"nut", "tree nut"}),
        ("coconut milk", {"nut", "dairy"}),
        ("nutmeg", {"nut"}),
        ("water chestnut", {"nut"}),
        ("sesame seed", {"nut"}),
        ("eggplant", {"egg"}),
        ("butternut squash", {"butter", "dairy", "nut"}),
        ("flax egg", {"egg", "animal product"}),
        ("vegan mayonnaise", {"egg", "animal product"}),
        ("dark chocolate", {"dairy"}),
        ("peanut", {"tree nut"}),
        ("tree nut", {"peanut"}),
    ],
)
def test_careful_non_matches(vocab: FoodVocabulary, food: str, lacks: set[str]) -> None:
    assert not lacks & vocab.closure(food)


@pytest.mark.parametrize("food", ["butter", "cheese", "cheddar", "milk", "ghee", "cream", "yogurt"])
def test_dairy_foods_are_dairy(vocab: FoodVocabulary, food: str) -> None:
    assert {"dairy", "animal product"} <= vocab.closure(food)


@pytest.mark.parametrize(
    "food",
    [
        "coconut milk",
        "coconut cream",
        "almond milk",
        "oat milk",
        "soy milk",
        "cocoa butter",
        "cream of tartar",
        "peanut butter",
        "vegan butter",
        "butternut squash",
        "butter bean",
    ],
)
def test_look_alikes_are_not_dairy(vocab: FoodVocabulary, food: str) -> None:
    assert "dairy" not in vocab.closure(food)


# --------------------------------------------------------------------------- diets

VEGAN_CURRY = [
    "2 tablespoons vegetable oil",
    "1 large onion, finely chopped",
    "3 garlic cloves, minced",
    "1 tbsp fresh ginger, grated",
    "2 tablespoons curry powder",
    "2 (15-ounce) cans chickpeas, drained and rinsed",
    "1 (14-ounce) can coconut milk",
    "4 cups baby spinach",
    "Salt, to taste",
    "Cooked basmati rice, to serve",
]
PEANUT_BUTTER_COOKIES = [
    "1 cup creamy peanut butter",
    "½ cup unsalted butter, softened",
    "½ cup granulated sugar",
    "½ cup packed light brown sugar",
    "1 large egg",
    "1 ½ cups all-purpose flour",
    "1 teaspoon baking soda",
    "¼ teaspoon salt",
]
VEGETABLE_SOUP_WITH_CHICKEN_STOCK = [
    "2 tablespoons olive oil",
    "1 onion, diced",
    "2 carrots, diced",
    "2 celery sticks, diced",
    "2 potatoes, peeled and diced",
    "1 (400 g) tin chopped tomatoes",
    "1.5 litres chicken stock",
    "Salt and freshly ground black pepper",
]
SPAGHETTI_AGLIO_E_OLIO = [
    "400 g spaghetti",
    "6 tablespoons extra virgin olive oil",
    "5 garlic cloves, thinly sliced",
    "½ teaspoon dried chilli flakes",
    "Small bunch fresh flat-leaf parsley, finely chopped",
    "Salt",
]
RICE_NOODLES_WITH_TAMARI = [
    "8 oz flat rice noodles",
    "3 tablespoons tamari",
    "14 oz firm tofu, cubed",
    "1 head broccoli, cut into florets",
    "2 garlic cloves, minced",
    "1 tbsp fresh ginger, grated",
    "1 tablespoon toasted sesame oil",
    "2 scallions, sliced",
]
RICE_NOODLES_WITH_SOY_SAUCE = [
    line.replace("tamari", "soy sauce") for line in RICE_NOODLES_WITH_TAMARI
]
PAD_THAI = [
    "8 oz dried rice noodles",
    "3 tablespoons fish sauce",
    "2 tablespoons tamarind paste",
    "2 tablespoons palm sugar",
    "8 oz raw prawns, peeled",
    "2 large eggs",
    "1 cup bean sprouts",
    "¼ cup roasted peanuts, chopped",
    "Lime wedges, to serve",
]
PESTO_PASTA = [
    "400 g trofie",
    "1 cup basil pesto",
    "50 g Parmesan, grated",
    "2 tablespoons pine nuts, toasted",
]
PANNA_COTTA = [
    "500 ml double cream",
    "100 g caster sugar",
    "1 vanilla pod, split",
    "3 sheets leaf gelatine",
]
GRANOLA_BARS = [
    "2 cups old-fashioned rolled oats",
    "½ cup honey",
    "1 cup almonds, chopped",
    "¼ cup coconut oil",
    "Pinch of salt",
]
GREEN_CURRY = [
    "3 tablespoons green curry paste",
    "1 (14-ounce) can coconut milk",
    "14 oz firm tofu, cubed",
    "1 cup Thai eggplants, quartered",
    "Thai basil leaves",
    "Jasmine rice, to serve",
]
CHEESE_OMELETTE = [
    "3 large eggs",
    "1 tablespoon butter",
    "¼ cup grated cheddar cheese",
    "Salt and freshly ground black pepper",
]
CAESAR_SALAD = [
    "2 romaine hearts, chopped",
    "2 anchovy fillets",
    "1 egg yolk",
    "1 teaspoon Worcestershire sauce",
    "50 g Parmesan, grated",
    "2 cups croutons",
    "¼ cup olive oil",
]
GUACAMOLE = [
    "3 ripe Hass avocados",
    "¼ cup finely chopped white onion",
    "1 jalapeño, seeded and minced",
    "2 tablespoons chopped fresh cilantro",
    "1 ½ tablespoons fresh lime juice",
    "½ teaspoon kosher salt",
]
VEGAN_CHOCOLATE_CAKE = [
    "1 ½ cups all-purpose flour",
    "1 cup granulated sugar",
    "⅓ cup unsweetened cocoa powder",
    "1 teaspoon baking soda",
    "1 cup cold water or brewed coffee",
    "⅓ cup vegetable oil",
    "1 tablespoon apple cider vinegar",
    "6 oz dairy-free dark chocolate, chopped",
]
V, VG, GF, DF, NF = (
    Diet.VEGETARIAN,
    Diet.VEGAN,
    Diet.GLUTEN_FREE,
    Diet.DAIRY_FREE,
    Diet.NUT_FREE,
)


@pytest.mark.parametrize(
    ("lines", "diets"),
    [
        pytest.param(VEGAN_CURRY, {V, VG, GF, DF, NF}, id="vegan-curry"),
        pytest.param(PEANUT_BUTTER_COOKIES, {V}, id="peanut-butter-cookies"),
        pytest.param(VEGETABLE_SOUP_WITH_CHICKEN_STOCK, {GF, DF, NF}, id="soup-chicken-stock"),
        pytest.param(SPAGHETTI_AGLIO_E_OLIO, {V, VG, DF, NF}, id="pasta"),
        pytest.param(RICE_NOODLES_WITH_TAMARI, {V, VG, GF, DF, NF}, id="rice-noodles-tamari"),
        pytest.param(RICE_NOODLES_WITH_SOY_SAUCE, {V, VG, DF, NF}, id="rice-noodles-soy-sauce"),
        pytest.param(PAD_THAI, {GF, DF}, id="pad-thai"),
        pytest.param(PESTO_PASTA, {V}, id="pesto-pasta"),
        pytest.param(PANNA_COTTA, {GF, NF}, id="panna-cotta-gelatin"),
        pytest.param(GRANOLA_BARS, {V, DF}, id="granola-honey-oats"),
        pytest.param(GREEN_CURRY, {GF, DF, NF}, id="thai-curry-paste"),
        pytest.param(CHEESE_OMELETTE, {V, GF, NF}, id="cheese-omelette"),
        pytest.param(CAESAR_SALAD, {NF}, id="caesar-salad"),
        pytest.param(GUACAMOLE, {V, VG, GF, DF, NF}, id="guacamole"),
        pytest.param(VEGAN_CHOCOLATE_CAKE, {V, VG, DF, NF}, id="vegan-chocolate-cake"),
    ],
)
def test_diets_of_realistic_recipes(
    vocab: FoodVocabulary, lines: list[str], diets: set[Diet]
) -> None:
    assert diets_of(lines, vocab) == diets


def test_gluten_free_oats_make_the_bars_gluten_free(vocab: FoodVocabulary) -> None:
    lines = ["2 cups gluten-free rolled oats", *GRANOLA_BARS[1:]]
    assert diets_of(lines, vocab) == {V, GF, DF}


def test_an_unknown_food_blocks_every_claim(vocab: FoodVocabulary) -> None:
    assert derive_diets(["rice", "onion"], vocab) == ALL_DIETS
    assert derive_diets(["rice", None], vocab) == frozenset()
    assert derive_diets(["rice", "unobtainium"], vocab) == frozenset()
    assert diets_of(["1 cup rice", "2 tbsp frobnicated zorp"], vocab) == frozenset()


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_lines_map_to_foods(vocab: FoodVocabulary) -> None:
    lines = [line for _, recipe in catalogue_recipes() for line in recipe["recipeIngredient"]]
    unmapped = [line for line in lines if line_food(line, vocab) is None]
    assert len(lines) > 1000
    coverage = 1 - len(unmapped) / len(lines)
    assert coverage >= 0.98, f"{coverage:.2%} mapped; unmapped: {unmapped[:40]}"


STATED = {
    "https://schema.org/VeganDiet": Diet.VEGAN,
    "https://schema.org/VegetarianDiet": Diet.VEGETARIAN,
    "https://schema.org/GlutenFreeDiet": Diet.GLUTEN_FREE,
}


@pytest.mark.parametrize("diet", sorted(STATED.values()))
def test_stated_diets_are_derived_from_the_foods(vocab: FoodVocabulary, diet: Diet) -> None:
    """Every recipe that states a diet (suitableForDiet) qualifies for it from its foods alone."""
    failures = []
    for where, recipe in catalogue_recipes():
        stated = {STATED[s] for s in recipe.get("suitableForDiet") or [] if s in STATED}
        if diet in stated and diet not in diets_of(recipe["recipeIngredient"], vocab):
            failures.append(where)
    assert not failures

"""Units and quantities: the numbers, fractions and ranges of a line, and the canonical unit
names they are measured in."""

from __future__ import annotations

import re
from functools import lru_cache

# --------------------------------------------------------------------------- vocabulary

_FRACTIONS: dict[str, float] = {
    "½": 1 / 2,
    "⅓": 1 / 3,
    "⅔": 2 / 3,
    "¼": 1 / 4,
    "¾": 3 / 4,
    "⅕": 1 / 5,
    "⅖": 2 / 5,
    "⅗": 3 / 5,
    "⅘": 4 / 5,
    "⅙": 1 / 6,
    "⅚": 5 / 6,
    "⅐": 1 / 7,
    "⅛": 1 / 8,
    "⅜": 3 / 8,
    "⅝": 5 / 8,
    "⅞": 7 / 8,
    "⅑": 1 / 9,
    "⅒": 1 / 10,
}
_FRAC_CLASS = "".join(_FRACTIONS)

_NUMBER_WORDS: dict[str, float] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "half": 0.5,
    "quarter": 0.25,
    "dozen": 12,
    "couple": 2,
}

# canonical unit -> spellings (compared lower-cased, trailing dots removed)
_UNIT_SPELLINGS: dict[str, tuple[str, ...]] = {
    "g": ("g", "gr", "grs", "gm", "gms", "gram", "grams", "gramme", "grammes"),
    "kg": ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"),
    "mg": ("mg", "milligram", "milligrams", "milligramme", "milligrammes"),
    "ml": ("ml", "mls", "milliliter", "milliliters", "millilitre", "millilitres", "cc"),
    "cl": ("cl", "centiliter", "centiliters", "centilitre", "centilitres"),
    "dl": ("dl", "deciliter", "deciliters", "decilitre", "decilitres"),
    "l": ("l", "lt", "ltr", "ltrs", "liter", "liters", "litre", "litres"),
    "tsp": ("tsp", "tsps", "tspn", "tspns", "ts", "teaspoon", "teaspoons", "teaspoonful"),
    "tbsp": (
        "tbsp",
        "tbsps",
        "tbs",
        "tbl",
        "tbls",
        "tblsp",
        "tblsps",
        "tbspn",
        "tablespoon",
        "tablespoons",
        "tablespoonful",
        "tablespoonfuls",
    ),
    "cup": ("c", "cup", "cups", "cupful", "cupfuls"),
    "fl oz": ("fl oz", "fl. oz", "floz", "fluid ounce", "fluid ounces", "fl ounce", "fl ounces"),
    "oz": ("oz", "ozs", "ounce", "ounces"),
    "lb": ("lb", "lbs", "pound", "pounds"),
    "pint": ("pint", "pints", "pt", "pts"),
    "quart": ("quart", "quarts", "qt", "qts"),
    "gallon": ("gallon", "gallons", "gal", "gals"),
    "pinch": ("pinch", "pinches"),
    "dash": ("dash", "dashes"),
    "drop": ("drop", "drops"),
    "splash": ("splash", "splashes"),
    "clove": ("clove", "cloves"),
    "can": ("can", "cans", "tin", "tins"),
    "jar": ("jar", "jars"),
    "package": ("package", "packages", "pkg", "pkgs", "pack", "packs"),
    "packet": ("packet", "packets", "sachet", "sachets"),
    "envelope": ("envelope", "envelopes"),
    "bag": ("bag", "bags"),
    "box": ("box", "boxes"),
    "bottle": ("bottle", "bottles"),
    "carton": ("carton", "cartons"),
    "container": ("container", "containers", "tub", "tubs"),
    "block": ("block", "blocks"),
    "bunch": ("bunch", "bunches", "bundle", "bundles"),
    "handful": ("handful", "handfuls"),
    "slice": ("slice", "slices"),
    "sprig": ("sprig", "sprigs"),
    "stick": ("stick", "sticks"),
    "piece": ("piece", "pieces", "pc", "pcs"),
    "head": ("head", "heads"),
    "stalk": ("stalk", "stalks"),
    "stem": ("stem", "stems"),
    "rib": ("rib", "ribs"),
    "leaf": ("leaf", "leaves"),
    "ear": ("ear", "ears"),
    "bulb": ("bulb", "bulbs"),
    "pod": ("pod", "pods"),
    "sheet": ("sheet", "sheets"),
    "strip": ("strip", "strips"),
    "cube": ("cube", "cubes"),
    "chunk": ("chunk", "chunks"),
    "wedge": ("wedge", "wedges"),
    "knob": ("knob", "knobs"),
    "scoop": ("scoop", "scoops"),
    "loaf": ("loaf", "loaves"),
    "square": ("square", "squares"),
    "inch": ("inch", "inches", "in"),
    "cm": ("cm", "cms", "centimeter", "centimeters", "centimetre", "centimetres"),
    "mm": ("mm", "millimeter", "millimeters", "millimetre", "millimetres"),
    "recipe": ("recipe", "recipes", "batch", "batches"),
    "rack": ("rack", "racks"),
    "ball": ("ball", "balls"),
    "tube": ("tube", "tubes"),
    "bar": ("bar", "bars"),
    "slab": ("slab", "slabs"),
}
_UNIT_LOOKUP: dict[str, str] = {
    spelling: unit for unit, spellings in _UNIT_SPELLINGS.items() for spelling in spellings
}
# case matters for these abbreviations: "T"/"Tb" is a tablespoon, "t" a teaspoon
_UNIT_CASED: dict[str, str] = {"T": "tbsp", "Tb": "tbsp", "TB": "tbsp", "TBSP": "tbsp", "t": "tsp"}
_UNIT_MODIFIERS = frozenset(
    "small medium large lg md sm big extra heaping heaped rounded level scant generous good "
    "thin thick whole fat plump very large-ish good-sized medium-size medium-sized".split()
)

# Plural unit words that the reference labels write in the singular ("leaves" -> "leaf").
_SINGULAR: dict[str, str] = {
    "cups": "cup",
    "tablespoons": "tablespoon",
    "teaspoons": "teaspoon",
    "tbsps": "tbsp",
    "tsps": "tsp",
    "ounces": "ounce",
    "lbs": "lb",
    "pounds": "pound",
    "grams": "gram",
    "kilograms": "kilogram",
    "milligrams": "milligram",
    "milliliters": "milliliter",
    "millilitres": "millilitre",
    "liters": "liter",
    "litres": "litre",
    "quarts": "quart",
    "pints": "pint",
    "gallons": "gallon",
    "inches": "inch",
    "leaves": "leaf",
    "pieces": "piece",
    "cloves": "clove",
    "slices": "slice",
    "cubes": "cube",
    "sprigs": "sprig",
    "stems": "stem",
    "strips": "strip",
    "sticks": "stick",
    "chunks": "chunk",
    "wedges": "wedge",
    "stalks": "stalk",
    "cans": "can",
    "ribs": "rib",
    "heads": "head",
    "lengths": "length",
    "ears": "ear",
    "pods": "pod",
    "squares": "square",
    "handfuls": "handful",
    "drops": "drop",
    "sheets": "sheet",
    "packages": "package",
    "bunches": "bunch",
    "pinches": "pinch",
    "bulbs": "bulb",
    "branches": "branch",
    "shoots": "shoot",
    "dashes": "dash",
    "balls": "ball",
    "envelopes": "envelope",
    "bags": "bag",
    "scoops": "scoop",
    "segments": "segment",
    "knobs": "knob",
    "recipes": "recipe",
    "boxes": "box",
    "loaves": "loaf",
    "racks": "rack",
    "jars": "jar",
    "links": "link",
    "slabs": "slab",
    "bottles": "bottle",
    "rashers": "rasher",
    "wheels": "wheel",
    "clusters": "cluster",
    "grinds": "grind",
    "packets": "packet",
    "blocks": "block",
    "baskets": "basket",
    "shots": "shot",
    "containers": "container",
    "cartons": "carton",
    "tins": "tin",
    "tubs": "tub",
    "splashes": "splash",
    "twists": "twist",
    "feet": "foot",
    "batches": "batch",
    "bundles": "bundle",
    "centimeters": "centimeter",
    "centimetres": "centimetre",
    "millimeters": "millimeter",
    "millimetres": "millimetre",
}
_SIZES = frozenset(
    "small medium large lg md sm big jumbo tiny extra-large medium-size medium-sized "
    "medium-large small-medium baby giant huge miniature mini".split()
)
_PUNCT = frozenset(",;:()[]{}.!?*/-–—&+")
_CONTAINERS = frozenset(
    "can jar package packet envelope bag box bottle carton container block bunch piece "
    "stick slice loaf head".split()
)


# --------------------------------------------------------------------------- quantities


def _num(text: str) -> float | None:
    """Read one number: "3", "1.5", ".25", "1/2", "1 1/2", "1½", "½", "one"."""
    s = text.strip().lower()
    if not s:
        return None
    word = _NUMBER_WORDS.get(s)
    if word is not None:
        return word
    total = 0.0
    if s[-1] in _FRACTIONS:
        total = _FRACTIONS[s[-1]]
        s = s[:-1].strip()
        if not s:
            return total
        if s.endswith("-"):  # "1-½"
            s = s[:-1]
    m = _NUM_RE.fullmatch(s)
    if m is None:
        return None
    whole, num, den, dec = m.group("whole"), m.group("num"), m.group("den"), m.group("dec")
    try:
        if dec is not None:
            return float(dec) + total
        value = float(whole) if whole else 0.0
        if num is not None and den is not None:
            d = float(den)
            if d == 0:
                return None
            value += float(num) / d
        return value + total
    except ValueError:  # pragma: no cover - guarded by the regex
        return None


_NUM_RE = re.compile(
    r"(?:(?P<dec>\d*\.\d+|\d+\.?)|(?:(?P<whole>\d+)[\s-]+)?(?P<num>\d+)\s*/\s*(?P<den>\d+))"
)
_RANGE_RE = re.compile(r"^(.+?)\s*(?:-+|–|—|\bto\b|\bor\b)\s*(.+)$")


def parse_quantity(text: str) -> tuple[float | None, float | None]:
    """Read a quantity: "1 1/2" -> (1.5, None), "2-3" -> (2.0, 3.0), junk -> (None, None)."""
    try:
        s = " ".join(str(text).replace("⁄", "/").replace("\u00a0", " ").split()).lower()
        if not s or len(s) > 40:
            return None, None
        s = re.sub(r"^(?:about|approx\.?|approximately|around|roughly|scant|generous)\s+", "", s)
        s = re.sub(r"^(\d+)\s*x$", r"\1", s)  # "4x" as in "4 x 400g"
        dozen = 1.0
        if s.endswith("dozen") and s != "dozen":
            s, dozen = s[: -len("dozen")].strip(), 12.0
        single = _num(s)
        if single is not None:
            return single * dozen, None
        m = _RANGE_RE.match(s)
        if m is not None:
            lo, hi = _num(m.group(1)), _num(m.group(2))
            if lo is not None and hi is not None:
                return lo * dozen, hi * dozen
        return None, None
    except Exception:  # never raise on odd input
        return None, None


def canonical_unit(text: str) -> str | None:
    """Map a unit spelling to its canonical form: "Tbsp." -> "tbsp", "grams" -> "g"."""
    try:
        s = " ".join(str(text).replace(".", " ").split())
        if not s or len(s) > 40:
            return None
        if s in _UNIT_CASED:
            return _UNIT_CASED[s]
        low = s.lower()
        unit = _UNIT_LOOKUP.get(low)
        if unit is not None:
            return unit
        words = low.split()
        if len(words) > 1:
            rest = [w for w in words if w not in _UNIT_MODIFIERS]
            if rest and rest != words:
                return canonical_unit(" ".join(rest))
            for w in words:  # "oz can" -> "oz": the first unit word leads
                unit = _UNIT_LOOKUP.get(w)
                if unit is not None:
                    return unit
        return None
    except Exception:  # never raise on odd input
        return None


@lru_cache(maxsize=8192)
def _token_unit(tok: str) -> str | None:
    return canonical_unit(tok)

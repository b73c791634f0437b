"""Ingredient-line parser: rules for quantities and units, a CRF for the rest.

``parse_ingredient("2 (14-ounce) cans chickpeas, drained and rinsed")`` splits a recipe line into
quantity, unit, food name, size, preparation, comment and purpose. Numbers and units are read by
rules; a linear-chain CRF (python-crfsuite, ``data/ingredient_crf.model``) labels each token.
See ``data/INGREDIENT_MODEL.md`` for how the model was trained.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = [
    "ParsedIngredient",
    "canonical_unit",
    "parse_ingredient",
    "parse_quantity",
]

MODEL_PATH = Path(__file__).parent / "data" / "ingredient_crf.model"
MAX_LINE_CHARS = 600  # longer lines are cut before tagging (keeps the parser fast on junk)
# token labels: QTY UNIT SIZE NAME PREP COMMENT PURPOSE, plus PUNC/OTHER for the rest


@dataclass(frozen=True, slots=True)
class ParsedIngredient:
    """One parsed ingredient line."""

    raw: str
    quantity: float | None
    quantity_max: float | None
    unit: str | None
    name: str | None
    size: str | None
    preparation: str | None
    comment: str | None
    purpose: str | None


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


# --------------------------------------------------------------------------- tokenising

_SPLIT_PUNCT_RE = re.compile(r"([,;:()\[\]{}!?*]|\.(?!\d))")
_NUMERIC_CHUNK_RE = re.compile(
    rf"(?P<num>(?:\d*\.\d+|\d+)(?:/\d+)?[{_FRAC_CLASS}]?|[{_FRAC_CLASS}])"
    rf"|(?P<word>[^\d{_FRAC_CLASS}\-–—/]+(?:[-–—][^\d{_FRAC_CLASS}\-–—/]+)*)"
    r"|(?P<sep>[-–—/]+)"
)
_PERCENT_RE = re.compile(r"\d+(?:[.,]\d+)?%|\d+(?:\.\d+)?-\d+(?:\.\d+)?%")
_INT_RE = re.compile(r"\d+")
_FRACTION_TOKEN_RE = re.compile(rf"(?:\d+/\d+|[{_FRAC_CLASS}])")
_HAS_DIGIT_RE = re.compile(rf"[\d{_FRAC_CLASS}]")
_KEEP_SLASH = frozenset(("and/or", "w/", "w/o", "n/a"))


def _is_number(tok: str) -> bool:
    return (
        bool(tok)
        and (tok[0].isdigit() or tok[0] in _FRACTIONS or tok[0] == ".")
        and parse_quantity(tok)[0] is not None
    )


def _is_unit_word(word: str) -> bool:
    return _token_unit(word.split("-", 1)[0]) is not None


def _split_chunk(chunk: str, out: list[tuple[str, bool]]) -> None:
    """Split one whitespace-free chunk that holds digits ("250g/9oz", "½-inch", "2-3")."""
    if _PERCENT_RE.fullmatch(chunk):
        out.append((chunk, False))
        return
    parts = [(m.lastgroup or "word", m.group()) for m in _NUMERIC_CHUNK_RE.finditer(chunk)]
    n = len(parts)
    i = 0
    while i < n:
        kind, text = parts[i]
        nxt = parts[i + 1] if i + 1 < n else ("", "")
        nxt2 = parts[i + 2] if i + 2 < n else ("", "")
        if kind == "num":
            if nxt[0] == "sep" and nxt[1] in ("-", "–", "—") and nxt2[0] == "num":
                out.append((f"{text}-{nxt2[1]}", False))  # "2-3": one range token
                i += 3
                continue
            if nxt[0] == "sep" and nxt[1] in ("-", "–", "—") and nxt2[0] == "word":
                if _is_unit_word(nxt2[1]):  # "15-ounce" -> "15", "ounce"
                    out.append((text, False))
                    out.append((nxt2[1], True))
                else:  # "1-minute", "10-year"
                    out.append((f"{text}-{nxt2[1]}", False))
                i += 3
                continue
            if nxt[0] == "word":
                if _is_unit_word(nxt[1]):  # "250g"
                    out.append((text, False))
                    out.append((nxt[1], False))
                else:  # "2x", "7Up"
                    out.append((text + nxt[1], False))
                i += 2
                continue
            out.append((text, False))
        elif kind == "word":
            if nxt[0] == "sep" and nxt[1] != "/" and nxt2[0] == "num":  # "U-10"
                out.append((text + nxt[1] + nxt2[1], False))
                i += 3
                continue
            out.append((text, False))
        elif text == "/":
            out.append(("/", False))
        elif text not in ("-", "–", "—") or (i > 0 and i + 1 < n):
            out.append((text, False))
        i += 1


def _tokenize(line: str) -> tuple[list[str], list[bool]]:
    """Split a line into tokens; the second list marks unit words hyphenated to a number."""
    raw: list[tuple[str, bool]] = []
    for chunk in line.split():
        for piece in _SPLIT_PUNCT_RE.split(chunk):
            if not piece:
                continue
            if _HAS_DIGIT_RE.search(piece):
                _split_chunk(piece.replace("\xad", ""), raw)
            elif "/" in piece and piece.lower() not in _KEEP_SLASH:
                for k, part in enumerate(piece.split("/")):
                    if k:
                        raw.append(("/", False))
                    if part:
                        raw.append((part, False))
            else:
                raw.append((piece, False))
    toks: list[str] = []
    joined: list[bool] = []
    i = 0
    n = len(raw)
    while i < n:
        tok, j = raw[i]
        # "1 1/2", "1 ½" -> one token
        if (
            i + 1 < n
            and _INT_RE.fullmatch(tok)
            and _FRACTION_TOKEN_RE.fullmatch(raw[i + 1][0])
            and not (i + 2 < n and raw[i + 2][1])
        ):
            tok = f"{tok} {raw[i + 1][0]}"
            i += 1
        # "2 to 3", "2 or 3", "2 - 3" -> one range token
        if (
            i + 2 < n
            and raw[i + 1][0].lower() in ("to", "or", "-", "–", "—")
            and _is_number(tok)
            and _is_number(raw[i + 2][0])
            and "-" not in tok
        ):
            hi = raw[i + 2][0]
            if i + 3 < n and _INT_RE.fullmatch(hi) and _FRACTION_TOKEN_RE.fullmatch(raw[i + 3][0]):
                hi = f"{hi} {raw[i + 3][0]}"
                i += 1
            tok = f"{tok}-{hi}"
            i += 2
        if (
            i + 2 < n
            and raw[i + 1][0] in ("x", "X")
            and _INT_RE.fullmatch(tok)
            and _is_number(raw[i + 2][0])
        ):
            tok = f"{tok}x"  # "4 x 400g": four of them
            i += 1
        low = tok.lower()
        sing = _SINGULAR.get(low)
        if sing is not None:
            tok = sing.capitalize() if tok[:1].isupper() else sing
        toks.append(tok)
        joined.append(j)
        i += 1
    return toks, joined


# --------------------------------------------------------------------------- features


def _kind(tok: str, low: str) -> str:
    if low in _PUNCT or all(c in _PUNCT for c in low):
        return "P"
    if tok[0].isdigit() or tok[0] in _FRACTIONS or (tok[0] == "." and len(tok) > 1):
        return "N"
    if low in _NUMBER_WORDS:
        return "NW"
    if low in _SIZES:
        return "S"
    if _token_unit(tok) is not None:
        return "U"
    return "W"


def _shape(tok: str) -> str:
    if tok.isupper():
        return "AA"
    if tok[:1].isupper():
        return "Aa"
    if "-" in tok:
        return "a-a"
    return "a"


_SEG_BREAK = frozenset((",", ";", "(", ")", "[", "]", ":"))


def _segments(
    lows: Sequence[str], kinds: Sequence[str]
) -> tuple[list[int], list[tuple[str, bool, str, str]]]:
    """Split at commas and brackets; per segment: first word, has or/and, next/prev first."""
    seg_of: list[int] = []
    firsts: list[str] = []
    has_or: list[bool] = []
    cur = 0
    started = False
    for w, k in zip(lows, kinds, strict=True):
        if w in _SEG_BREAK:
            if started:
                cur += 1
                started = False
            seg_of.append(cur)
            continue
        if not started:
            started = True
            while len(firsts) <= cur:
                firsts.append(k if k in ("N", "NW") else w)
                has_or.append(False)
        if w in ("or", "and", "and/or"):
            has_or[cur] = True
        seg_of.append(cur)
    count = max(max(seg_of, default=0) + 1, len(firsts))
    while len(firsts) < count:
        firsts.append("-")
        has_or.append(False)
    info = [
        (
            firsts[j],
            has_or[j],
            firsts[j + 1] if j + 1 < count else "</s>",
            firsts[j - 1] if j > 0 else "<s>",
        )
        for j in range(count)
    ]
    return seg_of, info


def _features(toks: Sequence[str], joined: Sequence[bool]) -> list[list[str]]:
    n = len(toks)
    lows = [t.lower() for t in toks]
    kinds = [_kind(t, lw) for t, lw in zip(toks, lows, strict=True)]
    padded = ["<s3>", "<s2>", "<s>", *lows, "</s>", "</s2>", "</s3>"]
    pkinds = ["B", "B", "B", *kinds, "E", "E", "E"]
    seg_of, seg_info = _segments(lows, kinds)
    out: list[list[str]] = []
    depth = 0
    commas = 0
    seen_name_word = False
    seen_for = False
    for i in range(n):
        w = lows[i]
        k = kinds[i]
        if w in ("(", "["):
            depth += 1
        elif w in (")", "]") and depth > 0:
            depth -= 1
        pi = i + 3
        f = [
            "bias",
            "w=" + w,
            "k=" + k,
            "s3=" + w[-3:],
            "s2=" + w[-2:],
            "p3=" + w[:3],
            "sh=" + _shape(toks[i]),
            "w-1=" + padded[pi - 1],
            "w+1=" + padded[pi + 1],
            "w-2=" + padded[pi - 2],
            "w+2=" + padded[pi + 2],
            "w-3=" + padded[pi - 3],
            "w+3=" + padded[pi + 3],
            "s4=" + w[-4:],
            "k-1kk+1=" + pkinds[pi - 1] + k + pkinds[pi + 1],
            "k-1=" + pkinds[pi - 1],
            "k+1=" + pkinds[pi + 1],
            "k-2k-1=" + pkinds[pi - 2] + pkinds[pi - 1],
            "k+1k+2=" + pkinds[pi + 1] + pkinds[pi + 2],
            "w-1w=" + padded[pi - 1] + "|" + w,
            "ww+1=" + w + "|" + padded[pi + 1],
            "pos=" + str(min(i, 6)),
            "rpos=" + str(min(n - 1 - i, 6)),
            "cm=" + str(min(commas, 3)),
        ]
        if depth:
            f.append("paren")
        if joined[i]:
            f.append("joined")
        if seen_name_word:
            f.append("after_word")
        if seen_for:
            f.append("after_for")
        if k == "U":
            f.append("u=" + (_token_unit(toks[i]) or ""))
        sg = seg_of[i]
        first, has_or, nxt_first, prev_first = seg_info[sg]
        f.append("sg=" + str(min(sg, 3)))
        f.append("sgf=" + first)
        f.append("sgn=" + nxt_first)
        f.append("sgp=" + prev_first)
        if has_or:
            f.append("sgor")
        out.append(f)
        if w == ",":
            commas += 1
        elif w in ("for", "to") and commas:
            seen_for = True
        elif k == "W" and not depth:
            seen_name_word = True
    return out


# --------------------------------------------------------------------------- model


class _Model:
    """Lazily opened CRF tagger shared by all threads (tagging is serialised)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tagger: Any = None
        self._loaded = False

    def tag(self, feats: list[list[str]]) -> list[str] | None:
        with self._lock:
            if not self._loaded:
                self._loaded = True
                self._tagger = _open_tagger(MODEL_PATH)
            if self._tagger is None:
                return None
            tags: list[str] = self._tagger.tag(feats)
            if "NAME" not in tags and tags:
                # the best path has no food name: take the likeliest name tokens instead
                probs = [self._tagger.marginal("NAME", i) for i in range(len(tags))]
                _force_name(tags, probs, feats)
            return tags

    def reset(self) -> None:
        """Forget the loaded model (the next call reloads it)."""
        with self._lock:
            self._tagger = None
            self._loaded = False


def _force_name(tags: list[str], probs: list[float], feats: list[list[str]]) -> None:
    """Relabel the most name-like run of word tokens as NAME (in place)."""
    words = {i for i, f in enumerate(feats) if "k=W" in f or "k=U" in f or "k=S" in f}
    if not words:
        return
    best = max(sorted(words), key=lambda i: probs[i])
    if probs[best] < 0.05:
        return
    tags[best] = "NAME"
    for step in (-1, 1):
        i = best + step
        while 0 <= i < len(tags) and i in words and probs[i] >= 0.25 * probs[best]:
            tags[i] = "NAME"
            i += step


def _open_tagger(path: Path) -> Any:
    try:
        import pycrfsuite

        if not path.is_file():
            return None
        tagger = pycrfsuite.Tagger()
        tagger.open(str(path))
        return tagger
    except Exception:
        return None


_MODEL = _Model()


def _rule_tags(toks: Sequence[str]) -> list[str]:
    """Fallback labels when no model is available: measure, then name up to the first comma."""
    tags: list[str] = []
    state = "start"
    depth = 0
    for tok in toks:
        low = tok.lower()
        k = _kind(tok, low)
        if low in ("(", "["):
            depth += 1
        if k == "P":
            tags.append("PUNC")
            if low == "," and state == "name":
                state = "comment"
        elif depth:
            tags.append("COMMENT")
        elif state == "start" and k in ("N", "NW"):
            tags.append("QTY")
        elif state == "start" and k == "U":
            tags.append("UNIT")
        elif state == "start" and k == "S":
            tags.append("SIZE")
        elif state in ("start", "name"):
            state = "name"
            tags.append("NAME")
        elif low in ("for", "to") and state == "comment":
            state = "purpose"
            tags.append("PURPOSE")
        else:
            tags.append("PURPOSE" if state == "purpose" else "COMMENT")
        if low in (")", "]") and depth:
            depth -= 1
    return tags


# --------------------------------------------------------------------------- assembling


def _join(words: list[str]) -> str | None:
    text = " ".join(words).strip()
    return text or None


def _primary_measure(
    toks: Sequence[str], joined: Sequence[bool], tags: Sequence[str]
) -> tuple[float | None, float | None, str | None, str | None]:
    """The line's main quantity, the unit attached to it, and a container size ("14 oz").

    "2 (14-ounce) cans" and "1 10 oz bag" give the container ("can", "bag") as the unit and the
    inner measure as the size; "1 cup (240 ml)" gives "cup".
    """
    n = len(toks)
    depth: list[int] = []
    d = 0
    for tok in toks:
        if tok in ("(", "["):
            d += 1
        depth.append(d)
        if tok in (")", "]") and d:
            d -= 1
    q0: int | None = None
    qty: tuple[float | None, float | None] = (None, None)
    for outer_only in (True, False):
        for i in range(n):
            if tags[i] == "QTY" and (depth[i] == 0 or not outer_only):
                q = parse_quantity(toks[i])
                if q[0] is not None:
                    q0, qty = i, q
                    break
        if q0 is not None:
            break
    if q0 is not None and q0 + 1 < n and toks[q0 + 1].lower() == "dozen":
        qty = (
            qty[0] * 12 if qty[0] is not None else None,
            qty[1] * 12 if qty[1] is not None else None,
        )
    base = depth[q0] if q0 is not None else 0
    unit: str | None = None
    size: str | None = None
    inner: int | None = None  # a number right after the quantity that sizes a container
    adjacent = q0 is not None  # nothing but punctuation since the quantity (or an inner measure)
    j = q0 + 1 if q0 is not None else 0
    while j < n:
        tag = tags[j]
        if tag == "QTY":
            if adjacent and inner is None:
                inner = j
            elif depth[j] <= base:
                break  # a second measure: the first one had no unit
            j += 1
            continue
        if tag == "UNIT":
            k = j
            while k + 1 < n and (
                tags[k + 1] == "UNIT"
                or (toks[k + 1] == "." and k + 2 < n and tags[k + 2] == "UNIT")
            ):
                k += 1
            words = [toks[x] for x in range(j, k + 1) if toks[x] != "."]
            if inner is not None or joined[j]:
                # an inner measure ("15-ounce cans", "(400 g) tin"): keep it as the size
                if size is None:
                    lead = toks[inner] if inner is not None else toks[j - 1]
                    size = f"{lead} {canonical_unit(words[0]) or words[0]}"
                inner = None
                adjacent = True
                rest = canonical_unit(" ".join(words[1:])) if len(words) > 1 else None
                if rest is not None:
                    unit = rest
                    break
            elif depth[j] <= base:
                unit = canonical_unit(" ".join(words))
                if unit is not None:
                    if size is None and unit in _CONTAINERS:
                        size = _bracketed_measure(toks, tags, k + 1)  # "1 can (14 oz)"
                    break
            j = k + 1
            continue
        if tag not in ("PUNC", "SIZE"):
            adjacent = False
        j += 1
    return qty[0], qty[1], unit, size


def _bracketed_measure(toks: Sequence[str], tags: Sequence[str], i: int) -> str | None:
    """ "(14 ounces)" starting at ``i`` -> "14 oz"."""
    if i + 2 < len(toks) and toks[i] == "(" and tags[i + 1] == "QTY" and tags[i + 2] == "UNIT":
        unit = canonical_unit(toks[i + 2])
        if unit is not None:
            return f"{toks[i + 1]} {unit}"
    return None


_EMPTY = ParsedIngredient("", None, None, None, None, None, None, None, None)


def parse_ingredient(line: str) -> ParsedIngredient:
    """Parse one ingredient line into its fields; never raises.

    Lines repeat across recipes ("salt to taste", "2 cloves garlic, minced"): the results of the
    most recent ones are kept (they are immutable), so a line is tagged once.
    """
    if isinstance(line, str):
        return _parse_kept(line)
    return _parse_safely(line)


def _parse_safely(line: str) -> ParsedIngredient:
    try:
        return _parse(line)
    except Exception:
        try:
            raw = str(line).strip()
        except Exception:
            raw = ""
        return ParsedIngredient(raw, None, None, None, None, None, None, None, None)


_parse_kept = functools.lru_cache(maxsize=32_768)(_parse_safely)

_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _clean(line: str) -> str:
    text = unicodedata.normalize("NFC", line)
    text = text.replace("⁄", "/").replace("\u00a0", " ").replace("\u2009", " ")
    return _CONTROL_RE.sub(" ", text)


def _parse(line: str) -> ParsedIngredient:
    raw = str(line).strip()
    if not raw:
        return _EMPTY
    toks, joined = _tokenize(_clean(raw[:MAX_LINE_CHARS]))
    if not toks:
        return ParsedIngredient(raw, None, None, None, None, None, None, None, None)
    tags = _tag_tokens(toks, joined)
    buckets: dict[str, list[str]] = {
        "NAME": [],
        "SIZE": [],
        "PREP": [],
        "COMMENT": [],
        "PURPOSE": [],
    }
    for tok, tag in zip(toks, tags, strict=True):
        bucket = buckets.get(tag)
        if bucket is not None and not all(c in _PUNCT for c in tok):
            bucket.append(tok)
    quantity, quantity_max, unit, measure_size = _primary_measure(toks, joined, tags)
    size = _join(buckets["SIZE"]) or measure_size
    return ParsedIngredient(
        raw=raw,
        quantity=quantity,
        quantity_max=quantity_max,
        unit=unit,
        name=_join(buckets["NAME"]),
        size=size,
        preparation=_join(buckets["PREP"]),
        comment=_join(buckets["COMMENT"]),
        purpose=_join(buckets["PURPOSE"]),
    )


def _tag_tokens(toks: Sequence[str], joined: Sequence[bool]) -> list[str]:
    """Label tokens with the CRF (rules if the model file is missing)."""
    tags = _MODEL.tag(_features(toks, joined))
    if tags is None or len(tags) != len(toks):
        return _rule_tags(toks)
    return tags


# --------------------------------------------------------------------------- reference data
# Helpers shared by scripts/train_ingredient_model.py and the accuracy test, so both read the
# labelled CSVs (ingredient-parser project, MIT, (c) Tom Strange) the same way.

REFERENCE_COLUMNS = ("quantity", "unit", "size", "preparation", "comment", "purpose", "name")
_COLUMN_TAG = {
    "quantity": "QTY",
    "unit": "UNIT",
    "size": "SIZE",
    "preparation": "PREP",
    "comment": "COMMENT",
    "purpose": "PURPOSE",
    "name": "NAME",
}


def is_held_out(line: str) -> bool:
    """Deterministic 80/20 split by a hash of the input line: True for the 20% held out."""
    digest = hashlib.sha1(line.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 10 >= 8


def normalise_name(text: str | None) -> str:
    """The name metric's normal form: lower case, single spaces."""
    return " ".join((text or "").lower().split())


def decode_label_quantity(text: str) -> float | None:
    """First quantity of a label cell ("1#1$2 170" -> 1.5, "#1$2-1" -> 0.5, "2 dozen" -> 24)."""
    words = text.split()
    if not words:
        return None
    first = _decode_label_word(words[0])
    if len(words) > 1 and words[1].lower() == "dozen":
        first = f"{first} dozen"
    if re.fullmatch(r"[\d.]+x", first):  # "4x" in "4 x 400g"
        first = first[:-1]
    return parse_quantity(first)[0]


def _decode_label_word(word: str) -> str:
    return re.sub(r"#(\d+)\$(\d+)", r" \1/\2", word).strip()


def reference_unit(row: dict[str, str]) -> str | None:
    """The labelled unit of the first measure, canonical (None when there is none).

    The label lists every unit word in order ("ounce can" for "2 15-ounce cans"). Unit words that
    only size something are skipped: glued to a number ("15-ounce"), inside parentheses after a
    number ("2 squash (about 3 pounds)") or right after a second number ("1 10 oz bag").
    """
    text = row.get("input", "")
    label = re.sub(r"\b(?:fl|fluid)\s+(?:oz|ounces?)\b", "fl_oz", row.get("unit", ""), flags=re.I)
    num = rf"[\d{_FRAC_CLASS}][\d{_FRAC_CLASS}./]*"
    glued = re.compile(rf"{num}\s*-\s*$")
    words = "|".join(w for w in _NUMBER_WORDS if len(w) > 2)
    second = re.compile(rf"(?:^|\s)(?:{num}|{words})\s*(?:x\s*)?\s\d+(?:\.\d+)?\s*$", re.I)
    offsets: dict[str, int] = {}
    for word in label.split():
        unit = "fl oz" if word == "fl_oz" else canonical_unit(word)
        if unit is None:
            continue
        pattern = re.escape(word).replace("fl_oz", r"fl\.?\s*oz") + r"(?:e?s)?\.?(?![^\W\d_])"
        m = re.compile(pattern, re.I).search(text, offsets.get(word, 0))
        if m is None:
            return unit
        offsets[word] = m.end()
        before = text[: m.start()]
        in_paren = before.count("(") > before.count(")") and any(
            c.isdigit() or c in _FRACTIONS for c in before[: before.rfind("(")]
        )
        if in_paren or glued.search(before) or second.search(before):
            continue
        return unit
    return None


_NUMBER_START = frozenset("#.0123456789" + _FRAC_CLASS)


def _lemma(w: str) -> str:
    if w.endswith("es") and len(w) > 4:
        return w[:-2]
    if w.endswith("s") and len(w) > 3:
        return w[:-1]
    return w


def _word_match(tok: str, label_word: str, column: str) -> bool:
    t = tok.lower()
    lw = label_word.lower()
    if t == lw:
        return True
    if column == "quantity" or (t[:1] in _NUMBER_START and lw[:1] in _NUMBER_START):
        lab = parse_quantity(_decode_label_word(label_word))
        if lab[0] is not None and parse_quantity(tok) == lab:
            return True
    return _lemma(t) == _lemma(lw) and len(t) > 2


def align_labels(row: dict[str, str]) -> tuple[list[str], list[bool], list[str]] | None:
    """Tokenise ``row["input"]`` and give each token the label column it belongs to."""
    toks, joined = _tokenize(_clean(row["input"].strip()))
    n = len(toks)
    if not n or n > 120:
        return None
    cols: list[tuple[str, list[str]]] = []
    for col in REFERENCE_COLUMNS:
        words = [w for w in row.get(col, "").split() if not all(c in _PUNCT for c in w)]
        if words:
            cols.append((col, words))
    ncol = len(cols)
    punct = [all(c in _PUNCT for c in t) for t in toks]
    memo: dict[tuple[int, tuple[int, ...], int], tuple[float, tuple[int, ...]]] = {}

    def best(i: int, ptr: tuple[int, ...], prev: int) -> tuple[float, tuple[int, ...]]:
        key = (i, ptr, prev)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if i == n:
            left = sum(len(cols[c][1]) - ptr[c] for c in range(ncol))
            res: tuple[float, tuple[int, ...]] = (10.0 * left, ())
            memo[key] = res
            return res
        if len(memo) > 200_000:
            raise RecursionError("alignment too large")
        cost, path = best(i + 1, ptr, prev)
        options = [(cost + (0.0 if punct[i] else 10.0), (-1, *path))]
        for c in range(ncol):
            words = cols[c][1]
            if ptr[c] < len(words) and _word_match(toks[i], words[ptr[c]], cols[c][0]):
                nptr = ptr[:c] + (ptr[c] + 1,) + ptr[c + 1 :]
                sub_cost, sub_path = best(i + 1, nptr, c)
                switch = 0.0 if prev in (c, -1) else 1.0
                options.append((sub_cost + switch, (c, *sub_path)))
        res = min(options, key=lambda o: o[0])
        memo[key] = res
        return res

    try:
        _cost, path = best(0, (0,) * ncol, -1)
    except RecursionError:
        return None
    tags = [
        _COLUMN_TAG[cols[c][0]] if c >= 0 else ("PUNC" if punct[i] else "OTHER")
        for i, c in enumerate(path)
    ]
    return toks, joined, tags


def read_reference_rows(path: Path) -> list[dict[str, str]]:
    """The labelled rows (non-empty ``name``) of one reference CSV."""
    with path.open(encoding="utf-8", newline="") as fh:
        return [row for row in csv.DictReader(fh) if row.get("name", "").strip()]


def score_rows(rows: Sequence[dict[str, str]]) -> dict[str, float]:
    """Name, quantity and unit accuracy of ``parse_ingredient`` on labelled rows."""
    name_ok = qty_ok = unit_ok = 0
    for row in rows:
        parsed = parse_ingredient(row["input"])
        if normalise_name(parsed.name) == normalise_name(row["name"]):
            name_ok += 1
        want_q = decode_label_quantity(row.get("quantity", ""))
        got_q = parsed.quantity
        if (want_q is None and got_q is None) or (
            want_q is not None
            and got_q is not None
            and math.isclose(want_q, got_q, rel_tol=1e-6, abs_tol=1e-3)
        ):
            qty_ok += 1
        if reference_unit(row) == (canonical_unit(parsed.unit) if parsed.unit else None):
            unit_ok += 1
    total = max(len(rows), 1)
    return {
        "rows": float(len(rows)),
        "name": name_ok / total,
        "quantity": qty_ok / total,
        "unit": unit_ok / total,
    }

"""The labelled reference data and its scoring: used by the training script and the accuracy
test only, never by the parser."""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections.abc import Sequence
from pathlib import Path

from ._model import _clean, parse_ingredient
from ._tokens import _tokenize
from ._units import _FRAC_CLASS, _FRACTIONS, _NUMBER_WORDS, _PUNCT, canonical_unit, parse_quantity

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

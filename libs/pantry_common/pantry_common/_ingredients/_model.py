"""The model: the CRF tagger (python-crfsuite), the rules around it, and `parse_ingredient`."""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._tokens import _features, _kind, _tokenize
from ._units import _CONTAINERS, _PUNCT, canonical_unit, parse_quantity

MODEL_PATH = Path(__file__).parent.parent / "data" / "ingredient_crf.model"
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

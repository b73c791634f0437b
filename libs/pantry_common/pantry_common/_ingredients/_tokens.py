"""Tokens and features: how a line is cut into tokens, and what the CRF sees of each."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ._units import (
    _FRAC_CLASS,
    _FRACTIONS,
    _NUMBER_WORDS,
    _PUNCT,
    _SINGULAR,
    _SIZES,
    _token_unit,
    parse_quantity,
)

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

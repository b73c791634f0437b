"""The library's surface: `__all__` is exactly its public names, and each is used somewhere.

As httpx checks its own (`tests/test_exported_members.py`): every name a user may import is
listed, nothing else is, and each resolves. The names are imported lazily, by extra.
"""

from __future__ import annotations

import re
from pathlib import Path

import pantry_common

ROOT = Path(__file__).resolve().parents[3]
USERS = ("services", "tests", "bench", "scripts", "observability", "libs/pantry_common/tests")


def test_all_is_exactly_the_public_names() -> None:
    for name in pantry_common.__all__:
        getattr(pantry_common, name)  # resolves (and is now in the module's namespace)
    public = [name for name in vars(pantry_common) if not name.startswith("_")]
    assert sorted(public) == sorted(pantry_common.__all__)
    assert len(set(pantry_common.__all__)) == len(pantry_common.__all__)
    assert sorted(dir(pantry_common)) == sorted({*vars(pantry_common), *pantry_common.__all__})


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        pantry_common.not_a_name  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "not_a_name" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_every_exported_name_has_a_user() -> None:
    text = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in USERS
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts and path.name != "test_exports.py"
    )
    unused = [n for n in pantry_common.__all__ if not re.search(rf"\b{re.escape(n)}\b", text)]
    assert unused == []

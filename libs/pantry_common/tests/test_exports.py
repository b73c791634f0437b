"""The public surface of pantry_common is what `__all__` says, and nothing private leaks."""

from __future__ import annotations

import pantry_common


def test_all_names_exist_once() -> None:
    for name in pantry_common.__all__:
        assert hasattr(pantry_common, name), name
    assert len(set(pantry_common.__all__)) == len(pantry_common.__all__)


def test_no_public_name_is_missing_from_all() -> None:
    public = {
        name
        for name, value in vars(pantry_common).items()
        if not name.startswith("_") and not isinstance(value, type(pantry_common))
    }
    assert public <= set(pantry_common.__all__)

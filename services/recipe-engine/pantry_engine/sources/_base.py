"""What a source gives: schema.org Recipe documents, with where they came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pantry_common import SearchCriteria


class SourceError(Exception):
    """A source that could not answer (unreachable, timed out, unusable answer)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    doc: dict[str, Any]
    source: str
    canonical_url: str | None = None


class Source(Protocol):
    name: str

    async def search(self, criteria: SearchCriteria, limit: int) -> list[Candidate]: ...

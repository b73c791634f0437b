"""Every message and event schema, once: producers and consumers import these models.

RabbitMQ messages are an `Envelope` (id, type, occurred_at, payload, trace headers) whose
payload is a `SearchRequested` or a `RecipeImport`. Events to browsers are an `Event` (type,
search_id, occurred_at, data) published on Redis; the stream id becomes the SSE `id:`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, TypeAdapter

#: Routing keys on the `pantry` topic exchange.
SEARCH_REQUESTED = "search.requested"
RECIPE_IMPORT = "recipe.import"

EventType = Literal["search.accepted", "search.results", "search.completed", "search.failed"]
EVENT_TYPES: tuple[EventType, ...] = (
    "search.accepted",
    "search.results",
    "search.completed",
    "search.failed",
)


def _now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SearchCriteria(_Model):
    """What decides which recipes match (`SearchQuery.criteria()`), as sent to the engine."""

    q: str = Field(default="", max_length=200)
    have: list[str] = Field(default_factory=list, max_length=30)
    exclude: list[str] = Field(default_factory=list, max_length=30)
    diet: list[str] = Field(default_factory=list, max_length=5)
    max_time: int | None = Field(default=None, ge=0)
    cuisine: str | None = None


class SearchRequested(_Model):
    type: Literal["search.requested"] = "search.requested"
    search_id: uuid.UUID
    criteria: SearchCriteria


class RecipeImport(_Model):
    type: Literal["recipe.import"] = "recipe.import"
    job_id: uuid.UUID
    url: AnyHttpUrl


Payload = Annotated[SearchRequested | RecipeImport, Field(discriminator="type")]


class Envelope(_Model):
    """One RabbitMQ message body. `id` is the idempotency key of the consumers."""

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    occurred_at: datetime = Field(default_factory=_now)
    payload: Payload
    headers: dict[str, str] = Field(default_factory=dict, description="trace context")

    @classmethod
    def wrap(cls, payload: SearchRequested | RecipeImport, **headers: str) -> Envelope:
        return cls(type=payload.type, payload=payload, headers=headers)


class RecipeFound(_Model):
    """A recipe summary in a `search.results` event."""

    id: int
    title: str
    cuisine: str | None = None
    course: str | None = None
    total_time_min: int | None = None
    diets: list[str] = Field(default_factory=list)
    source: str
    new: bool = Field(description="stored for the first time by this search")


class SourceOutcome(_Model):
    found: int = 0
    error: str | None = None
    duration_ms: float = 0.0


class AcceptedData(_Model):
    sources: list[str]


class ResultsData(_Model):
    source: str
    recipes: list[RecipeFound]


class CompletedData(_Model):
    found: int
    new: int
    sources: dict[str, SourceOutcome]


class FailedData(_Model):
    reason: str


class Event(_Model):
    """An event for live clients, about one search."""

    type: EventType
    search_id: uuid.UUID
    occurred_at: datetime = Field(default_factory=_now)
    data: AcceptedData | ResultsData | CompletedData | FailedData
    headers: dict[str, str] = Field(default_factory=dict, description="trace context")


ENVELOPE = TypeAdapter(Envelope)
EVENT = TypeAdapter(Event)

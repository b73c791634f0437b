"""What the agents do with a message: search the sources and store what they find, or import
one page. Each writes its work and the message id in one transaction (idempotent on the id),
then says what changed (the terms the stored recipes touch) and only then that it is done: the
search's events, or the import job's status. The api decides what that makes stale."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
from redis.asyncio import Redis

from pantry_common import (
    AcceptedData,
    AnalysedRecipe,
    CatalogueChange,
    ChangeAnnouncer,
    CompletedData,
    Envelope,
    Event,
    EventPublisher,
    FailedData,
    FoodVocabulary,
    Keys,
    RecipeError,
    RecipeFound,
    RecipeImport,
    ResultsData,
    SearchRequested,
    SourceOutcome,
    analyse_recipe,
    is_watched,
    mark_refresh,
    store_recipes,
    trace_headers,
    upsert_recipe,
)

from .consumer import Permanent
from .metrics import (
    EVENTS_PUBLISHED,
    RECIPES_STORED,
    REFRESHES_SKIPPED,
    SOURCE_FAILURES,
    SOURCE_SECONDS,
)
from .outcomes import ImportOutcome, SearchOutcome
from .sources import Candidate, Source, SourceError, UrlRefused, WebPageSource

log = logging.getLogger(__name__)

#: How long a finished message is remembered (a second copy comes within the refresh
#: interval, or from a redelivery soon after).
FINISHED_SECONDS = 3600


@dataclass
class Deps:
    pool: asyncpg.Pool
    redis: Redis
    changes: ChangeAnnouncer
    events: EventPublisher
    keys: Keys
    vocab: FoodVocabulary
    sources: list[Source]
    web: WebPageSource
    source_timeout: float
    max_candidates: int
    #: A refresh older than this that nobody watches is dropped (0: never).
    unwatched_expiry: float = 0.0


async def _claim(conn: Any, message_id: Any, kind: str) -> bool:
    """Record the message as handled, in the work's transaction. False: it already was."""
    claimed = await conn.fetchval(
        """INSERT INTO processed_messages (message_id, kind) VALUES ($1, $2)
           ON CONFLICT DO NOTHING RETURNING true""",
        message_id,
        kind,
    )
    return bool(claimed)


def _analyse(deps: Deps, candidates: list[Candidate]) -> list[AnalysedRecipe]:
    out = []
    for candidate in candidates:
        try:
            recipe = analyse_recipe(
                candidate.doc,
                source=candidate.source,
                vocab=deps.vocab,
                canonical_url=candidate.canonical_url,
            )
        except RecipeError as exc:
            log.info("candidate skipped", extra={"source": candidate.source, "reason": str(exc)})
            continue
        out.append(recipe)
    return out


class SearchHandler:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _publish(self, event: Event) -> None:
        """Publish with the current trace, so that the delivery joins it."""
        await self.deps.events.publish(event.model_copy(update={"headers": trace_headers()}))
        EVENTS_PUBLISHED.labels(event.type).inc()

    async def _ask(self, source: Source, payload: SearchRequested) -> tuple[str, Any]:
        started = time.perf_counter()
        try:
            found = await asyncio.wait_for(
                source.search(payload.criteria, self.deps.max_candidates),
                self.deps.source_timeout,
            )
        except TimeoutError:
            SOURCE_FAILURES.labels(source.name, "timeout").inc()
            return source.name, SourceOutcome(
                error="timed out", duration_ms=(time.perf_counter() - started) * 1000
            )
        except SourceError as exc:
            SOURCE_FAILURES.labels(source.name, "error").inc()
            log.warning("source failed", extra={"source": source.name, "error": str(exc)})
            return source.name, SourceOutcome(
                error=str(exc), duration_ms=(time.perf_counter() - started) * 1000
            )
        finally:
            SOURCE_SECONDS.labels(source.name).observe(time.perf_counter() - started)
        return source.name, found

    async def __call__(self, envelope: Envelope) -> None:
        """A refresh from the queue: dropped when it waited past the expiry and nobody watches
        it (its refresh state goes, so the next search of it asks again), else `handle`."""
        payload = envelope.payload
        if not isinstance(payload, SearchRequested):
            raise Permanent(f"a {payload.type} message on the search queue")
        deps, search_id = self.deps, str(payload.search_id)
        waited = (datetime.now(UTC) - envelope.occurred_at).total_seconds()
        if (
            deps.unwatched_expiry
            and waited > deps.unwatched_expiry
            and not await is_watched(deps.redis, deps.keys, search_id)
        ):
            await deps.redis.delete(deps.keys.refresh(search_id))
            await deps.pool.execute(
                "UPDATE search_refreshes SET completed_at = now() WHERE search_id = $1", search_id
            )
            REFRESHES_SKIPPED.labels("expired").inc()
            log.info("refresh expired unwatched", extra={"waited_s": round(waited, 1)})
            return
        await self.handle(envelope, payload)

    async def handle(self, envelope: Envelope, payload: SearchRequested) -> None:
        """Search the sources, store what they found, say what changed and that it is done;
        for the queue's copy and the watched lane's alike, done once by the message id."""
        deps, search_id = self.deps, str(payload.search_id)
        prior = await deps.pool.fetchval(
            "SELECT outcome FROM processed_messages WHERE message_id = $1", envelope.id
        )
        if prior is not None:
            if await deps.redis.exists(deps.keys.finished(str(envelope.id))):
                REFRESHES_SKIPPED.labels("done").inc()
                return  # the other copy did all of it
            # Redelivered after its work was committed: finish the rest.
            await self._finish(envelope, payload, SearchOutcome.model_validate(prior))
            return
        await mark_refresh(deps.redis, None, deps.keys, search_id, "running")
        names = [s.name for s in deps.sources]
        await self._publish(
            Event(
                type="search.accepted",
                search_id=payload.search_id,
                data=AcceptedData(sources=names),
            )
        )
        answers = await asyncio.gather(*(self._ask(s, payload) for s in deps.sources))
        outcomes: dict[str, SourceOutcome] = {}
        candidates: list[Candidate] = []
        for name, answer in answers:
            if isinstance(answer, SourceOutcome):
                outcomes[name] = answer
            else:
                outcomes[name] = SourceOutcome(found=len(answer))
                candidates.extend(answer)
        if deps.sources and all(o.error for o in outcomes.values()):
            errors = "; ".join(f"{n}: {o.error}" for n, o in outcomes.items())
            raise SourceError(f"every source failed ({errors})")
        analysed = await asyncio.to_thread(_analyse, deps, candidates)
        async with deps.pool.acquire() as conn, conn.transaction():
            if not await _claim(conn, envelope.id, "search"):
                return  # another consumer has it
            found: list[RecipeFound] = []
            change = CatalogueChange()
            for recipe, stored in zip(analysed, await store_recipes(conn, analysed), strict=True):
                change = change.merge(stored.change)
                RECIPES_STORED.labels(recipe.source, "new" if stored.created else "updated").inc()
                found.append(
                    RecipeFound(
                        id=stored.id,
                        title=recipe.title,
                        cuisine=recipe.cuisine,
                        course=recipe.course,
                        total_time_min=recipe.total_time_min,
                        diets=recipe.diets,
                        source=recipe.source,
                        new=stored.created,
                    )
                )
            outcome = SearchOutcome(recipes=found, sources=outcomes, change=change)
            await conn.execute(
                "UPDATE processed_messages SET outcome = $2 WHERE message_id = $1",
                envelope.id,
                outcome.model_dump(mode="json"),
            )
        await self._finish(envelope, payload, outcome)

    async def _finish(
        self, envelope: Envelope, payload: SearchRequested, outcome: SearchOutcome
    ) -> None:
        """After the commit: what changed, then the search's state and its events.

        Raises RedisError when the change cannot be said: the message is retried rather than
        leave answers that hide the new recipes.
        """
        deps, search_id = self.deps, str(payload.search_id)
        await deps.changes.announce(outcome.change)
        await mark_refresh(deps.redis, deps.pool, deps.keys, search_id, "done")
        recipes = outcome.recipes
        by_source: dict[str, list[RecipeFound]] = {}
        for recipe in recipes:
            by_source.setdefault(recipe.source, []).append(recipe)
        for source, items in by_source.items():
            await self._publish(
                Event(
                    type="search.results",
                    search_id=payload.search_id,
                    data=ResultsData(source=source, recipes=items),
                )
            )
        await self._publish(
            Event(
                type="search.completed",
                search_id=payload.search_id,
                data=CompletedData(
                    found=len(recipes), new=sum(r.new for r in recipes), sources=outcome.sources
                ),
            )
        )
        await deps.redis.set(deps.keys.finished(str(envelope.id)), "1", ex=FINISHED_SECONDS)

    async def dead_lettered(self, envelope: Envelope, reason: str) -> None:
        payload = envelope.payload
        if not isinstance(payload, SearchRequested):
            return
        await self._publish(
            Event(
                type="search.failed",
                search_id=payload.search_id,
                data=FailedData(reason=reason[:500]),
            )
        )
        await mark_refresh(
            self.deps.redis, self.deps.pool, self.deps.keys, str(payload.search_id), "done"
        )


class ImportHandler:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def __call__(self, envelope: Envelope) -> None:
        payload = envelope.payload
        if not isinstance(payload, RecipeImport):
            raise Permanent(f"a {payload.type} message on the import queue")
        deps = self.deps
        prior = await deps.pool.fetchval(
            "SELECT outcome FROM processed_messages WHERE message_id = $1", envelope.id
        )
        if prior is not None:  # redelivered after its work was committed: finish the rest
            await self._finish(payload, ImportOutcome.model_validate(prior))
            return
        try:
            candidate = await asyncio.wait_for(
                deps.web.fetch(str(payload.url)), deps.source_timeout
            )
        except UrlRefused as exc:
            raise Permanent(str(exc)) from exc
        analysed = await asyncio.to_thread(_analyse, deps, [candidate])
        if not analysed:
            raise Permanent("the page's recipe has no name or no ingredient lines")
        async with deps.pool.acquire() as conn, conn.transaction():
            if not await _claim(conn, envelope.id, "import"):
                return
            stored = await upsert_recipe(conn, analysed[0])
            RECIPES_STORED.labels("web", "new" if stored.created else "updated").inc()
            outcome = ImportOutcome(
                recipe_id=stored.id, created=stored.created, change=stored.change
            )
            await conn.execute(
                "UPDATE processed_messages SET outcome = $2 WHERE message_id = $1",
                envelope.id,
                outcome.model_dump(mode="json"),
            )
        await self._finish(payload, outcome)

    async def _finish(self, payload: RecipeImport, outcome: ImportOutcome) -> None:
        """After the commit: what changed, and only then the job is `done` (whoever reads
        `done` and searches finds the recipe)."""
        await self.deps.changes.announce(outcome.change)
        await self.deps.pool.execute(
            """UPDATE import_jobs SET status = 'done', recipe_id = $2, error = NULL,
                   updated_at = now() WHERE job_id = $1""",
            payload.job_id,
            outcome.recipe_id,
        )

    async def dead_lettered(self, envelope: Envelope, reason: str) -> None:
        payload = envelope.payload
        if isinstance(payload, RecipeImport):
            await self.deps.pool.execute(
                """UPDATE import_jobs SET status = 'failed', error = $2, updated_at = now()
                   WHERE job_id = $1 AND status = 'queued'""",
                payload.job_id,
                reason[:500],
            )


__all__ = ["Deps", "ImportHandler", "SearchHandler"]

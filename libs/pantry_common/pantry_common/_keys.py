"""Every Redis key and channel, under one prefix and a schema version."""

from __future__ import annotations

from dataclasses import dataclass

#: Bumped whenever the shape of what is stored changes, so old entries are never read.
SCHEMA_VERSION = 2


@dataclass(frozen=True, slots=True)
class Keys:
    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:v{SCHEMA_VERSION}"

    def search(self, digest: str) -> str:
        """A cached search response."""
        return f"{self.base}:search:{digest}"

    @property
    def clock(self) -> str:
        """The catalogue clock: ticked each time stored recipes are announced."""
        return f"{self.base}:catalogue-clock"

    def stamp(self, tag: str) -> str:
        """The clock at the last change of one term (a lexeme, a food, `words`)."""
        return f"{self.base}:stamp:{tag}"

    def refresh(self, search_id: str) -> str:
        """Refresh state of a search: requested, running or done (expires with the interval)."""
        return f"{self.base}:refresh:{search_id}"

    def request(self, search_id: str) -> str:
        """The `search.requested` envelope of a search's pending refresh (as the outbox sent
        it), for the engine's watched lane; it expires with the interval."""
        return f"{self.base}:request:{search_id}"

    def watched(self, search_id: str) -> str:
        """Set while someone subscribed to a search lately: its refresh never expires unseen."""
        return f"{self.base}:watched:{search_id}"

    @property
    def watched_lane(self) -> str:
        """Search ids that someone subscribed to while their refresh waited in the queue: the
        engine takes these first, beside the queue (a bounded list of hints)."""
        return f"{self.base}:watched-lane"

    def finished(self, message_id: str) -> str:
        """Set once a message's work is committed and its events are out: a second copy of it
        (the queue's, after the watched lane did it) has nothing left to do."""
        return f"{self.base}:finished:{message_id}"

    def events(self, search_id: str) -> str:
        """Pub/sub channel of one search's events."""
        return f"{self.base}:events:{search_id}"

    @property
    def events_pattern(self) -> str:
        return f"{self.base}:events:*"

    def stream(self, search_id: str) -> str:
        """Short, expiring stream of one search's events, for clients that come back."""
        return f"{self.base}:stream:{search_id}"

    def rate(self, kind: str, client: str) -> str:
        """Token bucket of one client on one kind of route (`search`, `import`); it expires
        once it would be full again, so an idle client costs nothing."""
        return f"{self.base}:rate:{kind}:{client}"

    def job(self, job_id: str) -> str:
        """State of an import job."""
        return f"{self.base}:job:{job_id}"

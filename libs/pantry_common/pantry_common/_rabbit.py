"""RabbitMQ topology (declared the same by every service) and confirmed publishing.

exchange `pantry` (topic, durable)
  search.requested → recipe-engine.search        (quorum)
  recipe.import    → recipe-engine.import        (quorum)
a failed message waits in <queue>.retry (quorum, TTL = the retry delay) and comes back to
<queue> through the default exchange; after the last attempt it goes to <queue>.dlq with the
reason. `x-delivery-limit` dead-letters a message that keeps killing its consumer.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from ._messages import RECIPE_IMPORT, SEARCH_REQUESTED, Envelope

EXCHANGE = "pantry"
SEARCH_QUEUE = "recipe-engine.search"
IMPORT_QUEUE = "recipe-engine.import"
ROUTES = {SEARCH_QUEUE: SEARCH_REQUESTED, IMPORT_QUEUE: RECIPE_IMPORT}
#: Redeliveries (crashes, lost connections) before the broker dead-letters a message by itself.
DELIVERY_LIMIT = 10


def retry_queue(queue: str) -> str:
    return f"{queue}.retry"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


@dataclass(frozen=True, slots=True)
class Topology:
    exchange: AbstractExchange
    queues: dict[str, AbstractQueue]


async def declare_topology(channel: AbstractChannel) -> Topology:
    """Declare the exchange, the work queues, their retry and dead-letter queues (idempotent)."""
    exchange = await channel.declare_exchange(EXCHANGE, aio_pika.ExchangeType.TOPIC, durable=True)
    queues: dict[str, AbstractQueue] = {}
    for name, routing_key in ROUTES.items():
        dlq = dead_letter_queue(name)
        await channel.declare_queue(dlq, durable=True, arguments={"x-queue-type": "quorum"})
        await channel.declare_queue(
            retry_queue(name),
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": name,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        queue = await channel.declare_queue(
            name,
            durable=True,
            arguments={
                "x-queue-type": "quorum",
                "x-delivery-limit": DELIVERY_LIMIT,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": dlq,
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        await queue.bind(exchange, routing_key)
        queues[name] = queue
    return Topology(exchange=exchange, queues=queues)


def to_message(envelope: Envelope, **headers: str | int) -> aio_pika.Message:
    """A persistent message whose id is the envelope's (the consumers' idempotency key)."""
    return aio_pika.Message(
        envelope.model_dump_json().encode(),
        message_id=str(envelope.id),
        type=envelope.type,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        timestamp=envelope.occurred_at,
        headers={**envelope.headers, **headers},
    )

"""The transactional outbox, refresh bookkeeping, processed messages and import jobs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from pantry_common._migrations import execute_script

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


UPGRADE = r"""
-- Messages accepted by the api, kept until RabbitMQ confirms them (then deleted).
CREATE TABLE outbox (
    id           uuid PRIMARY KEY,
    routing_key  text NOT NULL,
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_created_idx ON outbox (created_at);

-- When each search last asked the engine for more: the gate when Redis is away.
CREATE TABLE search_refreshes (
    search_id     uuid PRIMARY KEY,
    requested_at  timestamptz NOT NULL,
    completed_at  timestamptz
);

-- Messages the engine has handled, written in the transaction of their work.
CREATE TABLE processed_messages (
    message_id    uuid PRIMARY KEY,
    kind          text NOT NULL,
    processed_at  timestamptz NOT NULL DEFAULT now(),
    outcome       jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE import_jobs (
    job_id      uuid PRIMARY KEY,
    url         text NOT NULL,
    status      text NOT NULL CHECK (status IN ('queued', 'done', 'failed')),
    recipe_id   bigint REFERENCES recipes (id) ON DELETE SET NULL,
    error       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
"""

DOWNGRADE = r"""
DROP TABLE import_jobs;
DROP TABLE processed_messages;
DROP TABLE search_refreshes;
DROP TABLE outbox;
"""



def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)

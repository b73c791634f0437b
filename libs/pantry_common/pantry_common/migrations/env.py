"""Alembic environment: online migrations over asyncpg, one transaction per run.

Each applied migration is recorded with its parents (`record_lineage`), and an upgrade to head
first checks where the database is: ahead of this code after a rollback (accepted, nothing to
apply), or on another line (refused): pantry_common._migrations explains why.
"""

from __future__ import annotations

import asyncio

from alembic import context
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from pantry_common._migrations import database_ahead, log, record_lineage

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=None,
        transaction_per_migration=True,
        on_version_apply=record_lineage,
    )
    if config.attributes.get("accept_ahead"):
        script = ScriptDirectory.from_config(config)
        ahead = database_ahead(
            connection,
            known=(r.revision for r in script.walk_revisions()),
            code_heads=script.get_heads(),
            db_heads=context.get_context().get_current_heads(),
        )
        connection.commit()
        if ahead:
            log.warning(
                "the database schema is ahead of this code: at %s, which descends from this"
                " code's head %s; nothing to migrate (a rollback: each migration keeps the"
                " previous release working, expand then contract)",
                ", ".join(ahead),
                ", ".join(script.get_heads()),
                extra={"database_revisions": ahead, "code_heads": list(script.get_heads())},
            )
            return
    with context.begin_transaction():
        context.run_migrations()


async def _main() -> None:
    engine = create_async_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            # Serialise concurrent runs (several pods starting at once) on an advisory lock.
            await connection.exec_driver_sql("SELECT pg_advisory_lock(7201931)")
            await connection.commit()
            try:
                await connection.run_sync(_run)
            finally:
                await connection.exec_driver_sql("SELECT pg_advisory_unlock(7201931)")
                await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: run them against a database")
asyncio.run(_main())

"""Alembic environment: online migrations over asyncpg, one transaction per run."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

config = context.config


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=None, transaction_per_migration=True)
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

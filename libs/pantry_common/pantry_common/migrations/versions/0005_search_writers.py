"""Which transaction wrote each search row, so that a cached answer can be brought up to date.

- `recipe_search.written_by`: the transaction that last wrote the row (`pg_current_xact_id()`);
  `created_by`: the one that inserted it. A search records its statement's snapshot
  (`pg_current_snapshot()`); the rows that snapshot could not see are then exactly those with
  `written_by` not visible in it, found by the index from the snapshot's xmin on. A row whose
  `created_by` the snapshot sees was there already: it changed, rather than arrived.

Rows written before this migration carry FrozenTransactionId (2), visible to every snapshot.
No lock and no counter: writers stay as concurrent as they were.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from pantry_common._migrations import execute_script

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


UPGRADE = r"""
ALTER TABLE recipe_search
    ADD COLUMN written_by xid8 NOT NULL DEFAULT '2',
    ADD COLUMN created_by xid8 NOT NULL DEFAULT '2';
ALTER TABLE recipe_search
    ALTER COLUMN written_by SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN created_by SET DEFAULT pg_current_xact_id();
CREATE INDEX recipe_search_written_by_idx ON recipe_search (written_by);
"""

DOWNGRADE = r"""
DROP INDEX recipe_search_written_by_idx;
ALTER TABLE recipe_search DROP COLUMN written_by, DROP COLUMN created_by;
"""


def upgrade() -> None:
    execute_script(UPGRADE)


def downgrade() -> None:
    execute_script(DOWNGRADE)

"""The words of the English language, so that the typo corrector leaves them as typed.

A query word that no recipe uses is corrected to the nearest word recipes use (trigram
similarity); a word of the language ("without", "dinner", "humus") is not a typo and is kept.
The list is the GCIDE dictionary's, as the `english-words` package ships it (lower-case,
letters only), with the plural forms of each word (`plural_forms`, the vocabulary's rules).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from pantry_common._foods import plural_forms
from pantry_common._migrations import execute_script

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def dictionary() -> list[str]:
    from english_words import get_english_words_set

    words = get_english_words_set(["gcide"], lower=True, alpha=True)
    out = set(words)
    for word in words:
        out.update(plural_forms(word))
    return sorted(out)


def upgrade() -> None:
    execute_script("CREATE TABLE dictionary_words (word text PRIMARY KEY);\n")
    op.get_bind().execute(
        sa.text("INSERT INTO dictionary_words (word) SELECT unnest(CAST(:words AS text[]))"),
        {"words": dictionary()},
    )


def downgrade() -> None:
    execute_script("DROP TABLE dictionary_words;\n")

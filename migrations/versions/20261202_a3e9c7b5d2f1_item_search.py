"""search: one document per item (item_search: title, and the problem text, measures, summary,
history comments and evidence file names), indexed for any substring: pg_trgm GIN indexes on
PostgreSQL (where the extension can be created), an FTS5 trigram table on SQLite; filled for
the items already there

Revision ID: a3e9c7b5d2f1
Revises: f2c7a9d4e831
Create Date: 2026-12-02 02:10:00

"""
import logging

from alembic import op
import sqlalchemy as sa


revision = 'a3e9c7b5d2f1'
down_revision = 'f2c7a9d4e831'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

FILL_POSTGRESQL = """
INSERT INTO item_search (item_id, title, body)
SELECT i.id, lower(i.title), lower(concat_ws(E'\\n', nullif(i.text, ''), nullif(i.measures, ''), nullif(i.summary, ''),
    (SELECT string_agg(e.comment, E'\\n' ORDER BY e.id) FROM item_events e WHERE e.item_id = i.id AND e.comment <> ''),
    (SELECT string_agg(v.filename, E'\\n' ORDER BY v.id) FROM evidence v WHERE v.item_id = i.id AND v.removed_at IS NULL)))
FROM items i
"""
FILL_SQLITE = """
INSERT INTO item_search (rowid, title, body)
SELECT i.id, lower(i.title), lower(rtrim(
    coalesce(nullif(i.text, '') || char(10), '') || coalesce(nullif(i.measures, '') || char(10), '')
    || coalesce(nullif(i.summary, '') || char(10), '')
    || coalesce((SELECT group_concat(e.comment, char(10)) FROM item_events e WHERE e.item_id = i.id AND e.comment <> '') || char(10), '')
    || coalesce((SELECT group_concat(v.filename, char(10)) FROM evidence v WHERE v.item_id = i.id AND v.removed_at IS NULL), ''),
    char(10)))
FROM items i
"""


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        trigrams = True
        try:
            with bind.begin_nested():
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except sa.exc.DBAPIError as error:
            trigrams = False
            log.warning("pg_trgm could not be created (%s): search reads every document, without an index. "
                        "A database superuser can run CREATE EXTENSION pg_trgm; then run this migration's "
                        "index statements (see migrations/versions/…_item_search.py), or downgrade and upgrade.",
                        str(error).splitlines()[0])
        op.create_table(
            "item_search",
            sa.Column("item_id", sa.Integer(), sa.ForeignKey("items.id", ondelete="CASCADE",
                                                             name="fk_item_search_item_id_items"), nullable=False),
            sa.Column("title", sa.Text(), nullable=False, server_default=""),
            sa.Column("body", sa.Text(), nullable=False, server_default=""),
            sa.PrimaryKeyConstraint("item_id", name="pk_item_search"),
        )
        op.execute(FILL_POSTGRESQL)
        if trigrams:
            op.execute("CREATE INDEX ix_item_search_title_trgm ON item_search USING gin (title gin_trgm_ops)")
            op.execute("CREATE INDEX ix_item_search_body_trgm ON item_search USING gin (body gin_trgm_ops)")
    else:
        op.execute("CREATE VIRTUAL TABLE item_search USING fts5(title, body, tokenize = 'trigram')")
        op.execute(FILL_SQLITE)


def downgrade():
    op.execute("DROP TABLE item_search")

"""Finding items by what they say: title, problem text, measures, close-out summary, the comments
and progress notes of their history, and their evidence files' names.

One document per item in ``item_search`` (``title``, ``body``, in lower case), rewritten in the same transaction
as each write that changes what it holds: after every flush, the items it touched (an item's text,
a history row with a comment, an evidence file added or withdrawn) get their documents again.
``refresh-stats`` rebuilds every document (after a restore or a load by SQL).

Each engine indexes it with its own text index, for any substring, Chinese included, with no word
segmentation:

- PostgreSQL: ``pg_trgm`` GIN indexes on both columns, which serve ``ILIKE '%…%'`` for three
  characters or more. Where the extension could not be created, the search still answers, reading
  every document (the migration says so).
- SQLite: an FTS5 table with the ``trigram`` tokenizer, matched as a phrase (three characters or
  more). Shorter words fall back to a substring test of each document of the items the other
  filters (visibility first) leave.

Several words separated by spaces must all occur. Title matches are listed first.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import chain

from markupsafe import Markup, escape
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    event,
    exists,
    false,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Session

from tracker.errors import Invalid
from tracker.extensions import db
from tracker.items.models import Evidence, Item, ItemEvent

QUERY_MAX = 100  # characters of a search
WORDS_MAX = 5
SHORT = 3  # words shorter than this have no trigram to look up
LOCK_SPACE = 0x7365  # pg_advisory_xact_lock's first key for item documents ("se"; the scheduler uses its own)
TEXT_FIELDS = ("title", "text", "measures", "summary")

# The tables as SQLAlchemy sees them; not in the models' metadata: the migration made them, per
# engine. PostgreSQL: a table keyed by the item's id. SQLite: an FTS5 table whose rowid is the
# item's id (the column named as the table is FTS5's own, for MATCH).
SEARCH = Table("item_search", MetaData(), Column("item_id", Integer, primary_key=True), Column("title", String),
               Column("body", Text))
FTS = Table("item_search", MetaData(), Column("rowid", Integer, primary_key=True), Column("title", String),
            Column("body", Text), Column("item_search", String))


@dataclass(frozen=True)
class Query:
    """A search as typed: its words (all must occur), in lower case."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def __bool__(self) -> bool:
        return bool(self.words)


def parse(value: str | None, *, strict: bool) -> Query:
    """The words of a search box. Too long: ``Invalid`` (the API) or cut (the pages)."""
    typed = " ".join((value or "").split())
    if len(typed) > QUERY_MAX:
        if strict:
            raise Invalid(f"搜索内容不能超过{QUERY_MAX}个字。", field="q")
        typed = typed[:QUERY_MAX]
    words = tuple(dict.fromkeys(word.lower() for word in typed.split(" ") if word))[:WORDS_MAX]
    return Query(words)


# Matching ----------------------------------------------------------------------------------------

def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _phrase(word: str, column: str | None = None) -> str:
    """An FTS5 query for ``word`` as a phrase (its quotes doubled), in ``column`` or any."""
    quoted = '"' + word.replace('"', '""') + '"'
    return f"{column} : {quoted}" if column else quoted


def matches(query: Query, *, title_only: bool = False):
    """SQL condition on ``Item``: every word of ``query`` occurs in its document (or its title)."""
    if not query:
        return false()
    conditions = []
    if db.engine.dialect.name == "postgresql":
        for word in query.words:
            # The documents are kept in lower case: LIKE compares bytes, where ILIKE lowers every
            # character of every document it reads (four times the cost on Chinese text).
            pattern = bindparam(None, _like(word))
            found = SEARCH.c.title.like(pattern, escape="\\")
            if not title_only:
                found = found | SEARCH.c.body.like(pattern, escape="\\")
            conditions.append(Item.id.in_(select(SEARCH.c.item_id).where(found)))
        return and_(*conditions)
    # "id + 0": SQLite then reads the list's order from an index and tests each id against the
    # matches, rather than fetching every match by its id and sorting them (a province's page at
    # 10^5, 42 → 7 ms).
    for word in query.words:
        if len(word) >= SHORT:
            phrase = bindparam(None, _phrase(word, "title" if title_only else None))
            conditions.append((Item.id + 0).in_(select(FTS.c.rowid).where(FTS.c.item_search.op("MATCH")(phrase))))
        else:  # no trigram: the document of each item the other conditions leave is read
            found = _holds(FTS.c.title, word) if title_only else _holds(FTS.c.title, word) | _holds(FTS.c.body, word)
            conditions.append(exists().where(FTS.c.rowid == Item.id, found))
    return and_(*conditions)


def _holds(column, word: str):
    """``word`` (in lower case, as the documents are) occurs in ``column`` (SQLite)."""
    return func.instr(column, word) > 0


# Showing ------------------------------------------------------------------------------------------

def documents(item_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The documents of a page's items: (title, body) by id, one statement."""
    if not item_ids:
        return {}
    table = SEARCH if db.engine.dialect.name == "postgresql" else FTS
    key = table.c.item_id if table is SEARCH else table.c.rowid
    rows = db.session.execute(select(key, table.c.title, table.c.body).where(key.in_(item_ids)))
    return {row[0]: (row[1], row[2]) for row in rows}


def marked(value: str, query: Query) -> Markup:
    """``value`` escaped, with each occurrence of the search's words in ``<mark>``."""
    if not query or not value:
        return escape(value or "")
    pattern = re.compile("|".join(re.escape(word) for word in sorted(query.words, key=len, reverse=True)), re.IGNORECASE)
    out, last = [], 0
    for found in pattern.finditer(value):
        out.append(escape(value[last:found.start()]))
        out.append(Markup("<mark>%s</mark>") % found.group(0))
        last = found.end()
    out.append(escape(value[last:]))
    return Markup("").join(out)


def snippet(body: str, query: Query, width: int = 30) -> Markup | None:
    """Where the first word occurs in the body, ``width`` characters either side, marked; None
    when it does not (the title matched)."""
    if not query or not body:
        return None
    at = body.lower().find(query.words[0])
    if at < 0:
        return None
    start, end = max(0, at - width), min(len(body), at + len(query.words[0]) + width)
    piece = " ".join(body[start:end].split())
    return Markup("%s%s%s") % ("…" if start else "", marked(piece, query), "…" if end < len(body) else "")


def hit(document: tuple[str, str] | None, query: Query) -> Markup | None:
    """What a list shows under a title the search found elsewhere: where in the body it occurs."""
    if document is None:
        return None
    title, body = document
    if all(word in (title or "").lower() for word in query.words):
        return None
    return snippet(body, query)


# Keeping the documents -----------------------------------------------------------------------------

def write(connection, item_ids: Iterable[int]) -> int:
    """Rewrite the documents of ``item_ids`` from the items, their history's comments and their
    evidence (withdrawn files left out). Returns how many were written."""
    ids = sorted(set(item_ids))
    if not ids:
        return 0
    if connection.dialect.name == "postgresql":
        # One writer of an item's document at a time, until its transaction ends: two notes added at
        # once (they leave the item row alone) would each rebuild the document from what they read.
        connection.execute(text("SELECT pg_advisory_xact_lock(:space, id) FROM unnest(CAST(:ids AS integer[])) AS id "
                                "ORDER BY id"), {"space": LOCK_SPACE, "ids": ids})
    items = connection.execute(select(Item.id, *(getattr(Item, name) for name in TEXT_FIELDS))
                               .where(Item.id.in_(ids))).all()
    notes: dict[int, list[str]] = defaultdict(list)
    for item_id, comment in connection.execute(
            select(ItemEvent.item_id, ItemEvent.comment).where(ItemEvent.item_id.in_(ids), ItemEvent.comment != "")
            .order_by(ItemEvent.id)):
        notes[item_id].append(comment)
    for item_id, filename in connection.execute(
            select(Evidence.item_id, Evidence.filename).where(Evidence.item_id.in_(ids), Evidence.removed_at.is_(None))
            .order_by(Evidence.id)):
        notes[item_id].append(filename)
    rows = [{"id": row.id, "title": (row.title or "").lower(),
             "body": "\n".join(part for part in (row.text, row.measures, row.summary, *notes[row.id]) if part).lower()}
            for row in items]
    table = SEARCH if connection.dialect.name == "postgresql" else FTS
    key = table.c.item_id if table is SEARCH else table.c.rowid
    for start in range(0, len(ids), 500):
        connection.execute(table.delete().where(key.in_(ids[start:start + 500])))
    if rows:
        connection.execute(table.insert(), [{key.name: r["id"], "title": r["title"], "body": r["body"]} for r in rows])
    return len(rows)


def rebuild(connection, batch: int = 5000) -> int:
    """Every document again, a batch of items at a time (``refresh-stats``)."""
    done, last = 0, 0
    while ids := list(connection.execute(select(Item.id).where(Item.id > last).order_by(Item.id).limit(batch)).scalars()):
        done += write(connection, ids)
        last = ids[-1]
    table = SEARCH if connection.dialect.name == "postgresql" else FTS
    key = table.c.item_id if table is SEARCH else table.c.rowid
    # NOT EXISTS, an anti-join: NOT IN (SELECT …) makes PostgreSQL rescan the items for every document.
    connection.execute(table.delete().where(~exists().where(Item.id == key)))
    return done


def _touched(session: Session, _context) -> None:
    """After each flush, in its transaction: the documents of the items whose words it changed."""
    ids = set()
    for obj in chain(session.new, session.dirty):
        new = obj in session.new
        if isinstance(obj, Item):
            touched = new or any(getattr(inspect(obj).attrs, name).history.has_changes() for name in TEXT_FIELDS)
        elif isinstance(obj, ItemEvent):
            touched = new and bool(obj.comment)
        elif isinstance(obj, Evidence):
            touched = new or inspect(obj).attrs.removed_at.history.has_changes()
        else:
            continue
        if touched:
            ids.add(obj.id if isinstance(obj, Item) else obj.item_id)
    ids.discard(None)
    if ids:
        write(session.connection(), ids)


def watch() -> None:
    """Keep the documents with every flush of every session (``create_app`` calls this)."""
    if not event.contains(Session, "after_flush", _touched):
        event.listen(Session, "after_flush", _touched)

"""``flask db upgrade`` on an empty database, then the models and the migrations must agree."""

import contextlib
import os

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from tests import pg
from tracker import create_app, in_models
from tracker.extensions import db
from tracker.importing.classify import DEFAULT_RULES
from tracker.importing.models import CategoryRule
from tracker.items.categories import DEFAULT_CATEGORIES
from tracker.items.models import Category


def _fresh_url(tmp_path) -> str:
    base = os.environ.get("TRACKER_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp_path / 'empty.db'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = base.rsplit("/", 1)[0] + "/" + base.rsplit("/", 1)[1] + "_migrations" + (f"_{worker}" if worker else "")
    pg.drop_database(url)
    pg.ensure_database(url)
    return url


def test_upgrade_on_an_empty_database_matches_the_models(tmp_path):
    url = _fresh_url(tmp_path)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            # (the search documents' table is each engine's own: Alembic leaves it alone, as here)
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True, "include_name": in_models}),
                                    db.metadata)
        assert diff == []
        codes = [c.code for c in db.session.scalars(select(Category).order_by(Category.position))]
        assert codes == [code for code, _ in DEFAULT_CATEGORIES]
        seeded = {(r.category.code, r.keyword, r.weight) for r in db.session.scalars(select(CategoryRule))}
        assert seeded == {(code, k, w) for code, rules in DEFAULT_RULES.items() for k, w in rules.items()}
        db.session.remove()
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()
    if url.startswith("postgresql"):
        pg.drop_database(url)


@contextlib.contextmanager
def _database_at(tmp_path, revision: str):
    """A fresh database migrated up to ``revision`` with one unit (id 1), inside an app context;
    dropped afterwards."""
    url = _fresh_url(tmp_path)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision=revision)
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO units (id, name, path, created_at) VALUES (1, '市局', '/1/', CURRENT_TIMESTAMP)"))
        yield
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        pg.drop_database(url)


def test_files_imported_twice_before_the_unique_key_keep_both_reports(tmp_path):
    """Upgrading a database where one file was imported twice (allowed then, when confirmed): the
    later report names the first, and the unique key holds from then on."""
    with _database_at(tmp_path, "e4ad95ffee0b"):
        with db.engine.begin() as conn:
            for report_id in (1, 2, 3):
                conn.execute(sa.text(
                    "INSERT INTO reports (id, unit_id, year, title, sha256, created_at, is_draft) "
                    "VALUES (:id, 1, 2023, '报告', :sha, CURRENT_TIMESTAMP, :draft)"),
                    {"id": report_id, "sha": "ab" * 32 if report_id < 3 else None, "draft": False})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, duplicate_of_id FROM reports ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, None), (2, 1), (3, None)]


def test_items_closed_before_the_close_record_get_it_from_their_close(tmp_path):
    """Upgrading a database with closed items: the day each was closed (local time, Asia/Shanghai)
    and the deadline in force then are filled in; open items get none."""
    with _database_at(tmp_path, "35164754015a"):
        with db.engine.begin() as conn:
            for item_id, status, deadline, closed_at in (
                (1, "closed", "2024-06-30", "2024-06-30 15:00:00"),  # 23:00 in Beijing: on the day, on time
                (2, "closed", "2024-06-30", "2024-06-30 17:00:00"),  # 01:00 on 1 July in Beijing: a day late
                (3, "in_progress", "2024-06-30", None),
                (4, "closed", None, "2024-05-01 02:00:00"),  # closed with no deadline
            ):
                conn.execute(sa.text(
                    "INSERT INTO items (id, year, unit_id, title, text, measures, summary, deadline, status, "
                    "carry_count, closed_at, created_at, updated_at, version) VALUES (:id, 2024, 1, '问题', '', '', '', "
                    ":deadline, :status, 0, :closed_at, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"),
                    {"id": item_id, "status": status, "deadline": deadline, "closed_at": closed_at})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, closed_on, closed_deadline FROM items ORDER BY id")).all()
        as_text = [(r[0], str(r[1]) if r[1] else None, str(r[2]) if r[2] else None) for r in rows]
        assert as_text == [(1, "2024-06-30", "2024-06-30"), (2, "2024-07-01", "2024-06-30"), (3, None, None),
                           (4, "2024-05-01", None)]
        from tracker.items.models import Item

        assert [db.session.get(Item, n).closed_on_time for n in (1, 2, 3, 4)] == [True, False, None, None]


def test_items_there_before_search_get_their_documents(tmp_path):
    """Upgrading a database with items: each gets its search document (title; text, measures,
    summary, history comments and live evidence names, in lower case), and the search finds them."""
    with _database_at(tmp_path, "f2c7a9d4e831"):
        with db.engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO items (id, year, unit_id, title, text, measures, summary, status, carry_count, created_at, "
                "updated_at, version) VALUES (1, 2024, 1, '执法力量薄弱', '人员不足', 'ISO培训', '', 'open', 0, "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"))
            conn.execute(sa.text("INSERT INTO users (id, username, name, role, unit_id, password_hash, active, created_at, "
                                 "updated_at) VALUES (1, 'u', 'U', 'official', 1, 'x', :yes, CURRENT_TIMESTAMP, "
                                 "CURRENT_TIMESTAMP)"), {"yes": True})
            conn.execute(sa.text("INSERT INTO item_events (id, item_id, at, action, comment, details) VALUES "
                                 "(1, 1, CURRENT_TIMESTAMP, 'progress', '已召开专题会', '{}')"))
            for evidence_id, name, removed in ((1, '花名册.pdf', None), (2, '撤回的.pdf', '2024-01-01 00:00:00')):
                conn.execute(sa.text(
                    "INSERT INTO evidence (id, item_id, stored_name, filename, size, sha256, content_type, description, "
                    "uploaded_by_id, uploaded_at, removed_at) VALUES (:id, 1, :stored, :name, 1, :sha, 'application/pdf', '', 1, "
                    "CURRENT_TIMESTAMP, :removed)"), {"id": evidence_id, "stored": f"{evidence_id:032x}", "name": name,
                                                      "sha": "0" * 64, "removed": removed})
        upgrade()
        from tracker.items import search
        from tracker.items.models import Item

        assert search.documents([1]) == {1: ("执法力量薄弱", "人员不足\niso培训\n已召开专题会\n花名册.pdf")}
        for word, found in (("专题会", [1]), ("花名册", [1]), ("iso", [1]), ("撤回", []), ("力量", [1])):
            query = search.parse(word, strict=False)
            assert list(db.session.scalars(sa.select(Item.id).where(search.matches(query)))) == found, word

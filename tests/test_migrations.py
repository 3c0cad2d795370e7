"""``flask db upgrade`` on an empty database, then the models and the migrations must agree."""

import os

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select

from tests import pg
from tracker import create_app
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
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), db.metadata)
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


def test_files_imported_twice_before_the_unique_key_keep_both_reports(tmp_path):
    """Upgrading a database where one file was imported twice (allowed then, when confirmed): the
    later report names the first, and the unique key holds from then on."""
    url = _fresh_url(tmp_path)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    with app.app_context():
        upgrade(revision="e4ad95ffee0b")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO units (id, name, path, created_at) VALUES (1, '市局', '/1/', CURRENT_TIMESTAMP)"))
            for report_id in (1, 2, 3):
                conn.execute(sa.text(
                    "INSERT INTO reports (id, unit_id, year, title, sha256, created_at, is_draft) "
                    "VALUES (:id, 1, 2023, '报告', :sha, CURRENT_TIMESTAMP, :draft)"),
                    {"id": report_id, "sha": "ab" * 32 if report_id < 3 else None, "draft": False})
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, duplicate_of_id FROM reports ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, None), (2, 1), (3, None)]
        db.session.remove()
        db.engine.dispose()
    if url.startswith("postgresql"):
        pg.drop_database(url)

"""``flask db upgrade`` on an empty database, then the models and the migrations must agree."""

import os

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
    url = base.rsplit("/", 1)[0] + "/" + base.rsplit("/", 1)[1] + "_migrations"
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

"""Fixtures: the app on a real database (SQLite by default, PostgreSQL with
TRACKER_TEST_DATABASE_URL), migrated once per session with ``flask db upgrade`` and emptied
before every test; factories that go through the domain services; a signed-in test client."""

import os
import re
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import event, insert, select, text

from tests import pg
from tracker import create_app
from tracker.extensions import db
from tracker.importing.classify import DEFAULT_RULES
from tracker.importing.models import CategoryRule
from tracker.items import evidence as evidence_files
from tracker.items import services, workflow
from tracker.items.categories import DEFAULT_CATEGORIES
from tracker.items.models import Category, Report
from tracker.items.workflow import Action
from tracker.org import services as auth
from tracker.org import signin, tokens
from tracker.org.models import Role
from tracker.reminders.models import CalendarDay, ChatRobot, DayKind

PASSWORD = "secret-pass-1"
TEST_DB_URL = os.environ.get("TRACKER_TEST_DATABASE_URL")
PDF = b"%PDF-1.4\n1 0 obj\n<< >>\nendobj\ntrailer\n<< >>\n%%EOF\n"


def _worker_url(url: str) -> str:
    """Under pytest-xdist each worker has a database of its own: ``tracker_test_gw0``, …"""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    base, _, name = url.rpartition("/")
    return f"{base}/{name}_{worker}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DB_URL:
        url = _worker_url(TEST_DB_URL)
        pg.drop_database(url)
        pg.ensure_database(url)
        pg.relax_durability(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test"})
    with app.app_context():
        upgrade()  # the real migrations, not create_all
        db.engine.dispose()
    return url


def _empty_database() -> None:
    """Every table emptied, children first (the order comes from the models), ids counted from 1
    again, and the default categories and keyword rules back. DELETE, not TRUNCATE: on tables
    this small PostgreSQL deletes in a tenth of the time it takes to truncate."""
    tables = list(reversed(db.metadata.sorted_tables))
    for table in tables:
        db.session.execute(text(f"DELETE FROM {table.name}"))
    if db.engine.dialect.name == "postgresql":
        for table in tables:
            if "id" in table.c and table.c.id.autoincrement:
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), 1, false)"))
    # SQLite counts from the largest id left, so an empty table starts again from 1 by itself.
    categories = [{"code": code, "name": name, "position": position}
                  for position, (code, name) in enumerate(DEFAULT_CATEGORIES, start=1)]
    db.session.execute(insert(Category), categories)
    ids = dict(db.session.execute(select(Category.code, Category.id)).all())
    db.session.execute(insert(CategoryRule), [
        {"category_id": ids[code], "keyword": keyword, "weight": weight}
        for code, words in DEFAULT_RULES.items() for keyword, weight in words.items()
    ])
    db.session.commit()


@pytest.fixture(scope="session")
def shared_app(database_url, tmp_path_factory):
    """One app per test process (building one costs more than most tests): each test gets it with
    an empty database and its configuration as created, whatever the test before changed."""
    app = create_app(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": "test",
            "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
            "MAX_UPLOAD_MB": 1,
            "TESTING": True,
            # Cheap hashing: every test creates users. Production keeps scrypt.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(shared_app, tmp_path):
    app = shared_app
    config, extensions = dict(app.config), dict(app.extensions)
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    with app.app_context():
        _empty_database()
        yield app
        db.session.remove()
    app.config.clear()
    app.config.update(config)
    app.extensions.clear()
    app.extensions.update(extensions)


@pytest.fixture
def today() -> date:
    from tracker import clock

    return clock.local_today()


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC)


class Factory:
    """Builds units, users and items through the domain services, as the pages would."""

    def __init__(self, today: date, now: datetime):
        self.today, self.now = today, now
        self._n = 0

    def unit(self, name: str, parent=None):
        unit = auth.create_unit(name, parent)
        db.session.commit()
        return unit

    def user(self, username: str, role: str, unit, *, name: str = "", email: str | None = None):
        user = auth.create_user(username, role=Role(role), unit=unit, password=PASSWORD, name=name, email=email)
        db.session.commit()
        return user

    def report(self, unit, year: int, title: str | None = None):
        """A report record as an import leaves it (the importer's own tests cover reading one)."""
        report = Report(unit=unit, year=year, title=title or f"{unit.name}{year}年度法治政府建设情况报告",
                        source_filename="报告.docx", created_at=self.now)
        db.session.add(report)
        db.session.commit()
        return report

    def item(self, unit, owner=None, *, deadline_days: int | None = 30, status: str = "open",
             supervisor=None, title: str | None = None, year: int = 2023, categories=("other",), report=None):
        """An item brought to ``status`` through the workflow (``supervisor`` approves)."""
        self._n += 1
        item = services.create_item(
            unit=unit, year=report.year if report else year, title=title or f"问题{self._n}", text="问题描述",
            actor=None, report=report,
            now=self.now, owner=owner, categories=services.categories_by_code(categories),
            deadline=None if deadline_days is None else self.today + timedelta(days=deadline_days),
        )
        if status != "open":
            self.advance(item, status, supervisor)
        db.session.commit()
        return item

    def advance(self, item, status: str, supervisor=None) -> None:
        owner = item.owner
        kw = {"now": self.now, "today": self.today}
        workflow.perform(item, Action.start, owner, **kw)
        if status == "in_progress":
            return
        self.evidence(item, owner)
        workflow.perform(item, Action.submit, owner, summary="已完成整改", **kw)
        if status == "pending_review":
            return
        workflow.perform(item, Action.approve, supervisor, **kw)

    def evidence(self, item, user, data: bytes = PDF, filename: str = "佐证.pdf"):
        import io

        ev = evidence_files.add_evidence(item, user, io.BytesIO(data), filename, now=self.now, max_bytes=10**7)
        db.session.commit()
        return ev


@pytest.fixture
def make(app, today, now) -> Factory:
    return Factory(today, now)


@pytest.fixture
def org(make):
    """市局 → 甲县局 → 甲大队, and 市局 → 乙县局, with people in each."""
    city = make.unit("市局")
    county_a = make.unit("甲县局", city)
    team_a = make.unit("甲大队", county_a)
    county_b = make.unit("乙县局", city)

    class Org:
        pass

    o = Org()
    o.city, o.county_a, o.team_a, o.county_b = city, county_a, team_a, county_b
    o.admin = make.user("admin", "admin", city)
    o.city_sup = make.user("city_sup", "supervisor", city)
    o.sup_a = make.user("sup_a", "supervisor", county_a)
    o.sup_b = make.user("sup_b", "supervisor", county_b)
    o.off_a = make.user("off_a", "official", county_a, name="张三")
    o.off_a2 = make.user("off_a2", "official", county_a)
    o.off_team = make.user("off_team", "official", team_a)
    o.off_b = make.user("off_b", "official", county_b)
    return o


@pytest.fixture
def world(app, org, make):
    """Something behind every kind of id a page takes."""
    report = make.report(org.county_a, 2023)
    item = make.item(org.county_a, org.off_a, status="in_progress", report=report)
    make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    evidence = make.evidence(item, org.off_a)
    from tracker.items.models import UrgeLevel
    from tracker.urging import services as urging

    urge = urging.issue(item, org.city_sup, UrgeLevel.yellow, now=make.now, today=make.today)
    robot = ChatRobot(unit_id=org.city.id, kind="wecom", name="群", url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")
    day = CalendarDay(day=make.today, kind=DayKind.holiday, name="节日")
    from tracker.items.models import SavedList, SavedView

    view = SavedView(user_id=org.off_a.id, name="我的视图", list=SavedList.items, args={"q": "执法", "year": "2023"},
                     created_at=make.now)
    db.session.add_all([robot, day, view])
    db.session.commit()
    return {"item_id": item.id, "evidence_id": evidence.id, "unit_id": org.county_a.id, "user_id": org.off_a.id,
            "category_id": 1, "rule_id": 1, "day_id": day.id, "robot_id": robot.id, "token_id": 1, "report_id": report.id,
            "year": 2023, "urge_id": urge.id, "export_id": 1, "view_id": view.id}


def page_paths(app, ids: dict) -> list[str]:
    """Every page (GET, outside the API and static files) with its ids filled in."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in ("static", "bootstrap.static") or rule.rule.startswith("/api/"):
            continue
        path = re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", lambda m: str(ids[m.group(1)]), rule.rule)
        paths.append(path)
    return sorted(set(paths))


class StatementCounter:
    """``with StatementCounter(db.engine) as counted: ...`` then ``counted.count`` SQL statements."""

    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, *args):
        self.count += 1


def at_once(app, threads: int, action, timeout: float = 60) -> tuple[list, list]:
    """Run ``action()`` in ``threads`` threads released together, each with its own app context
    and database session; returns (their results, the errors they raised)."""
    barrier, results, errors = threading.Barrier(threads), [], []

    def run():
        with app.app_context():
            try:
                barrier.wait(5)
                results.append(action())
            except Exception as error:  # noqa: BLE001 - returned to the test, which asserts on it
                errors.append(error)
            finally:
                db.session.remove()

    started = [threading.Thread(target=run) for _ in range(threads)]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join(timeout)
    return results, errors


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


class Client:
    """A test client that signs in through the real form and posts forms with their CSRF token.

    Each request runs in its own app context, as in production: its own ``g`` (the signed-in
    user) and its own database session. Afterwards the test's session is expired, so the test
    reads what the request wrote.
    """

    def __init__(self, app):
        self.app = app
        self.c = app.test_client()
        self.token = None
        self.signed_in = False

    def _request(self, method: str, url: str, **kw):
        with self.app.app_context():
            response = getattr(self.c, method)(url, **kw)
            response.get_data()
            response.close()  # releases a sent file
        db.session.expire_all()
        return response

    def _refresh_token(self) -> None:
        page = self._request("get", "/profile" if self.signed_in or self.token else "/login").get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match, "no CSRF token on the page"
        self.token = match.group(1) or match.group(2)

    def login(self, username: str, password: str = PASSWORD):
        self._refresh_token()
        response = self._request(
            "post", "/login", data={"username": username, "password": password, "csrf_token": self.token}
        )
        assert response.status_code == 302, f"login failed for {username}"
        return response

    def signed_in_as(self, user) -> "Client":
        """Signed in without the form: the server-side session the sign-in page would open, and
        the cookie it would set. (The form itself is tested in test_access and test_sign_in.)"""
        with self.app.app_context():
            secret = signin.start_session(user, client=signin.Client("127.0.0.1", "test"), now=datetime.now(UTC))
            db.session.commit()
        with self.c.session_transaction() as session:
            session.update({"_user_id": str(user.id), "_fresh": True, "sid": secret})
        self.signed_in = True
        return self

    @property
    def csrf(self) -> str:
        """The CSRF token a form of this browser carries (fetched from a page the first time)."""
        if self.token is None:
            self._refresh_token()
        return self.token

    def get(self, url, **kw):
        return self._request("get", url, **kw)

    def post(self, url, data=None, **kw):
        if self.token is None:
            self._refresh_token()
        if not isinstance(data, bytes):
            data = dict(data or {})
            data.setdefault("csrf_token", self.token)
        return self._request("post", url, data=data, **kw)


@pytest.fixture
def api(app, make):
    """``api(user)`` → a client whose requests carry that user's bearer token."""

    class Api:
        def __init__(self, user):
            _, self.secret = tokens.create_token(user, name="test", now=make.now)
            db.session.commit()
            self.client = app.test_client()

        def __getattr__(self, method):
            def call(url, **kw):
                headers = {"Authorization": f"Bearer {self.secret}", **kw.pop("headers", {})}
                with app.app_context():
                    response = getattr(self.client, method)(f"/api/v1{url}", headers=headers, **kw)
                    response.get_data()
                    response.close()
                db.session.expire_all()
                return response
            return call

    return Api


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def login(app):
    """``login(user)`` → a Client signed in as that user (each call a separate browser)."""

    def _login(user):
        return Client(app).signed_in_as(user)

    return _login

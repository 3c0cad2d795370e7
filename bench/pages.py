"""Benchmark: the list pages on a province-sized database.

    .venv/bin/python -m bench.pages [--items 100000] [--database-url URL]

Seeds (once per database) a tree of 1 province bureau, 15 city bureaus, 150 county bureaus and
450 teams, 3,000 users and ``--items`` items spread over five years, with categories and a
history row each; then signs in as users at several levels and prints, for each page, the
median time of 5 requests, the number of SQL statements one request issued, and (PostgreSQL) the
slowest statement's time and plan's top node, flagged when it scans the items table whole.
Default database: a SQLite file in bench/out/. Nothing here runs in the test suite.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event, func, insert, select, text

from bench.seeding import Counter, signed_in, unit_tree
from tracker import create_app
from tracker.extensions import db
from tracker.items.models import Category, Item, ItemCategory, ItemEvent, Status
from tracker.org.models import Role, Unit, User

PASSWORD = "bench-pass-1"


def seed(n_items: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    today = date.today()
    units = unit_tree()  # (id, path)
    template = User(username="x", unit_id=units[0][0])
    template.set_password(PASSWORD)
    rows = []
    for i, (unit_id, _path) in enumerate(units):
        rows.append({"username": f"sup{i}", "name": f"督办{i}", "role": Role.supervisor, "unit_id": unit_id,
                     "password_hash": template.password_hash, "active": True, "created_at": now, "updated_at": now})
        for j in range(4):
            rows.append({"username": f"off{i}_{j}", "name": f"责任人{i}_{j}", "role": Role.official, "unit_id": unit_id,
                         "password_hash": template.password_hash, "active": True, "created_at": now, "updated_at": now})
    db.session.execute(insert(User), rows)
    owners = {uid: [] for uid, _ in units}
    for user_id, unit_id in db.session.execute(select(User.id, User.unit_id).where(User.role == Role.official)):
        owners[unit_id].append(user_id)
    categories = list(db.session.scalars(select(Category.id)))
    statuses = [Status.open, Status.in_progress, Status.pending_review, Status.closed, Status.closed]
    batch = 5000
    for start in range(0, n_items, batch):
        items = []
        for _ in range(min(batch, n_items - start)):
            unit_id = rng.choice(units)[0]
            status = rng.choice(statuses)
            items.append({
                "year": rng.randint(today.year - 5, today.year), "unit_id": unit_id,
                "owner_id": rng.choice(owners[unit_id]), "title": f"问题{rng.randint(1, 10**6)}",
                "text": "执法案卷质量有待提升", "measures": "", "summary": "", "status": status,
                "deadline": today + timedelta(days=rng.randint(-400, 300)), "carry_count": 0,
                "created_at": now, "updated_at": now, "version": 1,
                "closed_at": now if status is Status.closed else None,
            })
        ids = db.session.scalars(insert(Item).returning(Item.id), items).all()
        db.session.execute(insert(ItemCategory), [
            {"item_id": i, "category_id": rng.choice(categories), "position": 0} for i in ids])
        db.session.execute(insert(ItemEvent), [
            {"item_id": i, "at": now, "action": "create", "comment": "", "details": {}} for i in ids])
        db.session.commit()



class Slowest:
    """The slowest statement of a request, to EXPLAIN (PostgreSQL): its text, parameters and time."""

    def __init__(self):
        self.found, self._started = (0.0, "", None), 0.0
        self.selects: list[tuple[str, object]] = []  # every SELECT of the request, to EXPLAIN

    def before(self, conn, cursor, statement, parameters, context, executemany):
        self._started = time.perf_counter()

    def after(self, conn, cursor, statement, parameters, context, executemany):
        took = time.perf_counter() - self._started
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            self.selects.append((statement, parameters))
            if took > self.found[0]:
                self.found = (took, statement, parameters)


def _plan(engine, slowest: Slowest) -> str:
    """The top node of the slowest statement's plan; and how many of the request's statements scan
    the items table whole (EXPLAIN of each)."""
    took, statement, parameters = slowest.found
    if engine.dialect.name != "postgresql" or not statement:
        return ""
    with engine.connect() as connection:
        raw = connection.connection.driver_connection
        with raw.cursor() as cursor:
            def plan(text, params) -> list[str]:
                cursor.execute("EXPLAIN " + text, params)
                return [row[0] for row in cursor.fetchall()]

            top = plan(statement, parameters)[0].split("  (")[0].strip()[:40]
            seq = sum(any("Seq Scan on items" in line for line in plan(text, params))
                      for text, params in slowest.selects if "items" in text)
    return f"  slowest {took * 1000:5.1f} ms: {top}{f'  SEQ SCAN items x{seq}' if seq else ''}"


def measure(app, engine, username: str, urls: list[str]) -> None:
    """Each request in its own app context, as in production."""
    client = signed_in(app, username, PASSWORD)
    for url in urls:
        timings = []
        counter, slowest = Counter(), Slowest()
        for run in range(6):
            if run == 5:
                event.listen(engine, "before_cursor_execute", counter)
                event.listen(engine, "before_cursor_execute", slowest.before)
                event.listen(engine, "after_cursor_execute", slowest.after)
            start = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - start)
            assert response.status_code == 200, (url, response.status_code)
        event.remove(engine, "before_cursor_execute", counter)
        event.remove(engine, "before_cursor_execute", slowest.before)
        event.remove(engine, "after_cursor_execute", slowest.after)
        print(f"  {username:<10} {url:<48} {statistics.median(timings[:5]) * 1000:8.1f} ms  {counter.n:3d} SQL"
              f"{_plan(engine, slowest)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{out / f'bench-{args.items}.db'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "UPLOAD_DIR": str(out / "uploads"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        if not db.session.scalar(select(func.count(Item.id))):
            start = time.perf_counter()
            seed(args.items)
            print(f"seeded {args.items} items in {time.perf_counter() - start:.1f} s")
            # Planner statistics, as autovacuum (PostgreSQL) or a periodic ANALYZE (SQLite) keep them.
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        n_items = db.session.scalar(select(func.count(Item.id)))
        n_units = db.session.scalar(select(func.count(Unit.id)))
        n_users = db.session.scalar(select(func.count(User.id)))
        item_id = db.session.scalar(select(func.max(Item.id)))
        county_unit = db.session.scalar(select(Unit.id).where(Unit.name == "第3市第4县交通运输局"))
        print(f"{db.engine.dialect.name}: {n_items} items, {n_units} units, {n_users} users")
        engine = db.engine
        db.session.remove()
    common = ["/items", "/items?sort=-deadline&page=400", "/items?overdue=1&category=case_file_quality",
              "/overdue", "/overdue?page=300", "/review", "/dashboard"]
    measure(app, engine, "sup0", [*common, f"/items?unit={county_unit}&year=2024", f"/items/{item_id}"])
    # Users are numbered in unit order (bench.seeding.unit_tree): 0 the province, 1 the first city,
    # 2 its first county, 3 that county's first team. ("sup17", measured before as a city bureau, is a team.)
    measure(app, engine, "sup1", common)  # a city bureau: 41 units, 6.7 % of the items
    measure(app, engine, "sup2", common)  # a county bureau: 4 units
    measure(app, engine, "sup3", common)  # a team: its own unit
    measure(app, engine, "off200_1", ["/my", "/items", "/overdue"])


if __name__ == "__main__":
    main()

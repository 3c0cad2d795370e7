"""Benchmark: the 统计看板 and GET /api/v1/stats on a province-sized database.

    .venv/bin/python -m bench.stats [--items 100000] [--database-url URL]

Seeds the bench.pages province (616 units, 3,080 users, ``--items`` items) once per database,
gives each item a life in its own year (created then; started, submitted and closed on their own
days, half of the closes after the deadline), then builds item_states from the items and their
history (what refresh-stats runs, timed: about 2.5 states an item), and
prints for the province, a city and a county supervisor the median of 5 requests and the SQL
statements one request issued: the dashboard today (from the roll-up, rebuilt first and timed, as
the scheduler does every minute), the dashboard as of 90 days ago (from item_states), and the API.
Nothing here runs in the test suite.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import bindparam, delete, event, func, insert, select, text, update

from bench.pages import PASSWORD, seed
from bench.seeding import Counter, signed_in
from tracker import clock, create_app
from tracker.extensions import db
from tracker.items import states
from tracker.items.models import Item, ItemEvent, ItemState, Status
from tracker.org import tokens
from tracker.org.models import User
from tracker.stats import cells


def spread_history(batch: int = 5000) -> None:
    """Each seeded item created on a day of its year, with start, submit and approve events on
    later days as its status says, and its close record (closed on or after its deadline)."""
    rng = random.Random(11)
    now = datetime.now(UTC)
    last = 0
    while True:
        rows = db.session.execute(
            select(Item.id, Item.year, Item.status, Item.deadline).where(Item.id > last).order_by(Item.id).limit(batch)
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        updates, events = [], []
        for item_id, year, status, deadline in rows:
            created = min(datetime(year, 1, 1, 2, tzinfo=UTC) + timedelta(days=rng.randint(0, 364)), now - timedelta(days=2))
            change = {"item_id": item_id, "b_created": created, "b_closed_at": None, "b_closed_on": None,
                      "b_closed_deadline": None}
            events.append({"item_id": item_id, "at": created, "action": "create", "details": {"deadline": deadline.isoformat()}})
            if status is not Status.open:
                started = min(created + timedelta(days=rng.randint(1, 30)), now - timedelta(days=1))
                events.append({"item_id": item_id, "at": started, "action": "start",
                               "details": {"from": "open", "to": "in_progress"}})
                if status in (Status.pending_review, Status.closed):
                    submitted = min(started + timedelta(days=rng.randint(1, 120)), now)
                    events.append({"item_id": item_id, "at": submitted, "action": "submit",
                                   "details": {"from": "in_progress", "to": "pending_review"}})
                    if status is Status.closed:
                        closed = min(submitted + timedelta(days=rng.randint(0, 10)), now)
                        events.append({"item_id": item_id, "at": closed, "action": "approve",
                                       "details": {"from": "pending_review", "to": "closed"}})
                        change.update(b_closed_at=closed, b_closed_on=closed.date(), b_closed_deadline=deadline)
            updates.append(change)
        db.session.execute(delete(ItemEvent).where(ItemEvent.item_id.in_([r[0] for r in rows])))
        db.session.execute(insert(ItemEvent), [{**e, "comment": ""} for e in events])
        db.session.execute(
            update(Item.__table__).where(Item.__table__.c.id == bindparam("item_id"))
            .values(created_at=bindparam("b_created"), closed_at=bindparam("b_closed_at"),
                    closed_on=bindparam("b_closed_on"), closed_deadline=bindparam("b_closed_deadline")),
            updates)
        db.session.commit()


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
            start = time.perf_counter()
            spread_history()
            print(f"spread the items' history over their years in {time.perf_counter() - start:.1f} s")
        if not db.session.scalar(select(func.count(ItemState.id))):  # bulk-loaded by SQL: as refresh-stats
            start = time.perf_counter()
            result = states.rebuild(db.session.connection(), clock.local_zone())
            db.session.commit()
            print(f"rebuilt item_states ({result['states']} rows) in {time.perf_counter() - start:.1f} s")
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        start = time.perf_counter()  # what the scheduler does every minute
        result = cells.refresh(db.session.connection(), clock.local_today(), clock.utcnow())
        db.session.commit()
        print(f"rebuilt the roll-up ({result['cells']} cells) in {time.perf_counter() - start:.2f} s")
        n_items = db.session.scalar(select(func.count(Item.id)))
        print(f"{db.engine.dialect.name}: {n_items} items")
        secrets = {}
        for username in ("sup0", "sup1", "sup2"):
            user = db.session.scalar(select(User).where(User.username == username))
            secrets[username] = tokens.create_token(user, name="bench", now=clock.utcnow())[1]
        db.session.commit()
        engine = db.engine
        db.session.remove()
    past = (date.today() - timedelta(days=90)).isoformat()
    # sup0: the province (616 units); sup1: a city (41 units); sup2: a county (4 units).
    for username in ("sup0", "sup1", "sup2"):
        client = signed_in(app, username, PASSWORD)
        for label, request in (("/dashboard", lambda c=client: c.get("/dashboard")),
                               (f"/dashboard?as_of={past}", lambda c=client: c.get(f"/dashboard?as_of={past}")),
                               ("GET /api/v1/stats", lambda c=client, u=username: c.get(
                                   "/api/v1/stats", headers={"Authorization": f"Bearer {secrets[u]}"}))):
            timings, counter = [], Counter()
            for run in range(6):
                if run == 5:
                    event.listen(engine, "before_cursor_execute", counter)
                start = time.perf_counter()
                response = request()
                timings.append(time.perf_counter() - start)
                assert response.status_code == 200, (label, response.status_code)
            event.remove(engine, "before_cursor_execute", counter)
            print(f"  {username:<5} {label:<32} {statistics.median(timings[:5]) * 1000:8.1f} ms  {counter.n:3d} SQL")


if __name__ == "__main__":
    main()

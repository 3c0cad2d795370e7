"""Benchmark: one reminder pass over a province's open items.

    .venv/bin/python -m bench.reminders [--items 100000] [--owners 10000] [--database-url URL]

Builds a fresh database (a SQLite file in bench/out/, or the PostgreSQL database named by the
URL, dropped and created again) with 616 units (1 province, 15 cities, 150 counties, 450
teams), one supervisor per unit, ``--owners`` officials and ``--items`` open items whose
deadlines spread over 400 days around the pass's day, and ``--events`` notifications of the day
before (kinds sent in the digest by default, so the pass lists them under 近期动态). Then prints the time and the number of
SQL statements of the pass (deciding and writing the outbox), of running it a second time,
and of draining the first 5,000 messages (bell and email; email is skipped without SMTP).
Nothing here runs in the test suite.
"""

import argparse
import random
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_migrate import upgrade
from sqlalchemy import event, func, insert, select, text

from bench.seeding import OUT, Counter, fresh_database, unit_tree
from tracker import create_app, models  # noqa: F401
from tracker.extensions import db
from tracker.items.models import Item, Status
from tracker.org.models import Role, User
from tracker.reminders import rules, services
from tracker.reminders.models import Notification, OutboxMessage

DAY = date(2027, 3, 10)


def seed(n_items: int, n_owners: int) -> None:
    rng = random.Random(11)
    now = datetime.now(UTC)
    units = [unit_id for unit_id, _path in unit_tree()]
    base = {"password_hash": "", "active": True, "created_at": now, "updated_at": now, "notify_channels": "inapp,email"}
    users = [{"username": f"sup{i}", "name": f"督办{i}", "role": Role.supervisor, "unit_id": u, **base}
             for i, u in enumerate(units)]
    users += [{"username": f"off{i}", "name": f"责任人{i}", "role": Role.official, "unit_id": units[i % len(units)],
               "email": f"off{i}@example.gov.cn", **base} for i in range(n_owners)]
    db.session.execute(insert(User), users)
    owners = db.session.execute(select(User.id, User.unit_id).where(User.role == Role.official)).all()
    for start in range(0, n_items, 5000):
        rows = []
        for _ in range(min(5000, n_items - start)):
            owner_id, unit_id = rng.choice(owners)
            rows.append({
                "year": 2026, "unit_id": unit_id, "owner_id": owner_id, "title": f"问题{rng.randint(1, 10**6)}",
                "text": "", "measures": "", "summary": "", "status": rng.choice([Status.open, Status.in_progress]),
                "deadline": DAY + timedelta(days=rng.randint(-200, 200)), "carry_count": 0,
                "created_at": now, "updated_at": now, "version": 1,
            })
        db.session.execute(insert(Item), rows)
    db.session.commit()


def seed_events(n_events: int) -> None:
    """Event notifications of the last day, as items.history's listeners write them."""
    rng = random.Random(12)
    now = datetime.now(UTC)
    people = list(db.session.scalars(select(User.id)))
    items = list(db.session.scalars(select(Item.id).limit(50_000)))
    for start in range(0, n_events, 5000):
        rows = []
        for _ in range(min(5000, n_events - start)):
            item_id = rng.choice(items)
            kind = rng.choice(["assigned", "submitted", "approved", "extension_requested"])
            rows.append({"user_id": rng.choice(people), "kind": kind, "item_id": item_id, "title": f"【{kind}】问题",
                         "body": "", "created_at": now - timedelta(minutes=rng.randint(1, 1400)), "payload": {
                             "kind": kind, "item_id": item_id, "sections": [{"title": kind, "items": [{
                                 "id": item_id, "title": "问题", "unit": "单位", "owner": None, "deadline": None,
                                 "light": "none", "days_left": None, "reason": "由督办人操作", "carried": ""}]}]}})
        db.session.execute(insert(Notification), rows)
    db.session.commit()



def timed(engine, label: str, action):
    counter = Counter()
    event.listen(engine, "before_cursor_execute", counter)
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    event.remove(engine, "before_cursor_execute", counter)
    print(f"  {label:<44} {elapsed:8.2f} s  {counter.n:6d} SQL")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--owners", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    out = OUT
    url = fresh_database(args.database_url, "reminders")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "UPLOAD_DIR": str(out / "uploads")})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        seed(args.items, args.owners)
        seed_events(args.events)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"{db.engine.dialect.name}: seeded {args.items} open items, {args.owners} owners, 616 units, "
              f"{args.events} events of the last day "
              f"in {time.perf_counter() - start:.1f} s")
        rule = rules.current_rule(app.config)
        zone = ZoneInfo("Asia/Shanghai")
        engine = db.engine

        def one_pass():
            result = services.run_pass(DAY, datetime.now(UTC), rule, zone)
            db.session.commit()
            return result

        first = timed(engine, "pass (decide + write outbox)", one_pass)
        print(f"    {len(first.digests)} recipients, {sum(d.item_count for d in first.digests)} digest lines, "
              f"{first.messages} messages")
        told = [sum(len(s["items"]) for s in payload["sections"] if s.get("key") == "events")
                for payload in db.session.scalars(select(OutboxMessage.payload))]
        print(f"    {sum(1 for n in told if n)} messages list 近期动态, {sum(told)} lines")
        second = timed(engine, "the same pass again (writes nothing)", one_pass)
        print(f"    {second.messages} new messages")
        drained = timed(engine, "drain 5,000 messages", lambda: services.drain(app.config, limit=5000))
        print(f"    sent {drained.sent}, skipped {drained.skipped}")
        print(f"  outbox: {db.session.scalar(select(func.count(OutboxMessage.id)))} rows")


if __name__ == "__main__":
    main()

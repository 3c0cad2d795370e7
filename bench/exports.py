"""Benchmark: the year-end rollover and the ledger export over a province's items.

    .venv/bin/python -m bench.exports [--items 100000] [--database-url URL]

Builds a fresh database (a SQLite file in bench/out/, or the PostgreSQL database named by the
URL, dropped and created again) with 616 units, one report per unit for 2025, ``--items`` items
of 2025 (two thirds open, with one or two categories, texts of report length, evidence on one in
five). Then prints:
- the rollover of 2025 (time and SQL statements), and the same rollover again;
- the ledger export of every item, and of one city's items, each in a fresh process so that its
  peak memory (VmHWM) can be read: the export's share is the peak minus the process's size
  just before it started.
Nothing here runs in the test suite.
"""

import argparse
import json
import random
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import event, insert, select, text

from bench.seeding import OUT, Counter, fresh_database, unit_tree
from tracker import create_app, models  # noqa: F401
from tracker.extensions import db
from tracker.items.models import Category, Evidence, Item, ItemCategory, Report, Status
from tracker.items.queries import ItemFilter, filtered_items
from tracker.org.models import Role, User

TODAY = date(2026, 1, 1)
PHRASES = ["普法宣传针对性不强", "以罚代管现象仍然存在", "执法案卷制作不规范", "执法人员数量不足", "法治培训覆盖面不广",
           "行政执法三项制度落实不到位", "执法装备老旧", "学习贯彻习近平法治思想不够深入"]


def seed(n_items: int) -> None:
    rng = random.Random(7)
    now = datetime.now(UTC)
    units = unit_tree()
    base = {"password_hash": "", "active": True, "created_at": now, "updated_at": now, "notify_channels": "inapp"}
    db.session.execute(insert(User), [{"username": f"off{i}", "name": f"责任人{i}", "role": Role.official,
                                       "unit_id": unit_id, **base} for i, (unit_id, _) in enumerate(units)])
    categories = list(db.session.scalars(select(Category.id)))  # seeded by the migrations
    db.session.execute(insert(Report), [{"unit_id": unit_id, "year": 2025, "title": f"单位{unit_id}2025年度法治政府建设情况报告",
                                         "created_at": now, "is_draft": False} for unit_id, _ in units])
    reports = dict(db.session.execute(select(Report.unit_id, Report.id)).all())
    owners = dict(db.session.execute(select(User.unit_id, User.id)).all())
    uploader = next(iter(owners.values()))
    for start in range(0, n_items, 5000):
        rows = []
        for _ in range(min(5000, n_items - start)):
            unit_id = rng.choice(units)[0]
            phrase = rng.choice(PHRASES)
            status = rng.choice([Status.open, Status.in_progress, Status.closed])
            rows.append({
                "year": 2025, "unit_id": unit_id, "owner_id": owners[unit_id], "report_id": reports[unit_id],
                "title": phrase, "text": f"{phrase}。" + "部分执法人员对新修订的法律法规掌握不够，" * 3,
                "measures": "组织专题培训，开展案卷评查，建立问题清单和整改台账，逐项销号。", "summary": "",
                "status": status, "deadline": TODAY + timedelta(days=rng.randint(-200, 200)), "carry_count": 0,
                "closed_at": now if status is Status.closed else None, "created_at": now, "updated_at": now, "version": 1,
            })
        db.session.execute(insert(Item), rows)
    ids = list(db.session.scalars(select(Item.id)))
    links = []
    for item_id in ids:
        for position, category_id in enumerate(rng.sample(categories, rng.choice([1, 2]))):
            links.append({"item_id": item_id, "category_id": category_id, "position": position})
    for start in range(0, len(links), 10000):
        db.session.execute(insert(ItemCategory), links[start:start + 10000])
    evidence = [{"item_id": item_id, "stored_name": f"e{item_id}", "filename": "佐证.pdf", "size": 1000, "sha256": "0" * 64,
                 "content_type": "application/pdf", "description": "", "uploaded_by_id": uploader, "uploaded_at": now}
                for item_id in ids[::5]]
    for start in range(0, len(evidence), 10000):
        db.session.execute(insert(Evidence), evidence[start:start + 10000])
    db.session.commit()


def export_in_child(url: str, out: Path, unit_id: int | None) -> dict:
    """Run one export in a fresh Python process; its time and memory as JSON."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.exports", "--child", url, str(out), str(unit_id or 0)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parent.parent,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _status(field: str) -> int:
    """A figure of this process from /proc/self/status, in kB. (Not ru_maxrss: Linux carries it
    over from the parent through fork and exec, so a child would report the parent's peak.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def child(url: str, out: str, unit_id: int) -> None:
    from tracker.exports.ledger import write_ledger

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "SCHEDULER": "off"})
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        before = _status("VmRSS")
        counter = Counter()
        event.listen(db.engine, "before_cursor_execute", counter)
        start = time.perf_counter()
        rows = write_ledger(out, filtered_items(None, ItemFilter(unit_id=unit_id or None), TODAY), today=TODAY)
        elapsed = time.perf_counter() - start
        peak = _status("VmHWM")
    print(json.dumps({"rows": rows, "seconds": round(elapsed, 2), "sql": counter.n, "rss_before_mb": round(before / 1024, 1),
                      "rss_peak_mb": round(peak / 1024, 1), "file_mb": round(Path(out).stat().st_size / 2**20, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--child", nargs=3, metavar=("URL", "OUT", "UNIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], int(args.child[2]))
        return
    out = OUT
    url = fresh_database(args.database_url, "exports")
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "UPLOAD_DIR": str(out / "uploads")})
    with app.app_context():
        upgrade()
        start = time.perf_counter()
        seed(args.items)
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        print(f"{db.engine.dialect.name}: seeded {args.items} items of 2025 in 616 units in {time.perf_counter() - start:.1f} s")
        from tracker.rollover.services import carry_over_year

        for label in ("rollover of 2025", "the same rollover again"):
            counter = Counter()
            event.listen(db.engine, "before_cursor_execute", counter)
            start = time.perf_counter()
            result = carry_over_year(2025, today=TODAY, now=datetime.now(UTC))
            db.session.commit()
            elapsed = time.perf_counter() - start
            event.remove(db.engine, "before_cursor_execute", counter)
            print(f"  {label:<36} {elapsed:8.2f} s  {counter.n:6d} SQL   {result.to_json()}")
        city = db.session.scalar(select(Item.unit_id).order_by(Item.id).limit(1))
        city_path = db.session.execute(text(f"SELECT path FROM units WHERE id = {city}")).scalar()
        city_id = int(city_path.strip("/").split("/")[1])
    for label, unit_id in (("ledger of one city", city_id), ("ledger of every item", None)):
        figures = export_in_child(url, out / f"ledger-{unit_id or 'all'}.xlsx", unit_id)
        print(f"  {label:<36} {figures['seconds']:8.2f} s  {figures['sql']:6d} SQL   {figures['rows']} rows, "
              f"{figures['file_mb']} MB file, peak RSS {figures['rss_peak_mb']} MB "
              f"(process before export {figures['rss_before_mb']} MB)")


if __name__ == "__main__":
    main()

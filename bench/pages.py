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
from tracker.items import search
from tracker.items.models import Category, Item, ItemCategory, ItemEvent, Status
from tracker.org.models import Role, Unit, User

PASSWORD = "bench-pass-1"
# What items say, as the sample reports put it: an item's title is one of these problems, its text
# two of these sentences and its measures one, chosen by its id (the same in a seed and in
# ``--retext``, which rewrites an older seed's texts by SQL).
PROBLEMS = [
    "普法宣传方式比较单一", "执法力量薄弱", "执法装备落后", "执法素质有待提升", "案卷评查发现文书不规范",
    "以罚代管现象仍然存在", "行政复议应诉能力不足", "规范性文件备案不及时", "法律顾问作用发挥不充分",
    "双随机抽查比例偏低", "信用修复机制不健全", "重大行政决策程序不完善", "执法全过程记录不完整",
    "法制审核人员配备不足", "学习贯彻习近平法治思想有差距", "安全生产监管存在盲区",
]
SENTENCES = [
    "宣传活动载体创新性不够，宣传的针对性、实效性不够强", "机构改革后水上交通运输执法人员反而减少",
    "现有执法车辆、执法船艇数量少、年限长、性能差", "运政、路政、海事等执法人员大多只熟悉各自原来从事的单一执法工作",
    "部分案卷存在证据不充分、文书填写不规范的问题", "个别执法人员重处罚轻教育，以罚款代替管理",
    "行政复议和行政诉讼案件应诉准备不足", "规范性文件未按规定时限报送备案审查", "重大合同文本未经法律顾问审查即签订",
    "双随机、一公开抽查覆盖面不足，频次偏低", "失信主体信用修复渠道不畅通", "重大行政决策未开展风险评估和合法性审查",
    "音像记录设备不足，执法全过程留痕不完整", "法制审核岗位人员少，专业能力不足", "深学、悟透上下的功夫还不足",
    "危险货物运输企业安全检查存在漏项", "交通运输综合行政执法经费投入不足", "网上执法办案和信息查询系统尚未建成",
    "群众对交通运输有关政策法规知晓率还不高", "执法公示平台信息更新不及时",
]
MEASURES = [
    "开展综合执法队伍能力素质大提升行动", "加大执法经费投入，逐步完善执法装备", "建好用好交通普法阵地，推动普法进机关进乡村",
    "每季度开展一次案卷评查", "修订完善重大行政决策程序规定", "建立行政执法信息平台，加强信息共享",
    "聘请常年法律顾问，重大合同全部经法律审查", "制定年度双随机抽查计划并公示",
]


def title_of(n: int) -> str:
    return f"{PROBLEMS[n % len(PROBLEMS)]}（{n}）"


def text_of(n: int) -> str:
    return f"{SENTENCES[n % len(SENTENCES)]}；{SENTENCES[(n * 7 + 3) % len(SENTENCES)]}。"


def measures_of(n: int) -> str:
    return MEASURES[(n * 3) % len(MEASURES)]


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
                "owner_id": rng.choice(owners[unit_id]), "title": title_of(start + len(items)),
                "text": text_of(start + len(items)), "measures": measures_of(start + len(items)), "summary": "",
                "status": status,
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


def retext() -> None:
    """Give an older seed's items the texts a seed now gives them (by SQL), then their search
    documents (items.search.rebuild)."""
    connection = db.session.connection()
    for name, phrases in (("bench_problems", PROBLEMS), ("bench_sentences", SENTENCES), ("bench_measures", MEASURES)):
        connection.execute(text(f"DROP TABLE IF EXISTS {name}"))
        connection.execute(text(f"CREATE TABLE {name} (n INTEGER PRIMARY KEY, s TEXT)"))
        connection.execute(text(f"INSERT INTO {name} (n, s) VALUES (:n, :s)"), [{"n": n, "s": s} for n, s in enumerate(phrases)])
    connection.execute(text(
        "UPDATE items SET "
        f"title = (SELECT s FROM bench_problems WHERE n = (items.id - 1) % {len(PROBLEMS)}) || '（' || (items.id - 1) || '）', "
        f"text = (SELECT s FROM bench_sentences WHERE n = (items.id - 1) % {len(SENTENCES)}) || '；' || "
        f"(SELECT s FROM bench_sentences WHERE n = ((items.id - 1) * 7 + 3) % {len(SENTENCES)}) || '。', "
        f"measures = (SELECT s FROM bench_measures WHERE n = ((items.id - 1) * 3) % {len(MEASURES)})"))
    for name in ("bench_problems", "bench_sentences", "bench_measures"):
        connection.execute(text(f"DROP TABLE {name}"))
    start = time.perf_counter()
    written = search.rebuild(connection)
    db.session.commit()
    print(f"retexted; {written} search documents written in {time.perf_counter() - start:.1f} s")
    # Every row was rewritten: the planner's statistics and PostgreSQL's visibility map (which
    # index-only scans rely on) are as autovacuum would leave them, at once.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
        autocommit.execute(text("VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--retext", action="store_true", help="rewrite an older seed's texts and search documents first")
    args = parser.parse_args()
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    url = args.database_url or f"sqlite:///{out / f'bench-{args.items}.db'}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "UPLOAD_DIR": str(out / "uploads"),
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        if args.retext:
            retext()
        if not db.session.scalar(select(func.count(Item.id))):
            start = time.perf_counter()
            seed(args.items)
            search.rebuild(db.session.connection())  # the seed wrote by SQL, past the session's hook
            db.session.commit()
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
    measure(app, engine, "sup0", [*common, f"/items?unit={county_unit}&year=2024", f"/items/{item_id}",
                                  # a search of two and of four characters (two: no trigram index)
                                  "/items?q=执法", "/items?q=案卷评查", "/items?q=信用修复&overdue=1"])
    # Users are numbered in unit order (bench.seeding.unit_tree): 0 the province, 1 the first city,
    # 2 its first county, 3 that county's first team. ("sup17", measured before as a city bureau, is a team.)
    measure(app, engine, "sup1", common)  # a city bureau: 41 units, 6.7 % of the items
    measure(app, engine, "sup2", common)  # a county bureau: 4 units
    measure(app, engine, "sup3", common)  # a team: its own unit
    measure(app, engine, "off200_1", ["/my", "/items", "/overdue"])


if __name__ == "__main__":
    main()

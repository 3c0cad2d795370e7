"""Demo data: a city bureau, county bureaus and their teams, their accounts, and the sample
reports in ``reports/`` imported through the importer, their items in several states (overdue,
awaiting review, closed). Everything goes through the same services as the pages, so the
history reads as real use.
"""

import io
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tracker import clock
from tracker.extensions import db
from tracker.importing import services as importing
from tracker.items import evidence, services, workflow
from tracker.items.models import Item
from tracker.items.workflow import Action
from tracker.org import services as auth
from tracker.org.models import Role, User
from tracker.rollover import services as rollover
from tracker.rollover.models import RolloverSource

REPORTS_DIR = Path(__file__).parent / "reports"
PASSWORD = "demo1234"

CITY = "市交通运输局"
UNITS = [
    (CITY, None),
    ("市局法制科", CITY),
    ("市交通运输综合行政执法支队", CITY),
    ("睢县交通运输局", CITY),
    ("睢县交通运输综合执法大队", "睢县交通运输局"),
    ("呼兰区交通运输局", CITY),
    ("呼兰区交通运输综合行政执法大队", "呼兰区交通运输局"),
    ("乌苏市交通运输局", CITY),
]

# username, password, role, unit, name
ACCOUNTS = [
    ("admin", PASSWORD, "admin", CITY, "系统管理员"),
    ("city_sup", PASSWORD, "supervisor", CITY, "王督办"),
    ("suixian_sup", PASSWORD, "supervisor", "睢县交通运输局", "李科长"),
    ("hulan_sup", PASSWORD, "supervisor", "呼兰区交通运输局", "赵科长"),
    ("city_off", PASSWORD, "official", CITY, "张明"),
    ("suixian_off", PASSWORD, "official", "睢县交通运输局", "陈静"),
    ("suixian_team", PASSWORD, "official", "睢县交通运输综合执法大队", "刘强"),
    ("hulan_off", PASSWORD, "official", "呼兰区交通运输局", "孙丽"),
    ("wusu_off", PASSWORD, "official", "乌苏市交通运输局", "周涛"),
]

# report file, the unit it belongs to, and per problem: (owner, target status, deadline in days from today)
REPORTS = [
    ("000_03325c51586e0bb3.txt", CITY,
     [("city_off", "in_progress", -220), ("city_off", "closed", -30), ("city_off", "open", -130),
      ("city_off", "pending_review", 30)]),
    ("001_06a2a4f65ec35afc.txt", "乌苏市交通运输局",
     [("wusu_off", "in_progress", -40), ("wusu_off", "open", 10), ("wusu_off", "open", 45)]),
    ("002_7d80a77d3b41ec6f.txt", "睢县交通运输局",
     [("suixian_off", "open", 21), ("suixian_off", "in_progress", -8), ("suixian_off", "pending_review", 14)]),
    ("004_a88482b488a96b1d.txt", "呼兰区交通运输局",
     [("hulan_off", "open", -2), ("hulan_off", "closed", -10), ("hulan_off", "in_progress", 5)]),
]

SUPERVISOR_OF = {CITY: "city_sup", "乌苏市交通运输局": "city_sup", "睢县交通运输局": "suixian_sup",
                 "呼兰区交通运输局": "hulan_sup"}


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id))) and not db.session.scalar(
        select(func.count(Item.id))
    )
def demo_pdf() -> bytes:
    """A small valid one-page PDF standing in for a scanned evidence file."""
    content = b"BT /F1 18 Tf 72 720 Td (Demo evidence / rectification record) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def load_demo(*, today: date, now: datetime) -> dict:
    """Create the demo units, accounts, reports and items. Flushes; the caller commits."""
    units = {}
    for name, parent in UNITS:
        units[name] = auth.create_unit(name, units[parent] if parent else None)
    users = {}
    for username, password, role, unit, name in ACCOUNTS:
        users[username] = auth.create_user(
            username, role=Role(role), unit=units[unit], password=password, name=name,
            email=f"{username}@example.gov.cn",
        )
    pdf = demo_pdf()
    admin = users["admin"]
    # The reports came in eight months ago and the work went on since, so that the 统计看板
    # shows months of it: each step happens on its own day (see _advance).
    began = now - timedelta(days=240)
    count = 0
    for filename, unit_name, plan in REPORTS:
        preview = importing.preview_report(data=(REPORTS_DIR / filename).read_bytes(), filename=filename)
        parsed = preview.parsed
        drafts = [
            importing.Draft(p.title, p.text, p.categories, measures, deadline=today + timedelta(days=days))
            for p, measures, (_, _, days) in zip(parsed.problems, preview.measures, plan, strict=True)
        ]
        _, items = importing.import_report(
            unit=units[unit_name], year=parsed.year, title=parsed.title, drafts=drafts, actor=admin, now=began,
            filename=filename, sha256=preview.sha256, deadline=None,
        )
        supervisor = users[SUPERVISOR_OF[unit_name]]
        for item, (owner_name, target, days) in zip(items, plan, strict=True):
            owner = users[owner_name]
            services.update_item(item, supervisor, {"owner": owner}, now=began + timedelta(days=2), today=today)
            _advance(item, target, owner, supervisor, pdf, began=began, finished=_finished(now, target, days),
                     today=today)
            count += 1
    # One pending extension request, so the review page has something to decide.
    waiting = db.session.scalar(
        select(Item).where(Item.owner_id == users["wusu_off"].id).order_by(Item.id)
    )
    workflow.perform(
        waiting, Action.request_extension, users["wusu_off"], now=now, today=today,
        deadline=today + timedelta(days=30), comment="执法人员正在参加集中培训，需延后一个月完成。",
    )
    # The city's report is a year older than the others: carry its open items over, as the
    # scheduler would have on 1 January, so the demo shows 上年度遗留 items and a draft report.
    years = sorted(db.session.scalars(select(Item.year).distinct()))
    if len(years) > 1:
        rollover.carry_over_year(years[0], today=today, now=now, source=RolloverSource.demo)
    db.session.flush()
    return {"units": len(units), "items": count, "accounts": len(users)}


def _finished(now: datetime, target: str, days: int) -> datetime:
    """When an item's last step happened: a close well before its deadline is on time; one whose
    deadline is near passed it (closed three days ago, late); a submission waits since yesterday."""
    if target == "closed":
        return now + timedelta(days=days - 10) if days < -20 else now - timedelta(days=3)
    return now - timedelta(days=1)


def _advance(item, target: str, owner, supervisor, pdf: bytes, *, began, finished, today) -> None:
    if target == "open":
        return
    now = began + timedelta(days=10)
    if not item.measures:  # the importer proposes measures from the report's plans where it can
        services.update_item(
            item, owner, {"measures": "制定整改方案，明确责任分工和完成时限，逐项推进并留存佐证材料。"},
            now=now, today=today,
        )
    workflow.perform(item, Action.start, owner, now=now, today=today)
    services.add_progress(item, owner, "已召开专题会议部署整改，正在按方案推进。", now=now)
    now = finished - timedelta(days=2)
    if target == "in_progress":
        return
    evidence.add_evidence(
        item, owner, io.BytesIO(pdf), "整改情况说明.pdf", now=now,
        description="整改工作总结", max_bytes=10 * 1024 * 1024,
    )
    workflow.perform(
        item, Action.submit, owner, now=now, today=today,
        summary="已按整改方案完成各项措施，相关制度已印发，详见佐证材料。",
    )
    if target == "pending_review":
        return
    workflow.perform(item, Action.approve, supervisor, now=finished, today=clock.to_local(finished).date())

"""Demo data: a city bureau, county bureaus and sections, their accounts, and items taken from
the sample reports in ``reports/`` in several states (overdue, awaiting review, closed).

Everything goes through the same services as the pages, so the history reads as real use.
The problem extraction here is deliberately small; the report importer is its own module.
"""

import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tracker.auth import services as auth
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.items import evidence, services, workflow
from tracker.items.models import Category, Item, Report
from tracker.items.workflow import Action

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

# report file, unit, year, title, and per problem: (owner, target status, deadline in days from today)
REPORTS = [
    ("000_03325c51586e0bb3.txt", CITY, 2022, "2022年度党政主要负责人履行推进法治建设第一责任人职责情况述职报告",
     [("city_off", "in_progress", -220), ("city_off", "closed", -30), ("city_off", "open", -130),
      ("city_off", "pending_review", 30)]),
    ("001_06a2a4f65ec35afc.txt", "乌苏市交通运输局", 2023, "乌苏市交通运输局2023年法治政府建设报告",
     [("wusu_off", "in_progress", -40), ("wusu_off", "open", 10)]),
    ("002_7d80a77d3b41ec6f.txt", "睢县交通运输局", 2023, "睢县交通运输局2023年度法治政府建设工作报告",
     [("suixian_off", "open", 21), ("suixian_team", "in_progress", -8), ("suixian_off", "pending_review", 14)]),
    ("004_a88482b488a96b1d.txt", "呼兰区交通运输局", 2023, "呼兰区交通运输局2023年法治政府建设情况报告",
     [("hulan_off", "open", -2), ("hulan_off", "closed", -10), ("hulan_off", "in_progress", 5)]),
]

SUPERVISOR_OF = {CITY: "city_sup", "乌苏市交通运输局": "city_sup", "睢县交通运输局": "suixian_sup",
                 "呼兰区交通运输局": "hulan_sup"}

KEYWORDS = [
    ("legal_publicity", ("普法", "宣传")),
    ("fine_instead_of_management", ("以罚代管",)),
    ("case_file_quality", ("案卷", "文书", "调查取证", "瑕疵")),
    ("enforcement_capacity", ("力量", "编制", "装备", "车辆", "人员减少", "年龄老化", "保障")),
    ("enforcement_competence", ("素质", "能力", "业务", "专业")),
    ("enforcement_methods", ("执法方式", "方式方法", "人海战术", "单一")),
    ("theory_study", ("学习", "法治思想", "理论")),
    ("accountability", ("责任", "第一责任人", "巡察", "监督")),
    ("safety_supervision", ("安全生产",)),
]

_TOP_HEADING = re.compile(r"^[一二三四五六七八九十]+、")
_PROBLEM_HEADING = re.compile(r"^[一二三四五六七八九十]+、.*(问题|不足|短板|差距)")
_ITEM_START = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(User.id))) and not db.session.scalar(
        select(func.count(Item.id))
    )


def sample_problems(text: str) -> list[tuple[str, str]]:
    """(title, text) for each problem under the report's problems heading."""
    text = re.sub(r"\[bookmark: [^\]]*\]", "", text)
    problems: list[list[str]] = []
    inside = False
    for line in (line.strip() for line in text.splitlines()):
        if not line:
            continue
        if _PROBLEM_HEADING.match(line):
            inside = True
            continue
        if inside and _TOP_HEADING.match(line):
            break
        if inside and _ITEM_START.match(line):
            problems.append([_ITEM_START.sub("", line).strip()])
        elif inside and problems:
            problems[-1].append(line)
    result = []
    for lines in problems:
        body = "\n".join(lines)
        title = re.split(r"[。；;]", lines[0], maxsplit=1)[0].strip()
        if len(title) > 40:  # a headline that runs on: keep its first clause
            title = title.split("，", 1)[0]
        title = title[:200]
        result.append((title, body))
    return result


def categories_for(text: str, by_code: dict[str, Category]) -> list[Category]:
    scored = [(sum(text.count(w) for w in words), code) for code, words in KEYWORDS]
    codes = [code for score, code in sorted(scored, key=lambda p: -p[0]) if score][:3]
    return [by_code[c] for c in codes or ["other"]]


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
    by_code = {c.code: c for c in db.session.scalars(select(Category))}
    pdf = demo_pdf()
    admin = users["admin"]
    count = 0
    for filename, unit_name, year, title, plan in REPORTS:
        unit = units[unit_name]
        report = Report(unit=unit, year=year, title=title, source_filename=filename, created_by_id=admin.id)
        db.session.add(report)
        problems = sample_problems((REPORTS_DIR / filename).read_text(encoding="utf-8"))
        supervisor = users[SUPERVISOR_OF[unit_name]]
        for (problem_title, text), (owner_name, target, days) in zip(problems, plan, strict=False):
            owner = users[owner_name]
            # The responsible unit is the owner's: a county report's problem may be the team's to fix.
            item = services.create_item(
                unit=owner.unit, year=year, title=problem_title, text=text, report=report,
                categories=categories_for(text, by_code), actor=admin, now=now,
                owner=owner, deadline=today + timedelta(days=days),
            )
            count += 1
            _advance(item, target, owner, supervisor, pdf, now=now, today=today)
    # One pending extension request, so the review page has something to decide.
    waiting = db.session.scalar(
        select(Item).where(Item.owner_id == users["wusu_off"].id).order_by(Item.id)
    )
    if waiting is not None:
        workflow.perform(
            waiting, Action.request_extension, users["wusu_off"], now=now, today=today,
            deadline=today + timedelta(days=30), comment="执法人员正在参加集中培训，需延后一个月完成。",
        )
    db.session.flush()
    return {"units": len(units), "items": count, "accounts": len(users)}


def _advance(item, target: str, owner, supervisor, pdf: bytes, *, now, today) -> None:
    if target == "open":
        return
    services.update_item(
        item, owner, {"measures": "制定整改方案，明确责任分工和完成时限，逐项推进并留存佐证材料。"},
        now=now, today=today,
    )
    workflow.perform(item, Action.start, owner, now=now, today=today)
    services.add_progress(item, owner, "已召开专题会议部署整改，正在按方案推进。", now=now)
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
    workflow.perform(item, Action.approve, supervisor, now=now, today=today)

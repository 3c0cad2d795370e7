"""The report section draft (.docx): what became of last year's problems, ready to paste into
this year's report under "上一年度存在问题整改情况", then this year's own problems.

Laid out after the conventions for Chinese official documents (GB/T 9704) as far as fonts
allow: title in 方正小标宋简体 二号, first-level headings 一、 in 黑体 三号, second-level （一） in
楷体 三号, body in 仿宋 三号 with a two-character first-line indent and fixed 28-point lines,
A4 with 37/35/28/26 mm margins. Word substitutes a font the machine lacks.
"""

import io
from datetime import date

from docx import Document
from sqlalchemy import select

from tracker import clock
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.formats import chinese_date
from tracker.items.models import Evidence, Item, Status
from tracker.officedoc import DOCX_TYPE, HEADING_FONT, SIZE_2, SIZE_3, SUBHEADING_FONT, TITLE_FONT  # noqa: F401 (DOCX_TYPE: exports.views)
from tracker.officedoc import body as _body
from tracker.officedoc import page_setup as _page_setup
from tracker.officedoc import paragraph as _paragraph
from tracker.org import permissions
from tracker.org.models import Unit, User
from tracker.reports.queries import ReportYear, latest_notes, report_year

SECTION_HEADING = "上一年度存在问题整改情况"
NUMERALS = "一二三四五六七八九十"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 105 → 一百零五, 110 → 一百一十; from 1000 on, Arabic numerals."""
    if not 0 < n < 1000:
        return str(n)
    hundreds, rest = divmod(n, 100)
    tens, ones = divmod(rest, 10)
    text = f"{NUMERALS[hundreds - 1]}百" if hundreds else ""
    if tens:
        text += ("" if tens == 1 and not hundreds else NUMERALS[tens - 1]) + "十"
    elif hundreds and ones:
        text += "零"
    return text + (NUMERALS[ones - 1] if ones else "")


def section_filename(unit: Unit, year: int) -> str:
    return f"{unit.name}{year}年度报告材料-{SECTION_HEADING}.docx"


def report_section(unit: Unit, year: int, *, user: User | None, today: date) -> bytes:
    """The section for ``unit``'s report of ``year``: the problems of ``year - 1`` and what became
    of them, then the problems ``year``'s report found. NotFound if neither report exists, or
    ``user`` (None: the system) may not see the unit."""
    if user is not None and not permissions.can_view_unit(user, unit):
        raise NotFound("报告不存在，或您无权查看。")
    previous = _maybe(unit, year - 1, user)
    current = _maybe(unit, year, user)
    if previous is None and current is None:
        raise NotFound(f"{unit.name}没有{year - 1}年度或{year}年度的报告。")
    earlier = previous.items if previous else []
    notes = latest_notes([item.id for item in earlier])
    evidence = _evidence_names([item.id for item in earlier])

    document = Document()
    _page_setup(document)
    _paragraph(document, f"{unit.name}{year - 1}年度存在问题整改情况", TITLE_FONT, SIZE_2, center=True)
    _paragraph(document, f"（{year}年度报告材料草稿，{chinese_date(today)}生成，请核对后使用）", SUBHEADING_FONT, SIZE_3,
               center=True)
    _paragraph(document, f"一、{SECTION_HEADING}", HEADING_FONT, SIZE_3, indent=True)
    if previous is None:
        _body(document, f"{year - 1}年度未在系统中登记报告。")
    else:
        _body(document, _overview(previous, today))
        done = [item for item in earlier if item.status is Status.closed]
        undone = [item for item in earlier if item.status is not Status.closed]
        for number, item in enumerate(done + undone, start=1):
            _paragraph(document, f"（{chinese_number(number)}）{item.title}", SUBHEADING_FONT, SIZE_3, indent=True)
            for label, text in _item_lines(item, previous, notes.get(item.id), evidence.get(item.id, []), today):
                _body(document, text, label=label)
    _paragraph(document, f"二、{year}年度存在的问题", HEADING_FONT, SIZE_3, indent=True)
    found = current.found if current else []
    if not found:
        _body(document, f"{year}年度报告尚未导入系统，或未列出问题。")
    for number, item in enumerate(found, start=1):
        _paragraph(document, f"（{chinese_number(number)}）{item.title}", SUBHEADING_FONT, SIZE_3, indent=True)
        if item.text and item.text.strip() != item.title:
            _body(document, item.text.strip())
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _maybe(unit: Unit, year: int, user: User | None) -> ReportYear | None:
    try:
        return report_year(unit, year, user)
    except NotFound:
        return None


def _overview(previous: ReportYear, today: date) -> str:
    counts = previous.counts()
    total, closed = counts["total"], counts["by_status"][Status.closed]
    inherited = len(previous.carried_in)
    overdue = sum(1 for item in previous.items if item.is_overdue(today))
    text = f"{previous.year}年度报告查摆问题{total}个"
    if inherited:
        text += f"（含以前年度遗留问题{inherited}个）"
    text += f"。截至{chinese_date(today)}，已整改销号{closed}个，尚未完成{total - closed}个"
    if overdue:
        text += f"（其中逾期{overdue}个）"
    carried_on = sum(1 for item in previous.items if previous.carried_on(item) and item.status is not Status.closed)
    if carried_on:
        text += f"，{'均' if carried_on == total - closed else f'其中{carried_on}个'}已结转至{previous.year + 1}年度继续整改"
    return text + "。"


def _item_lines(item: Item, previous: ReportYear, note, files: list[str], today: date) -> list[tuple[str, str]]:
    lines = []
    if item.text and item.text.strip() != item.title:
        lines.append(("存在问题：", item.text.strip()))
    lines.append(("整改措施：", item.measures.strip() or "（未填写）"))
    if item.status is Status.closed:
        done = item.summary.strip() or (note.comment.strip() if note else "") or "（未填写）"
        lines.append(("整改情况：", done))
        closed = clock.to_local(item.closed_at).date() if item.closed_at else None
        lines.append(("完成时间：", f"{chinese_date(closed)}审核销号。" if closed else "已审核销号。"))
    else:
        state = item.status.title
        if item.is_overdue(today):
            state += f"，已逾期{(today - item.deadline).days}天"
        lines.append(("目前状态：", state + "。"))
        reason = f"{note.comment.strip()}（{chinese_date(clock.to_local(note.at).date())}进展情况）" if note else "暂无进展说明。"
        lines.append(("未完成原因：", reason))
        lines.append(("整改时限：", chinese_date(item.deadline) + "。" if item.deadline else "未定。"))
        if item.carry_count >= 2:
            lines.append(("", f"该问题为以前年度遗留问题，已连续{item.carry_count}年未完成。"))
        if previous.carried_on(item):
            lines.append(("", f"已结转至{item.year}年度继续整改。"))
    lines.append(("佐证材料：", f"{len(files)}份：{'、'.join(files)}。" if files else "无。"))
    return lines


def _evidence_names(item_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = {}
    if item_ids:
        for item_id, filename in db.session.execute(
            select(Evidence.item_id, Evidence.filename)
            .where(Evidence.item_id.in_(item_ids), Evidence.removed_at.is_(None))
            .order_by(Evidence.item_id, Evidence.id)
        ):
            names.setdefault(item_id, []).append(filename)
    return names



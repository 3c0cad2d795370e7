"""The 情况通报 of a unit's subtree for a period (.docx, official layout): the period's figures,
units ranked by 完成率, the items overdue longest, the notices issued, praise and criticism."""

import io
from dataclasses import dataclass
from datetime import date, timedelta

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from sqlalchemy import select

from tracker import clock
from tracker.errors import Forbidden, Invalid
from tracker.extensions import db
from tracker.formats import chinese_date
from tracker.items.models import Item, ItemState, Status, UrgeLevel, live
from tracker.items.states import as_of
from tracker.officedoc import BODY_FONT, HEADING_FONT, SIZE_2, SIZE_3, TITLE_FONT, body, page_setup, paragraph
from tracker.org import permissions
from tracker.org.models import Unit, User
from tracker.stats import rollup
from tracker.urging.models import Urge

LONGEST = 10  # the items overdue longest, listed
MAX_DAYS = 366


@dataclass
class Bulletin:
    unit: Unit
    start: date
    end: date
    figures: rollup.Rollup
    created: int
    closed: int
    longest: list[tuple[Item, int]]
    urges: list[Urge]
    made_on: date

    @property
    def ranked(self) -> list[rollup.UnitRow]:
        rows = [row for row in self.figures.rows if not row.own and row.totals.items]
        return sorted(rows, key=lambda row: (row.rank_by_rate or 0, row.unit.path))

    @property
    def praised(self) -> list[Unit]:
        return [row.unit for row in self.ranked if row.totals.overdue == 0]

    @property
    def criticised(self) -> list[str]:
        """Child units with a 红牌 notice in the period about an item of their subtree, and 本级
        when the unit's own items got one."""
        red = [urge.item.unit for urge in self.urges if urge.level is UrgeLevel.red]
        named = [f"{self.unit.name}本级"] if any(unit.id == self.unit.id for unit in red) else []
        return named + [row.unit.name for row in self.figures.rows
                        if not row.own and any(unit.is_within(row.unit) for unit in red)]


def check_period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    if start is None or end is None:
        raise Invalid("请填写通报的起止日期。", field="from" if start is None else "to")
    if end < start:
        raise Invalid("结束日期不能早于开始日期。", field="to")
    if (end - start).days >= MAX_DAYS:
        raise Invalid("一份通报最长覆盖一年。", field="to")
    return start, end


def bulletin_for(user: User | None, unit: Unit, start: date, end: date, today: date) -> Bulletin:
    """``user`` None: the system (the CLI)."""
    if user is not None and not permissions.supervises_unit(user, unit):
        raise Forbidden("只有该单位及其上级单位的督办人才能生成情况通报。")
    figures = rollup.rollup(unit, rollup.StatsFilter(as_of=end), today)
    within = [ItemState.unit_id.in_(figures.unit_ids), as_of(end)]
    created, closed = db.session.execute(select(
        rollup.count_where(ItemState.created_on >= start),
        rollup.count_where((ItemState.status == Status.closed) & (ItemState.closed_on >= start)),
    ).where(*within)).one()
    longest = [(item, (end - deadline).days) for item, deadline in db.session.execute(
        select(Item, ItemState.deadline).join(ItemState, ItemState.item_id == Item.id)
        .where(*within, ItemState.status != Status.closed, ItemState.deadline < end)
        .order_by(ItemState.deadline, Item.id).limit(LONGEST)
    )]
    urges = list(db.session.scalars(
        select(Urge).join(Item, Item.id == Urge.item_id)
        .where(Item.unit_id.in_(figures.unit_ids), live(),
               Urge.issued_at >= clock.day_start(start), Urge.issued_at < clock.day_start(end + timedelta(days=1)))
        .order_by(Urge.issued_at, Urge.id)
    ))
    return Bulletin(unit, start, end, figures, created, closed, longest, urges, today)


def bulletin_filename(b: Bulletin) -> str:
    return f"{b.unit.name}整改情况通报（{b.start.isoformat()}至{b.end.isoformat()}）.docx"


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def bulletin_document(b: Bulletin) -> bytes:
    t = b.figures.totals
    document = Document()
    page_setup(document)
    paragraph(document, f"{b.unit.name}", TITLE_FONT, SIZE_2, center=True)
    paragraph(document, "关于整改工作推进情况的通报", TITLE_FONT, SIZE_2, center=True)
    paragraph(document, f"（{chinese_date(b.start)}至{chinese_date(b.end)}）", BODY_FONT, SIZE_3, center=True)
    paragraph(document, "", BODY_FONT, SIZE_3)
    paragraph(document, "各单位：", BODY_FONT, SIZE_3)
    body(document, f"现将{chinese_date(b.start)}至{chinese_date(b.end)}全系统整改工作推进情况通报如下。")
    paragraph(document, "一、总体情况", HEADING_FONT, SIZE_3, indent=True)
    body(document, f"本期新增整改事项{b.created}项，销号{b.closed}项。截至{chinese_date(b.end)}，共有整改事项{t.items}项，"
                   f"已销号{t.closed}项，完成率{_pct(t.completion_rate)}，按期完成率{_pct(t.on_time_rate)}；"
                   f"逾期未完成{t.overdue}项，待审核{t.pending_review}项。")
    paragraph(document, "二、各单位完成情况", HEADING_FONT, SIZE_3, indent=True)
    if b.ranked:
        table = document.add_table(rows=1, cols=5)
        table.style = "Table Grid"
        for cell, title in zip(table.rows[0].cells, ("排名", "单位", "事项", "完成率", "逾期"), strict=True):
            cell.text = title
        for row in b.ranked:
            cells = table.add_row().cells
            for cell, value in zip(cells, (row.rank_by_rate, row.unit.name, row.totals.items,
                                           _pct(row.totals.completion_rate), row.totals.overdue), strict=True):
                cell.text = str(value)
        own = next(row for row in b.figures.rows if row.own)
        if own.totals.items:
            body(document, f"{b.unit.name}本级共有事项{own.totals.items}项，完成率{_pct(own.totals.completion_rate)}，"
                           f"逾期{own.totals.overdue}项。")
    else:
        body(document, "各下级单位暂无整改事项。")
    paragraph(document, "三、逾期时间较长的事项", HEADING_FONT, SIZE_3, indent=True)
    if b.longest:
        for n, (item, days) in enumerate(b.longest, start=1):
            owner = item.owner.display_name if item.owner else "未分派"
            body(document, f"{n}. {item.unit.name}“{item.title}”（编号{item.id}，责任人{owner}），"
                           f"整改时限{chinese_date(item.deadline)}，已逾期{days}天。")
    else:
        body(document, "截至通报日，没有逾期未完成的事项。")
    paragraph(document, "四、督办情况", HEADING_FONT, SIZE_3, indent=True)
    if b.urges:
        counts = {level: sum(1 for u in b.urges if u.level is level) for level in UrgeLevel}
        body(document, "本期共发出督办单" + f"{len(b.urges)}份，其中" +
             "、".join(f"{level.title}{n}份" for level, n in counts.items() if n) + "：")
        for urge in b.urges:
            body(document, f"{urge.number}（{urge.level.title}）：{urge.item.unit.name}“{urge.item.title}”。")
    else:
        body(document, "本期未发出督办单。")
    paragraph(document, "五、表扬与通报批评", HEADING_FONT, SIZE_3, indent=True)
    praised = "、".join(unit.name for unit in b.praised)
    body(document, f"{praised}无逾期事项，予以表扬。" if praised else "本期没有无逾期事项的单位。")
    criticised = "、".join(b.criticised)
    body(document, f"{criticised}本期有事项被红牌督办，予以通报批评，请限期整改到位。" if criticised
         else "本期没有被红牌督办的单位。")
    paragraph(document, "", BODY_FONT, SIZE_3)
    body(document, "请各单位对照通报，逐项抓好整改落实。")
    paragraph(document, "", BODY_FONT, SIZE_3)
    for line in (b.unit.name, chinese_date(b.made_on)):
        signature = paragraph(document, line, BODY_FONT, SIZE_3)
        signature.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

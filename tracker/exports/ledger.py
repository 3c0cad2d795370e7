"""The rectification ledger (整改台账): the items one may see, as an .xlsx sheet shaped as offices
keep it: a title row (“XX局整改台账（截至…）”), the scope, the columns of 审计/巡察整改 forms, a
合计 row; frozen headers, wrapped text, A4 landscape fitted to width, headers on every page.

XlsxWriter streams the rows to the file as they come and the items are read in batches
(``yield_per``), so memory stays bounded however many items there are (``bench/exports.py``).
"""

import os
import re
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import xlsxwriter
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from tracker import clock
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.items.models import (
    CarryOver,
    Category,
    EventAction,
    Evidence,
    Item,
    ItemCategory,
    ItemEvent,
    Report,
    Status,
    carried_label,
    item_co_units,
)
from tracker.items.queries import ItemFilter, overdue_clause
from tracker.org.models import Unit, User
from tracker.org.permissions import in_ids

BATCH = 1000
SHEET_TITLE = "整改台账"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass
class LedgerRow:
    """One item as the ledger shows it."""

    number: int
    item_id: int
    source: str  # the report (or year) the problem first came from
    description: str
    categories: str
    unit: str
    owner: str
    measures: str
    measure_type: str
    leader: str
    co_units: str
    deadline: date | None
    progress: str  # the latest progress note, with its day
    status: str
    overdue: bool
    overdue_days: int | None
    closed_on: date | None
    evidence: int
    remarks: str


@dataclass(frozen=True)
class Column:
    """A ledger column: its header, width in characters, value and cell format (a named style:
    ``wrap`` long text, ``center`` short values, ``date`` a day, ``plain`` the rest)."""

    header: str
    width: int
    value: Callable[[LedgerRow], Any]
    format: str = "plain"
    kind: str = "text"  # text, number or day: how its cells are written


# The columns of 整改台账 as offices keep them (审计整改 forms, the "五个一" practice, 巡察整改台账),
# with the item's number in the system so that a printed ledger can be matched to the app.
COLUMNS = [
    Column("序号", 4, lambda row: row.number, "center", "number"),
    Column("事项编号", 6, lambda row: row.item_id, "center", "number"),
    Column("问题来源（报告/年度）", 16, lambda row: row.source, "wrap"),
    Column("问题类别", 9, lambda row: row.categories, "wrap"),
    Column("问题描述", 32, lambda row: row.description, "wrap"),
    Column("整改措施", 26, lambda row: row.measures, "wrap"),
    Column("整改类型", 6, lambda row: row.measure_type, "center"),
    Column("责任领导", 7, lambda row: row.leader, "wrap"),
    Column("责任单位", 11, lambda row: row.unit, "wrap"),
    Column("配合单位", 9, lambda row: row.co_units, "wrap"),
    Column("责任人", 7, lambda row: row.owner, "wrap"),
    Column("整改时限", 10, lambda row: row.deadline, "date", "day"),
    Column("整改进展", 24, lambda row: row.progress, "wrap"),
    Column("整改状态", 6, lambda row: row.status, "center"),
    Column("是否逾期", 5, lambda row: "是" if row.overdue else "否", "center"),
    Column("逾期天数", 5, lambda row: row.overdue_days, "center", "number"),
    Column("销号时间", 10, lambda row: row.closed_on, "date", "day"),
    Column("佐证材料（份）", 6, lambda row: row.evidence, "center", "number"),
    Column("备注", 11, lambda row: row.remarks, "wrap"),
]
HEADERS = [column.header for column in COLUMNS]
# Cell formats (XlsxWriter's, made once per workbook and shared by every cell that uses them).
_BASE = {"border": 1, "border_color": "#999999", "valign": "top", "font_name": "宋体", "font_size": 10}
_FORMATS = {
    "wrap": {"text_wrap": True},
    "center": {"align": "center"},
    "date": {"align": "center", "num_format": "yyyy-mm-dd"},
    "plain": {},
}
_OVERDUE = {"bg_color": "#FFC7CE", "font_color": "#9C0006"}  # Excel's own "bad" red
_HEADER = {**_BASE, "bold": True, "bg_color": "#D9E1F2", "align": "center", "valign": "vcenter", "text_wrap": True}
_TITLE = {"bold": True, "font_name": "黑体", "font_size": 16, "align": "center", "valign": "vcenter"}
_SCOPE = {"font_name": "宋体", "font_size": 10, "align": "left", "valign": "vcenter", "text_wrap": True}
HEADER_ROW = 2  # 0-based: the title, then the scope, then the column headers
TEXT_MAX = 32767  # Excel's limit for one cell
ILLEGAL_CHARACTERS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters XML 1.0 cannot hold


@dataclass(frozen=True)
class Scope:
    """What a ledger covers, for its title rows: the unit it is the ledger of (None: every unit),
    the filters in words, and the day it was taken."""

    unit: str | None
    filters: tuple[str, ...]
    today: date

    @property
    def title(self) -> str:
        return f"{self.unit or ''}整改台账（截至{self.today.year}年{self.today.month}月{self.today.day}日）"

    @property
    def line(self) -> str:
        return "范围：" + "；".join(self.filters or ("全部事项",))


def ledger_scope(flt: ItemFilter, user: User | None, today: date) -> Scope:
    """The ledger's scope in words: the unit filtered on (else the user's own unit; else none, the
    operator's whole tree), then each filter as a list page shows it."""
    from tracker.items.queries import all_categories

    unit = db.session.get(Unit, flt.unit_id) if flt.unit_id is not None else (user.unit if user is not None else None)
    words = []
    if unit is not None:
        words.append(f"{unit.name}" + ("本级" if flt.unit_only else ("及下属单位" if unit.children else "")))
    if flt.year is not None:
        words.append(f"{flt.year}年度")
    if flt.report_id is not None and (report := db.session.get(Report, flt.report_id)) is not None:
        words.append(f"《{report.title}》")
    if flt.category:
        name = next((c.name for c in all_categories() if c.code == flt.category), flt.category)
        words.append(f"问题类别：{name}" + ("（主类别）" if flt.primary_category else ""))
    if flt.status is not None:
        words.append(f"状态：{flt.status.title}")
    if flt.open_only:
        words.append("未销号")
    if flt.overdue:
        words.append("仅逾期")
    if flt.light is not None:
        words.append(flt.light.meaning)
    if flt.closed_on_time is not None:
        words.append("按期销号" if flt.closed_on_time else "逾期销号")
    if flt.owner:
        words.append(f"责任人：{flt.owner}")
    if flt.owner_id is not None:
        words.append("我负责的事项")
    if flt.q:
        words.append(f"含“{flt.q.text}”")
    return Scope(unit.name if unit is not None else None, tuple(words), today)


def ledger_rows(items: Select, today: date) -> Iterator[LedgerRow]:
    """One row per item of ``items`` (a ``select(Item)`` with filters), in unit tree order, then
    year and id, reading ``BATCH`` items at a time."""
    origin = aliased(CarryOver)
    source = aliased(Report)
    evidence_count = (
        select(func.count(Evidence.id))
        .where(Evidence.item_id == Item.id, Evidence.removed_at.is_(None))
        .correlate(Item)
        .scalar_subquery()
    )
    ids = items.with_only_columns(Item.id).order_by(None).subquery()
    query = (
        select(
            Item.id, Item.year, Item.carry_count, Item.title, Item.text, Item.measures, Item.deadline, Item.status,
            Item.closed_at, Unit.name, User.name, User.username, source.title, evidence_count,
            overdue_clause(today).label("overdue"), Item.measure_type, Item.leader,
        )
        .join(ids, ids.c.id == Item.id)
        .join(Unit, Unit.id == Item.unit_id)
        .outerjoin(User, User.id == Item.owner_id)
        # The report the problem first came from: before any carry-over, its own report.
        .outerjoin(origin, and_(origin.item_id == Item.id, origin.from_year == Item.year - Item.carry_count))
        .outerjoin(source, source.id == func.coalesce(origin.from_report_id, Item.report_id))
        .order_by(Unit.path, Item.year, Item.id)
        .execution_options(yield_per=BATCH)
    )
    number = 0
    for batch in db.session.execute(query).partitions():
        ids_in_batch = [row[0] for row in batch]
        names, helpers, notes = _category_names(ids_in_batch), _co_unit_names(ids_in_batch), _latest_notes(ids_in_batch)
        for (item_id, year, carries, title, text, measures, deadline, status, closed_at, unit, owner_name,
             username, report_title, evidence, overdue, measure_type, leader) in batch:
            number += 1
            overdue = bool(overdue)
            first_year = year - carries  # as Item.origin_year
            yield LedgerRow(
                number=number,
                item_id=item_id,
                source=f"{report_title}（{first_year}年度）" if report_title else f"{first_year}年度（未关联报告）",
                description=_description(title, text),
                categories="、".join(names.get(item_id, [])),
                unit=unit,
                owner=owner_name or username or "未分派",
                measures=measures,
                measure_type=measure_type.title,
                leader=leader,
                co_units="、".join(helpers.get(item_id, [])),
                deadline=deadline,
                progress=notes.get(item_id, ""),
                status=status.title,
                overdue=overdue,
                overdue_days=(today - deadline).days if overdue else None,
                closed_on=clock.to_local(closed_at).date() if closed_at else None,
                evidence=evidence,
                remarks=carried_label(carries, status is Status.closed) + (f"（已结转{carries}次）" if carries else ""),
            )


def _description(title: str, text: str) -> str:
    """The problem as the report put it: its text, led by the headline unless the text starts with it."""
    text = (text or "").strip()
    return text if text.startswith(title) else f"{title}\n{text}".strip()


def _co_unit_names(item_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for item_id, name in db.session.execute(
        select(item_co_units.c.item_id, Unit.name).join(Unit, Unit.id == item_co_units.c.unit_id)
        .where(in_ids(item_co_units.c.item_id, item_ids)).order_by(item_co_units.c.item_id, Unit.path)
    ):
        names[item_id].append(name)
    return names


def _latest_notes(item_ids: list[int]) -> dict[int, str]:
    """整改进展: each item's latest progress note, with the day it was written."""
    latest = (select(func.max(ItemEvent.id)).where(in_ids(ItemEvent.item_id, item_ids), ItemEvent.action == EventAction.progress)
              .group_by(ItemEvent.item_id))
    return {item_id: f"{clock.to_local(at):%Y-%m-%d}：{comment}" for item_id, at, comment in db.session.execute(
        select(ItemEvent.item_id, ItemEvent.at, ItemEvent.comment).where(ItemEvent.id.in_(latest)))}


def _category_names(item_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for item_id, name in db.session.execute(
        select(ItemCategory.item_id, Category.name)
        .join(Category, Category.id == ItemCategory.category_id)
        .where(in_ids(ItemCategory.item_id, item_ids))
        .order_by(ItemCategory.item_id, ItemCategory.position)
    ):
        names[item_id].append(name)
    return names


def ledger_filter(*, year: int | None = None, unit_name: str | None = None, status: str | None = None,
                  category: str | None = None, overdue: bool = False) -> ItemFilter:
    """The ledger's filters as an operator names them, checked: one sentence for a bad value."""
    from tracker.items.queries import all_categories
    from tracker.items.services import check_year

    if year is not None:
        check_year(year)
    if category and category not in {c.code for c in all_categories()}:
        raise Invalid(f"没有代码为“{category}”的问题类别。", field="category")
    return ItemFilter.from_args(
        {"year": year, "unit": unit_name, "status": status, "category": category, "overdue": overdue}, strict=True
    )


def save_ledger(path: str | os.PathLike, items: Select, *, today: date, scope: Scope | None = None) -> Path:
    """Write the ledger to ``path`` (.xlsx) whole or not at all: it is written beside the target
    and renamed into place, so an interrupted export leaves no half-written file."""
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise Invalid(f"输出文件“{path}”应以 .xlsx 结尾。", field="out")
    folder = target.parent.resolve()
    if not folder.is_dir():
        raise Invalid(f"目录“{target.parent}”不存在。", field="out")
    try:
        handle, partial = tempfile.mkstemp(suffix=".xlsx.part", dir=folder)
        os.close(handle)
        try:
            write_ledger(partial, items, today=today, scope=scope)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    except OSError as error:
        raise Invalid(f"无法写入“{path}”：{error.strerror or error}。", field="out") from None
    return target.resolve()


def write_ledger(out: str | IO[bytes], items: Select, *, today: date, creator: str = "",
                 scope: Scope | None = None, progress: Callable[[int], None] | None = None) -> int:
    """Write the ledger of ``items`` to ``out`` (a path or a binary file); the number of rows.

    XlsxWriter in constant-memory mode writes each row to a temporary file as it comes and keeps
    none of them, so the memory used does not grow with the rows (bench/exports.py). ``progress``
    is called with the rows written so far, every ``BATCH`` rows."""
    scope = scope or Scope(None, (), today)
    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                     "strings_to_urls": False, "strings_to_numbers": False,
                                     "default_date_format": "yyyy-mm-dd", "tmpdir": tempfile.gettempdir()})
    book.set_properties({"title": scope.title, "author": creator or "tracker", "created": datetime.now()})
    sheet = book.add_worksheet(SHEET_TITLE)
    plain = [book.add_format({**_BASE, **_FORMATS[column.format]}) for column in COLUMNS]
    red = [book.add_format({**_BASE, **_FORMATS[column.format], **_OVERDUE}) for column in COLUMNS]
    for index, column in enumerate(COLUMNS):
        sheet.set_column(index, index, column.width)
    last = len(COLUMNS) - 1
    sheet.set_row(0, 30)
    sheet.merge_range(0, 0, 0, last, scope.title, book.add_format(_TITLE))
    sheet.set_row(1, 20)
    sheet.merge_range(1, 0, 1, last, scope.line, book.add_format(_SCOPE))
    sheet.set_row(HEADER_ROW, 42)  # three lines: "佐证材料（份）" in its narrow column
    header = book.add_format(_HEADER)
    for index, column in enumerate(COLUMNS):
        sheet.write_string(HEADER_ROW, index, column.header, header)
    rows = overdue = closed = 0
    # Each column's writer, value and formats looked up once, not per cell (1.9 million cells at 10^5 rows).
    wrapped = [(column.value, column.width) for column in COLUMNS if column.format == "wrap"]
    plan = [(index, column.value, _WRITERS[column.kind], plain[index], red[index]) for index, column in enumerate(COLUMNS)]
    for row in ledger_rows(items, today):
        late = row.overdue
        line = HEADER_ROW + 1 + rows
        sheet.set_row(line, _height(row, wrapped))
        for index, value_of, write, usual, overdue_format in plan:
            write(sheet, line, index, value_of(row), overdue_format if late else usual)
        rows += 1
        overdue += row.overdue
        closed += row.closed_on is not None
        if rows % BATCH == 0:
            _forget_written_rows(sheet, line)
            if progress is not None:
                progress(rows)
    total = book.add_format({**_BASE, "bold": True})
    sheet.merge_range(HEADER_ROW + 1 + rows, 0, HEADER_ROW + 1 + rows, last,
                      f"合计：{rows}项，其中已销号{closed}项、逾期未完成{overdue}项。", total)
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + max(rows, 1), last)
    # Printed as offices hand it in: A4 landscape, the columns fitted to the page's width, the
    # column headers on every page, the page number at the foot.
    sheet.set_paper(9)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(HEADER_ROW)
    sheet.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    sheet.set_footer("&C第 &P 页，共 &N 页")
    book.close()
    return rows


def _forget_written_rows(sheet, line: int) -> None:
    """XlsxWriter keeps each row's height (``set_row``) for the life of the sheet, even in
    constant-memory mode, where rows above the current one are already on disk: 320 MB at 10^6
    rows (bench/exports.py). Drop those of the rows written (XlsxWriter 3.3's attributes; if a
    later version renames them, nothing is dropped and only memory grows)."""
    for name in ("row_info", "row_sizes"):  # (its own record, and one for placing pictures)
        kept = getattr(sheet, name, None)
        if isinstance(kept, dict):
            for number in [number for number in kept if HEADER_ROW < number < line]:
                del kept[number]


LINE_POINTS = 13.5  # one line of 10-point text
MAX_LINES = 30  # Excel's tallest row is 409 points


def _height(row: LedgerRow, wrapped: list) -> float:
    """The row's height for its longest wrapped text. Excel would fit it on opening, but WPS and
    LibreOffice keep the default height (one line) unless told, and a printed ledger must show
    every word. A Chinese character is two units of a column's width, a Latin one one."""
    lines = 1
    for value_of, width in wrapped:
        text = value_of(row)
        if not text:
            continue
        needed = 0
        for paragraph in text.split("\n"):
            units = 2 * len(paragraph) - len(paragraph.encode("ascii", "ignore"))
            needed += max(1, -(-units // max(1, width - 1)))
        lines = max(lines, needed)
    return LINE_POINTS * min(lines, MAX_LINES) + 3


# Cells as their column's type: text always as text (never a formula or a link, whatever was typed),
# without control characters, cut to Excel's limit of a cell; a day as a date; a count as a number;
# nothing as a bordered blank.
def _text(sheet, row: int, column: int, value: str, cell_format) -> None:
    if not value:
        sheet.write_blank(row, column, None, cell_format)
        return
    if not value.isprintable():  # (a line break is not printable either: then the slower check)
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    sheet.write_string(row, column, value[:TEXT_MAX], cell_format)


def _number(sheet, row: int, column: int, value, cell_format) -> None:
    if value is None:
        sheet.write_blank(row, column, None, cell_format)
    else:
        sheet.write_number(row, column, value, cell_format)


def _day(sheet, row: int, column: int, value: date | None, cell_format) -> None:
    if value is None:
        sheet.write_blank(row, column, None, cell_format)
    else:
        sheet.write_datetime(row, column, value, cell_format)


_WRITERS = {"text": _text, "number": _number, "day": _day}

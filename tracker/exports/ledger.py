"""The rectification ledger (整改台账): the items one may see, as an .xlsx sheet.

openpyxl's write-only mode streams rows to the file as they come, and the items are read in
batches (``yield_per``), so memory stays bounded however many items there are: 100,000 rows
were measured in ``bench/exports.py``.
"""

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
from openpyxl.utils import get_column_letter
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


# The columns of 整改台账 as offices keep them (审计整改 forms, the "五个一" practice, 巡察整改台账),
# with the item's number in the system so that a printed ledger can be matched to the app.
COLUMNS = [
    Column("序号", 6, lambda row: row.number, "center"),
    Column("事项编号", 9, lambda row: row.item_id, "center"),
    Column("问题来源（报告/年度）", 26, lambda row: row.source, "wrap"),
    Column("问题类别", 14, lambda row: row.categories, "wrap"),
    Column("问题描述", 46, lambda row: row.description, "wrap"),
    Column("整改措施", 36, lambda row: row.measures, "wrap"),
    Column("整改类型", 10, lambda row: row.measure_type, "center"),
    Column("责任领导", 10, lambda row: row.leader, "wrap"),
    Column("责任单位", 16, lambda row: row.unit, "wrap"),
    Column("配合单位", 16, lambda row: row.co_units, "wrap"),
    Column("责任人", 10, lambda row: row.owner, "wrap"),
    Column("整改时限", 12, lambda row: row.deadline, "date"),
    Column("整改进展", 36, lambda row: row.progress, "wrap"),
    Column("整改状态", 10, lambda row: row.status, "center"),
    Column("是否逾期", 9, lambda row: "是" if row.overdue else "否", "center"),
    Column("逾期天数", 9, lambda row: row.overdue_days, "center"),
    Column("销号时间", 12, lambda row: row.closed_on, "date"),
    Column("佐证材料（份）", 10, lambda row: row.evidence, "center"),
    Column("备注", 16, lambda row: row.remarks, "wrap"),
]
HEADERS = [column.header for column in COLUMNS]
OVERDUE_FILL = PatternFill("solid", fgColor="FFC7CE")  # Excel's own "bad" red
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_ALIGNMENTS = {
    "wrap": Alignment(wrap_text=True, vertical="top"),
    "center": Alignment(horizontal="center", vertical="top"),
    "date": Alignment(horizontal="center", vertical="top"),
    "plain": Alignment(vertical="top"),
}
_OVERDUE_FONT = Font(color="9C0006")


def _named_styles() -> list[NamedStyle]:
    """The header's style, and each format's for an ordinary row and an overdue (red) one."""
    header = NamedStyle("ledger-header", font=Font(bold=True), fill=HEADER_FILL, border=_BORDER,
                        alignment=Alignment(horizontal="center", wrap_text=True))
    styles = [header]
    for name, alignment in _ALIGNMENTS.items():
        number_format = "yyyy-mm-dd" if name == "date" else "General"
        styles.append(NamedStyle(f"ledger-{name}", border=_BORDER, alignment=alignment, number_format=number_format))
        styles.append(NamedStyle(f"ledger-{name}-overdue", border=_BORDER, alignment=alignment,
                                 number_format=number_format, fill=OVERDUE_FILL, font=_OVERDUE_FONT))
    return styles


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
        .where(item_co_units.c.item_id.in_(item_ids)).order_by(item_co_units.c.item_id, Unit.path)
    ):
        names[item_id].append(name)
    return names


def _latest_notes(item_ids: list[int]) -> dict[int, str]:
    """整改进展: each item's latest progress note, with the day it was written."""
    latest = (select(func.max(ItemEvent.id)).where(ItemEvent.item_id.in_(item_ids), ItemEvent.action == EventAction.progress)
              .group_by(ItemEvent.item_id))
    return {item_id: f"{clock.to_local(at):%Y-%m-%d}：{comment}" for item_id, at, comment in db.session.execute(
        select(ItemEvent.item_id, ItemEvent.at, ItemEvent.comment).where(ItemEvent.id.in_(latest)))}


def _category_names(item_ids: list[int]) -> dict[int, list[str]]:
    names: dict[int, list[str]] = defaultdict(list)
    for item_id, name in db.session.execute(
        select(ItemCategory.item_id, Category.name)
        .join(Category, Category.id == ItemCategory.category_id)
        .where(ItemCategory.item_id.in_(item_ids))
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


def save_ledger(path: str | os.PathLike, items: Select, *, today: date) -> Path:
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
            write_ledger(partial, items, today=today)
            os.replace(partial, target)
        finally:
            if os.path.exists(partial):
                os.unlink(partial)
    except OSError as error:
        raise Invalid(f"无法写入“{path}”：{error.strerror or error}。", field="out") from None
    return target.resolve()


def write_ledger(out: str | IO[bytes], items: Select, *, today: date, creator: str = "") -> int:
    """Write the ledger of ``items`` to ``out`` (a path or a binary file); the number of rows."""
    book = Workbook(write_only=True)
    book.properties.title = SHEET_TITLE
    book.properties.creator = creator or "tracker"
    book.properties.created = datetime.now()
    for style in _named_styles():
        book.add_named_style(style)
    sheet = book.create_sheet(SHEET_TITLE)
    for index, column in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, column.header, "ledger-header") for column in COLUMNS])
    # A named style is looked up by name and copied: no style object is built or hashed per cell
    # (which made 100,000 rows ten times slower; bench/exports.py).
    plain = [f"ledger-{column.format}" for column in COLUMNS]
    red = [f"ledger-{column.format}-overdue" for column in COLUMNS]
    rows = 0
    for row in ledger_rows(items, today):
        styles = red if row.overdue else plain
        sheet.append([_cell(sheet, column.value(row), style) for column, style in zip(COLUMNS, styles, strict=True)])
        rows += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{rows + 1}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    book.save(out)
    return rows


def _cell(sheet, value, style: str) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula, whatever a user typed
    cell.style = style
    return cell

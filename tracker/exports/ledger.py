"""The rectification ledger (整改台账): the items one may see, as an .xlsx sheet.

openpyxl's write-only mode streams rows to the file as they come, and the items are read in
batches (``yield_per``), so memory stays bounded however many items there are: 100,000 rows
were measured in ``bench/exports.py``.
"""

import os
import tempfile
from collections import defaultdict
from copy import copy
from datetime import date, datetime
from pathlib import Path
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from tracker import clock
from tracker.auth.models import Unit, User
from tracker.errors import Invalid
from tracker.extensions import db
from tracker.items.models import Category, Evidence, Item, ItemCategory, Report
from tracker.items.queries import ItemFilter, overdue_clause
from tracker.rollover.models import CarryOver

BATCH = 1000
SHEET_TITLE = "整改台账"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# (header, width in characters)
COLUMNS = [
    ("序号", 6), ("问题来源（报告/年度）", 30), ("问题描述", 50), ("问题类别", 14), ("责任单位", 18),
    ("责任人", 10), ("整改措施", 40), ("整改时限", 12), ("整改状态", 10), ("是否逾期", 9), ("逾期天数", 9),
    ("完成时间", 12), ("佐证材料数", 10), ("结转次数", 9),
]
HEADERS = [header for header, _ in COLUMNS]
OVERDUE_FILL = PatternFill("solid", fgColor="FFC7CE")  # Excel's own "bad" red
HEADER_FILL = PatternFill("solid", fgColor="D9E1F2")
_THIN = Side(style="thin", color="999999")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="top")
_HEADER_FONT = Font(bold=True)
_OVERDUE_FONT = Font(color="9C0006")
_WRAPPED = {2, 3, 7}  # 问题来源, 问题描述, 整改措施 (1-based)
_CENTERED = {1, 8, 9, 10, 11, 12, 13, 14}
_DATES = {8, 12}  # 整改时限, 完成时间


def ledger_rows(items: Select, today: date):
    """Yield one list of cell values per item of ``items`` (a ``select(Item)`` with filters),
    in unit tree order, then year and id, reading ``BATCH`` items at a time."""
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
            overdue_clause(today).label("overdue"),
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
        names = _category_names([row[0] for row in batch])
        for (item_id, year, carries, title, text, measures, deadline, status, closed_at, unit, owner_name,
             username, report_title, evidence, overdue) in batch:
            number += 1
            overdue = bool(overdue)
            first_year = year - carries  # as Item.origin_year
            yield [
                number,
                f"{report_title}（{first_year}年度）" if report_title else f"{first_year}年度（未关联报告）",
                _description(title, text),
                "、".join(names.get(item_id, [])),
                unit,
                owner_name or username or "未分派",
                measures,
                deadline,
                status.title,
                "是" if overdue else "否",
                (today - deadline).days if overdue else None,
                clock.to_local(closed_at).date() if closed_at else None,
                evidence,
                carries,
            ]


def _description(title: str, text: str) -> str:
    """The problem as the report put it: its text, led by the headline unless the text starts with it."""
    text = (text or "").strip()
    return text if text.startswith(title) else f"{title}\n{text}".strip()


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
    sheet = book.create_sheet(SHEET_TITLE)
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = _style(sheet, header=True)
    sheet.append([_cell(sheet, title, header) for title in HEADERS])
    # openpyxl hashes style objects on every assignment; a style made once per column and copied
    # onto each cell is ten times faster (measured: 100,000 rows in bench/exports.py).
    plain = [_style(sheet, column) for column in range(1, len(COLUMNS) + 1)]
    red = [_style(sheet, column, overdue=True) for column in range(1, len(COLUMNS) + 1)]
    rows = 0
    for values in ledger_rows(items, today):
        styles = red if values[9] == "是" else plain
        sheet.append([_cell(sheet, value, style) for value, style in zip(values, styles, strict=True)])
        rows += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{rows + 1}"
    sheet.print_title_rows = "1:1"
    sheet.page_setup.orientation = "landscape"
    book.save(out)
    return rows


def _style(sheet, column: int = 0, *, header: bool = False, overdue: bool = False):
    """The style of a header cell, or of a cell in ``column`` (1-based) of an ordinary or overdue row."""
    cell = WriteOnlyCell(sheet)
    cell.border = _BORDER
    if header:
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, HEADER_FILL, Alignment(horizontal="center", wrap_text=True)
        return cell._style
    cell.alignment = _WRAP if column in _WRAPPED else _CENTER if column in _CENTERED else Alignment(vertical="top")
    if column in _DATES:
        cell.number_format = "yyyy-mm-dd"
    if overdue:
        cell.fill, cell.font = OVERDUE_FILL, _OVERDUE_FONT
    return cell._style


def _cell(sheet, value, style) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"  # text, never a formula, whatever a user typed
    cell._style = copy(style)
    return cell

"""Bringing an existing 整改台账 in (导入台账): each row of the sheet becomes an item, with its
unit, owner, leader, co-units, measures, type, deadline, status and latest progress; all rows
or none.

Names are matched to the system as report units are, never guessed: a unit or owner the system
does not know is listed (``unknown_units``, ``unknown_owners``) for a person to map on the
preview. A row's unit left blank is the ledger's own unit (``--unit``). Each 问题来源 becomes a
report of the ledger's unit ("《…》（2025年度）" gives its title and year), so the import can be
found, counted and withdrawn as one.

Services take the actor and the time as arguments, flush and never commit.
"""

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask import current_app, has_app_context
from sqlalchemy import or_, select

from tracker import clock
from tracker.errors import Conflict, DomainError, Invalid
from tracker.extensions import db
from tracker.importing import originals
from tracker.importing.classify import classify, load_rules
from tracker.importing.parser import headline
from tracker.importing.sandbox import LEDGER, Limits, run_bounded
from tracker.importing.services import find_duplicate
from tracker.importing.sheet import (
    FIELDS,
    Row,
    Sheet,
    normalise,
    read_day,
    read_measure_type,
    read_sheet,
    read_status,
    text_of,
)
from tracker.importing.units import match_unit
from tracker.items import services as items
from tracker.items import workflow
from tracker.items.history import record
from tracker.items.models import EventAction, Item, MeasureType, Report, Status
from tracker.items.queries import all_categories
from tracker.org import permissions
from tracker.org.models import Unit, User

_YEAR = re.compile(r"(?<!截至)(20\d{2})\s*年")  # not tracker's own "截至2026年…", the day it was taken
_SOURCE = re.compile(r"^《?(?P<title>.*?)》?\s*[（(](?P<year>\d{4})年度?[）)]\s*$")
_NO_REPORT = re.compile(r"^(?P<year>\d{4})年度?[（(]未关联报告[）)]$")
_NOTE_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})\s*[：:]\s*")
_SEPARATORS = re.compile(r"[、，,；;/／\s]+")
SHOWN_ROWS = 300  # rows listed on the preview page; all are imported


@dataclass
class Choices:
    """What a person said on the preview: another field for a column, the system's unit (by id)
    or user (by username) a written name means, and whether to go on past unread deadlines."""

    columns: dict[int, str | None] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    undated: bool = False  # rows whose deadline cannot be read are brought in without one
    allow_duplicate: bool = False


@dataclass
class LedgerDraft:
    row: int  # the sheet's row number (the first, for a problem over merged rows)
    title: str
    text: str
    unit_name: str  # as written ("" : the ledger's unit)
    owner_name: str
    measures: str = ""
    measure_type: MeasureType = MeasureType.deadline
    leader: str = ""
    co_unit_names: list[str] = field(default_factory=list)
    deadline: date | None = None
    deadline_text: str = ""  # as written, when it was not a date
    progress: str = ""
    progress_on: date | None = None
    status: Status = Status.open
    closed_on: date | None = None
    categories: list[str] = field(default_factory=list)
    source: str = ""
    year: int = 0
    unit: Unit | None = None
    owner: User | None = None
    co_units: list[Unit] = field(default_factory=list)


@dataclass
class LedgerPreview:
    sheet: Sheet
    unit: Unit
    year: int
    sha256: str
    filename: str
    drafts: list[LedgerDraft]
    unknown_units: list[str]
    unknown_owners: list[str]
    unread_dates: list[str]  # "第12行“下个月”", "第9行销号时间“2027-01-01”晚于今天"
    unread_statuses: list[str]
    sources: list[tuple[str, int]]  # the reports the import makes: (title, year)
    duplicates: list[Report]
    outside_units: list[str] = field(default_factory=list)  # in the system, beyond the importer's reach

    @property
    def ready(self) -> bool:
        return not self.unknown_units and not self.unread_dates and not self.duplicates and not self.outside_units


def read_ledger(data: bytes, filename: str, limits: Limits | None = None) -> Sheet:
    """The sheet of an uploaded ledger, read in the import sandbox (one sentence on any failure)."""
    if limits is None:
        limits = Limits.from_config(current_app.config) if has_app_context() else Limits()
    return run_bounded(read_sheet, (data, filename), limits=limits, label=filename, wording=LEDGER)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def keep(data: bytes) -> str:
    """Keep the file for the preview's confirmation (as a report's original); its SHA-256."""
    sha256 = digest(data)
    originals.keep(data, sha256)
    return sha256


def kept(sha256: str) -> bytes:
    data = originals.kept(sha256)
    if data is None:
        raise Invalid("导入信息已失效，请重新上传台账。", field="token")
    return data


def ledger_year(sheet: Sheet, today: date) -> int:
    """The year of the ledger's problems: as its title says ("2025年度…整改台账"), else last year."""
    found = _YEAR.search(sheet.title or "")
    return int(found.group(1)) if found else clock.year_just_ended(today)


def preview_ledger(sheet: Sheet, *, unit: Unit, year: int | None, sha256: str, filename: str,
                   choices: Choices | None = None, today: date, actor: User | None = None) -> LedgerPreview:
    """What the import would store, with what it could not match or read (and, for ``actor``,
    the units beyond their reach). Stores nothing."""
    choices = choices or Choices()
    for index, key in choices.columns.items():
        for column in sheet.columns:
            if column.index == index:
                column.field = key if key in FIELDS else None
    _statuses_in_progress_column(sheet)
    mapping = sheet.mapping()
    if "description" not in mapping:
        raise Invalid("请指定哪一列是“问题描述”。", field="columns")
    year = items.check_year(year) if year else ledger_year(sheet, today)
    ours = any(normalise(column.header) == "事项编号" for column in sheet.columns)  # a ledger tracker wrote
    drafts, unread_dates, unread_statuses = [], [], []
    for rows in _problems(sheet.rows, mapping):
        draft = _draft(rows, mapping, year, unread_dates, unread_statuses, ours=ours, today=today)
        if draft is not None:
            drafts.append(draft)
    if not drafts:
        raise Invalid(f"工作表“{sheet.name}”的“问题描述”列是空的，没有可导入的问题。", field="columns")
    unknown_units = _match_units(drafts, unit, choices.units)
    outside = [] if actor is None else list(dict.fromkeys(
        d.unit.name for d in drafts if d.unit is not None and not permissions.supervises_unit(actor, d.unit)))
    unknown_owners = _match_owners(drafts, choices.owners)
    _classify(drafts)
    sources = list(dict.fromkeys((_report_title(d.source, sheet, unit), d.year) for d in drafts))
    duplicates = [] if choices.allow_duplicate else _duplicates(sha256, unit, sources)
    if choices.undated:
        unread_dates = []
    return LedgerPreview(sheet, unit, year, sha256, filename, drafts, unknown_units, unknown_owners,
                         unread_dates, unread_statuses, sources, duplicates, outside)


def _statuses_in_progress_column(sheet: Sheet) -> None:
    """A 完成情况 column that holds statuses ("已完成", "正在推进") and no 整改状态 column: it is the status."""
    mapping = sheet.mapping()
    if "status" in mapping or "progress" not in mapping:
        return
    column = next(c for c in sheet.columns if c.index == mapping["progress"])
    values = [text_of(row.values[column.index]) for row in sheet.rows if column.index < len(row.values)]
    values = [value for value in values if value]
    if values and all(len(value) <= 12 and read_status(value)[0] is not None for value in values):
        column.field = "status"


def _problems(rows: list[Row], mapping: dict[str, int]) -> list[list[Row]]:
    """The rows of each problem: a row whose 问题描述 is a merged cell begun above, or empty (one
    problem, several measures, one per row), belongs to the problem above."""
    column = mapping["description"]
    problems: list[list[Row]] = []
    for row in rows:
        empty = column >= len(row.values) or not text_of(row.values[column])
        if problems and (column in row.from_above or empty):
            problems[-1].append(row)
        else:
            problems.append([row])
    return problems


def _draft(rows: list[Row], mapping: dict[str, int], year: int, unread_dates: list[str],
           unread_statuses: list[str], *, ours: bool, today: date) -> LedgerDraft | None:
    first = rows[0]

    def value(key: str, row: Row = first):
        return row.values[mapping[key]] if key in mapping and mapping[key] < len(row.values) else None

    def joined(key: str) -> str:
        return "\n".join(dict.fromkeys(text for row in rows if (text := text_of(value(key, row)))))

    description = text_of(value("description"))
    if not description:
        return None
    title, text = _title_and_text(description, ours)
    source = text_of(value("source"))[:300]
    row_year = year
    if found := (_SOURCE.match(source) or _NO_REPORT.match(source)):
        row_year = int(found.group("year"))
    draft = LedgerDraft(row=first.number, title=title, text=text, unit_name=text_of(value("unit")),
                        owner_name=_first_name(text_of(value("owner"))), measures=joined("measures"),
                        leader=text_of(value("leader"))[:64], source=source, year=row_year,
                        co_unit_names=[n for n in _SEPARATORS.split(text_of(value("co_units"))) if n])
    draft.measure_type = read_measure_type(value("measure_type")) or MeasureType.deadline
    written = value("deadline")
    day = read_day(written, row_year + 1)
    if not day.readable:
        unread_dates.append(f"第{first.number}行“{' '.join(text_of(written).split())[:20]}”")
        draft.deadline_text = text_of(written)
    draft.deadline = day.day
    if day.measure_type is not None and "measure_type" not in mapping:
        draft.measure_type = day.measure_type
    draft.progress, draft.progress_on = _note(joined("progress"))
    status, understood = read_status(value("status"))
    if not understood:
        unread_statuses.append(f"第{first.number}行“{text_of(value('status'))[:20]}”")
    draft.status = status or Status.open
    closed = read_day(value("closed_on"), row_year + 1).day
    if closed is not None and status is None:
        draft.status = Status.closed  # a 销号时间 is a close-out
    draft.closed_on = closed if draft.status is Status.closed else None
    if draft.closed_on is not None and draft.closed_on > today:
        unread_dates.append(f"第{first.number}行销号时间“{draft.closed_on:%Y-%m-%d}”晚于今天")
    draft.categories = [text_of(value("category"))]  # words, until _classify
    return draft


def _title_and_text(description: str, ours: bool) -> tuple[str, str]:
    """The problem's title is its description's first sentence, and its text all of it; in a
    ledger tracker wrote, a first line that is no sentence is the title ("案卷不规范\\n执法案卷…")."""
    first, _, rest = description.partition("\n")
    if ours and rest.strip() and len(first) <= items.TITLE_MAX and not first.rstrip().endswith(("。", "；", ";")):
        return first.strip(), rest.strip()
    return headline(first)[:items.TITLE_MAX], description


NOBODY = ("未分派", "无", "暂无", "待定", "—", "-", "/")  # an owner cell that names nobody


def _first_name(written: str) -> str:
    return next((name for name in _SEPARATORS.split(written) if name and name not in NOBODY), "")


def _note(progress: str) -> tuple[str, date | None]:
    """整改进展: the note, and its day when it begins with one ("2025-05-20：…", as tracker's ledger writes it)."""
    progress = progress.strip()
    if found := _NOTE_DAY.match(progress):
        try:
            return progress[found.end():].strip()[:items.NOTE_MAX], date(*(int(part) for part in found.groups()))
        except ValueError:
            pass
    return progress[:items.NOTE_MAX], None


def _match_units(drafts: list[LedgerDraft], ledger_unit: Unit, chosen: dict[str, int]) -> list[str]:
    """Each row's unit (and co-units), as the report importer matches names; the names none matches."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.path)))
    by_id = {unit.id: unit for unit in units}
    # Within the ledger's own unit first: every county has an 办公室 and an 执法大队.
    own = [unit for unit in units if unit.path.startswith(ledger_unit.path)]
    cache: dict[str, Unit | None] = {}
    unknown: list[str] = []

    def unit_of(name: str) -> Unit | None:
        if name not in cache:
            picked = by_id.get(chosen.get(name) or 0)
            cache[name] = picked or match_unit(name, own).unit or match_unit(name, units).unit
            if cache[name] is None:
                unknown.append(name)
        return cache[name]

    for draft in drafts:
        draft.unit = unit_of(draft.unit_name) if draft.unit_name else ledger_unit
        draft.co_units = [found for name in draft.co_unit_names if (found := unit_of(name)) is not None
                          and found is not draft.unit]
    return unknown


def _match_owners(drafts: list[LedgerDraft], chosen: dict[str, str]) -> list[str]:
    """Each row's owner: the user of that username or that 姓名 who may own the row's item (one
    statement for all); the names no such single user answers to."""
    names = {d.owner_name for d in drafts if d.owner_name} | {v for v in chosen.values() if v}
    if not names:
        return []
    users = list(db.session.scalars(select(User).where(or_(User.username.in_(names), User.name.in_(names)),
                                                     User.active)))
    unknown: list[str] = []
    for draft in drafts:
        if not draft.owner_name or draft.unit is None:
            continue
        wanted = chosen.get(draft.owner_name) or draft.owner_name
        fits = [u for u in users if wanted in (u.username, u.name) and permissions.eligible_owner(u, draft.unit)]
        exact = [u for u in fits if u.username == wanted]
        draft.owner = (exact or fits)[0] if len(exact or fits) == 1 else None
        if draft.owner is None and draft.owner_name not in unknown:
            unknown.append(draft.owner_name)
    return unknown


def _classify(drafts: list[LedgerDraft]) -> None:
    """问题类别 as written, by category name ("执法力量" is 执法力量与保障); words no name holds go
    through the keyword rules; with none, the problem's own words decide, as on a report."""
    categories = all_categories()
    rules = load_rules()
    for draft in drafts:
        codes = []
        for word in _SEPARATORS.split(draft.categories[0] if draft.categories else ""):
            if not word:
                continue
            named = next((c.code for c in categories if word in (c.code, c.name) or (len(word) >= 2 and word in c.name)),
                         None)
            named = named or next((code for code in classify(word, "", rules) if code != "other"), None)
            if named and named not in codes:
                codes.append(named)
        draft.categories = codes or classify(draft.title, draft.text, rules)


def _report_title(source: str, sheet: Sheet, unit: Unit) -> str:
    if found := _SOURCE.match(source):
        return found.group("title").strip()[:300] or source[:300]
    if _NO_REPORT.match(source):
        return ""  # items of no report, as tracker's ledger said
    return (source or sheet.title or f"{unit.name}整改台账")[:300]


def _duplicates(sha256: str, unit: Unit, sources: list[tuple[str, int]]) -> list[Report]:
    found = find_duplicate(sha256)
    named = [find_duplicate(None, unit=unit, year=year, title=title) for title, year in sources if title]
    return list({report.id: report for report in [found, *named] if report is not None}.values())


def duplicate_sentence(preview: LedgerPreview) -> str:
    first = preview.duplicates[0]
    return (f"这份台账（或其中的问题来源《{first.title}》，{first.year}年度）已于"
            f"{clock.to_local(first.created_at):%Y-%m-%d}导入过。一般不需要再次导入；如确需导入，请确认后重试。")


def import_ledger(preview: LedgerPreview, *, actor: User | None, now: datetime) -> tuple[list[Report], list[Item]]:
    """Store every row of the preview as an item, or none: an unknown unit, an unread deadline or
    a ledger imported before stops it with one sentence."""
    if actor is not None and not permissions.supervises_unit(actor, preview.unit):
        raise Invalid("您只能为督办范围内的单位导入台账。", field="unit")
    if preview.unknown_units:
        raise Invalid(f"台账中有{len(preview.unknown_units)}个单位不在系统中：{'、'.join(preview.unknown_units[:5])}"
                      f"{'等' if len(preview.unknown_units) > 5 else ''}。请先新建这些单位，或改正台账中的单位名称"
                      "（在导入页面上也可为它们选择对应的单位）。",
                      field="units")
    if preview.unread_dates:
        raise Invalid(f"有{len(preview.unread_dates)}行的整改时限无法识别为日期：{'、'.join(preview.unread_dates[:5])}。"
                      "请改为“2025年6月30日”这样的写法，或清空这些单元格（在导入页面上也可确认这些事项暂不设整改时限）。",
                      field="undated")
    if preview.outside_units:
        raise Invalid(f"台账中的单位{'、'.join(preview.outside_units[:5])}不在您督办的范围内，请改由其上级导入，"
                      "或在预览中为它们选择您督办的单位。", field="units")
    if preview.duplicates:
        raise Conflict(duplicate_sentence(preview), field="allow_duplicate")
    reports: dict[tuple[str, int], Report] = {}
    for title, year in preview.sources:
        if not title:
            continue
        report = Report(unit=preview.unit, year=items.check_year(year), title=title, created_at=now, kind="other",
                        source_filename=preview.filename[:255], sha256=None if reports else preview.sha256,
                        created_by_id=actor.id if actor else None)
        db.session.add(report)
        reports[(title, year)] = report
    db.session.flush()
    created = []
    for draft in preview.drafts:
        try:
            item = _store(draft, preview, reports, actor, now)
        except DomainError as error:
            raise type(error)(f"第{draft.row}行：{error.message}", field=error.field) from None
        created.append(item)
    db.session.flush()
    return list(reports.values()), created


def _store(draft: LedgerDraft, preview: LedgerPreview, reports: dict, actor: User | None, now: datetime) -> Item:
    report = reports.get((_report_title(draft.source, preview.sheet, preview.unit), draft.year))
    item = items.create_item(
        unit=draft.unit, year=draft.year, title=draft.title, text=draft.text, measures=draft.measures,
        categories=items.categories_by_code(draft.categories), report=report, actor=actor, now=now,
        owner=draft.owner, deadline=draft.deadline, leader=draft.leader, co_units=draft.co_units,
        measure_type=draft.measure_type,
    )
    if draft.progress:
        noted = clock.day_start(draft.progress_on) if draft.progress_on and draft.progress_on <= clock.to_local(now).date() else now
        record(item, actor, EventAction.progress, now=noted, comment=draft.progress,
               details={"imported": True})
    workflow.as_brought_in(item, draft.status, actor, now=now, closed_on=draft.closed_on)
    return item


def preview_to_json(preview: LedgerPreview, created: list[Item] | None = None) -> dict:
    """What ``import-ledger`` prints (CONTRACT.md)."""
    return {
        "rows": len(preview.sheet.rows),
        "sheet": preview.sheet.name,
        "header_row": preview.sheet.header_row,
        "columns": {column.header: column.field for column in preview.sheet.columns},
        "items": [{
            "row": d.row, "title": d.title, "text": d.text, "unit": d.unit.name if d.unit else d.unit_name,
            "owner": d.owner.username if d.owner else (d.owner_name or None), "leader": d.leader,
            "co_units": [u.name for u in d.co_units], "measures": d.measures, "measure_type": d.measure_type.value,
            "deadline": d.deadline.isoformat() if d.deadline else None, "status": d.status.value,
            "closed_on": d.closed_on.isoformat() if d.closed_on else None, "progress": d.progress,
            "categories": d.categories, "year": d.year, "source": d.source,
        } for d in preview.drafts],
        "unknown_units": preview.unknown_units,
        "unknown_owners": preview.unknown_owners,
        "unread_dates": preview.unread_dates,
        "item_ids": [item.id for item in created] if created is not None else None,
    }

"""Importing a report: read → parse → classify → (the user edits) → store a report with items.

Services take the actor and the time as arguments, flush and never commit.
"""

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from tracker import clock
from tracker.errors import Conflict, DomainError, Forbidden, Invalid
from tracker.extensions import db
from tracker.importing import originals
from tracker.importing.classify import bigrams, classify, load_rules
from tracker.importing.parser import ParsedReport, Section, headline
from tracker.importing.readers import ImportFailed, check_length
from tracker.importing.sandbox import Limits, read_and_parse
from tracker.importing.units import UnitMatch, find_named, match_unit
from tracker.items import services as items
from tracker.items import states
from tracker.items.history import record
from tracker.items.models import REPORT_KINDS, CarryOver, EventAction, Item, ItemEvent, Report, Status
from tracker.org import permissions
from tracker.org.models import Unit, User
from tracker.rollover.services import draft_title

SPLIT_MARK = "---"  # a line holding only this, inside a problem's text, splits it in two
PLAN_MATCH_MIN = 0.12  # share of common two-character words for a plan to answer a problem


@dataclass
class Preview:
    parsed: ParsedReport
    sha256: str
    filename: str | None
    duplicate: Report | None
    measures: list[str] = field(default_factory=list)  # proposed, one per problem
    match: UnitMatch = field(default_factory=lambda: UnitMatch(None))  # the system's unit it names


@dataclass
class Draft:
    """A problem as the user confirmed it."""

    title: str
    text: str
    categories: list[str]
    measures: str = ""
    deadline: date | None = None  # None: the report's default deadline
    progress: str = ""  # the report's 整改情况: the item's first progress note
    corrected: bool = False  # a person chose another primary category than the rules proposed


def preview_report(
    *, data: bytes | None = None, filename: str | None = None, pasted: str | None = None, limits: Limits | None = None,
) -> Preview:
    """Read and parse a report (a file's bytes, or pasted text) in a child process bounded by
    ``limits`` (default: the configuration's), classify its problems and propose measures from
    its plans. Stores nothing."""
    if limits is None:
        limits = Limits.from_config(current_app.config) if has_app_context() else Limits()
    if data is not None:
        digest = hashlib.sha256(data).hexdigest()
    else:
        pasted = check_length((pasted or "").strip())
        if not pasted:
            raise ImportFailed("请上传报告文件，或粘贴报告文字。")
        digest = hashlib.sha256(pasted.encode("utf-8")).hexdigest()
    parsed = read_and_parse(data=data, filename=filename or "", pasted=pasted, limits=limits)
    if data is not None and has_app_context():
        originals.keep(data, digest)  # for the report page, once the preview is confirmed
    rules = load_rules()
    for section in (*parsed.problems, *parsed.plans):
        section.categories = classify(section.title, section.text, rules)
    match = unit_of(parsed)
    return Preview(
        parsed=parsed,
        sha256=digest,
        filename=filename,
        duplicate=find_duplicate(digest, parsed.fingerprint, unit=match.unit, year=parsed.year, title=parsed.title),
        measures=propose_measures(parsed.problems, parsed.plans),
        match=match,
    )


def unit_of_name(written: str | None) -> UnitMatch:
    """The system's unit a name as written in a report means."""
    return match_unit(written, list(db.session.scalars(select(Unit).order_by(Unit.path))))


def unit_of(parsed: ParsedReport) -> UnitMatch:
    """The system's unit the report names: the name the parser read, matched against the tree;
    else a unit of the tree named in the report's title."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.path)))
    found = match_unit(parsed.unit, units)
    if found.found is None and (named := find_named(parsed.title, units)) is not None:
        found.unit = named
    return found


def find_duplicate(sha256: str | None, fingerprint: str | None = None, *, unit: Unit | None = None,
                   year: int | None = None, title: str | None = None) -> Report | None:
    """A report imported before that this one repeats (CONTRACT.md): the same file, the same words
    from another file, or the same unit, year and title. Withdrawn imports and drafts don't count."""
    same = [Report.sha256 == sha256] if sha256 else []
    if fingerprint:
        same.append(Report.text_sha256 == fingerprint)
    if unit is not None and year and title:
        same.append((Report.unit_id == unit.id) & (Report.year == year) & (Report.title == title.strip()))
    if not same:
        return None
    return db.session.scalar(select(Report).where(or_(*same), Report.withdrawn_at.is_(None), Report.is_draft.is_(False))
                             .order_by(Report.id).limit(1))


def duplicate_sentence(earlier: Report, sha256: str | None) -> str:
    how = "这份文件" if earlier.sha256 and earlier.sha256 == sha256 else "内容相同或同一单位、年度、标题的报告"
    return (f"{how}已于{clock.to_local(earlier.created_at):%Y-%m-%d}导入为《{earlier.title}》（{earlier.year}年度），"
            "如确需再次导入，请确认后重试。")


def propose_measures(problems: list[Section], plans: list[Section]) -> list[str]:
    """For each problem, the plans that answer it: the same primary category, or enough words
    in common. A plan may answer several problems; a problem may get none."""
    proposals = []
    for problem in problems:
        if problem.measures:  # a rectification report says each problem's measures itself
            proposals.append(problem.measures)
            continue
        words = bigrams(problem.title + problem.text)
        scored = []
        for plan in plans:
            plan_words = bigrams(plan.title + plan.text)
            overlap = len(words & plan_words) / max(1, len(words | plan_words))
            # the same kind: one's primary category is among the other's ("业务技能…文书" and "培训和案卷评查")
            same_kind = "other" not in problem.categories[:1] and (
                problem.categories[0] in plan.categories or plan.categories[:1] == problem.categories[:1]
                or (plan.categories and plan.categories[0] in problem.categories))
            if same_kind or overlap >= PLAN_MATCH_MIN:
                scored.append((same_kind, overlap, plan))
        scored.sort(key=lambda entry: (entry[0], entry[1]), reverse=True)
        proposals.append("\n".join(plan.text for _, _, plan in scored[:2]))
    return proposals


def drafts_from_rows(rows: list[dict]) -> list[Draft]:
    """Apply the user's edits on the preview: drop (include false), merge into the previous
    problem (merge_up), split at a line "---"; each row has title, text, categories, measures."""
    drafts: list[Draft] = []
    for row in rows:
        if not row.get("include", True):
            continue
        text = (row.get("text") or "").strip()
        title = (row.get("title") or "").strip()
        if row.get("merge_up") and drafts:
            previous = drafts[-1]
            previous.text = f"{previous.text}\n{text}".strip()
            previous.categories += [c for c in row.get("categories", []) if c not in previous.categories]
            previous.measures = "\n".join(m for m in (previous.measures, row.get("measures", "")) if m)
            previous.progress = "\n".join(m for m in (previous.progress, row.get("progress", "")) if m)
            continue
        parts = [part.strip() for part in _split(text)]
        for index, part in enumerate(parts):
            drafts.append(Draft(
                title=title if index == 0 and title else headline(part.splitlines()[0] if part else ""),
                text=part,
                categories=list(row.get("categories") or ["other"]),
                measures=row.get("measures", "") if index == 0 else "",
                progress=row.get("progress", "") if index == 0 else "",
                deadline=row.get("deadline"),
                corrected=index == 0 and bool(row.get("proposed")) and (row.get("categories") or ["other"])[0]
                != row.get("proposed"),
            ))
    return drafts


def _split(text: str) -> list[str]:
    parts, current = [], []
    for line in text.splitlines():
        if line.strip() == SPLIT_MARK:
            parts.append("\n".join(current))
            current = []
        else:
            current.append(line)
    parts.append("\n".join(current))
    return [part for part in parts if part.strip()] or [text]


def report_year(parsed: ParsedReport, today: date) -> int:
    """The year a report covers: as detected, else last year (reports are written early in the
    year after the one they cover)."""
    return parsed.year or clock.year_just_ended(today)


def default_deadline(year: int, month_day: str) -> date:
    """The default deadline for a year's problems: ``month_day`` ("06-30") of the next year."""
    month, day = (int(part) for part in month_day.split("-"))
    return date(year + 1, month, day)


@dataclass(frozen=True)
class DeadlineRule:
    """The deadline proposed for imported problems (TRACKER_IMPORT_DEFAULT_DEADLINE, …_LATE_DEADLINE_DAYS)."""

    month_day: str = "06-30"
    late_days: int = 90

    @classmethod
    def from_config(cls, config) -> "DeadlineRule":
        return cls(config.get("IMPORT_DEFAULT_DEADLINE", cls.month_day),
                   int(config.get("IMPORT_LATE_DEADLINE_DAYS", cls.late_days)))

    def for_year(self, year: int, today: date) -> date:
        """``month_day`` of the year after ``year``; when that day has passed (a 2023 report imported
        in 2026 would be born 884 days overdue), ``late_days`` from today."""
        usual = default_deadline(year, self.month_day)
        return usual if usual >= today else today + timedelta(days=self.late_days)

    def why_late(self, year: int | None, today: date) -> str | None:
        """Why the deadline proposed for ``year`` is not the usual day (None when it is)."""
        if not isinstance(year, int) or not items.EARLIEST_YEAR <= year <= items.LATEST_YEAR:
            return None
        usual = default_deadline(year, self.month_day)
        if usual >= today:
            return None
        return f"按惯例应为{usual.year}年{usual.month}月{usual.day}日，已经过去；建议自今天起{self.late_days}天内完成，可修改。"


def import_report(
    *,
    unit: Unit,
    year: int,
    title: str,
    drafts: list[Draft],
    actor: User | None,
    now: datetime,
    filename: str | None,
    sha256: str | None,
    deadline: date | None,
    allow_duplicate: bool = False,
    kind: str | None = None,
    fingerprint: str | None = None,
) -> tuple[Report, list[Item]]:
    """Store a report and one item per confirmed problem, all or nothing. If the year-end rollover
    made a draft for the unit and year, the report fills it, next to the problems carried over.

    The same file (by SHA-256) is refused unless ``allow_duplicate``: the user is asked first.
    """
    if actor is not None and not permissions.supervises_unit(actor, unit):
        raise Forbidden("您只能为督办范围内的单位导入报告。", field="unit")
    items.check_year(year)
    title = (title or "").strip()
    if not title or len(title) > 300:
        raise Invalid("请填写报告标题（不超过300字）。", field="title")
    if not drafts:
        raise Invalid("没有要导入的问题：请至少保留一个问题。", field="rows")
    earlier = find_duplicate(sha256, fingerprint, unit=unit, year=year, title=title)
    if earlier is not None and not allow_duplicate:
        raise Conflict(duplicate_sentence(earlier, sha256), field="allow_duplicate")
    report = _draft_report(unit, year)
    if report is None:
        report = Report(unit=unit, year=year, created_at=now)
        db.session.add(report)
    report.title, report.source_filename, report.sha256, report.text_sha256 = title, filename, sha256, fingerprint
    report.kind = kind if kind in REPORT_KINDS else "rule_of_law"
    report.duplicate_of_id = earlier.id if earlier is not None else None
    report.created_by_id, report.created_at, report.is_draft = (actor.id if actor else None), now, False
    try:
        db.session.flush()
    except IntegrityError as error:  # the door rolls back
        if "ux_reports_sha256_first" not in str(error.orig) and "reports.sha256" not in str(error.orig):
            raise
        # The same file was imported a moment ago, by another request.
        raise Conflict("这份文件刚刚已由他人导入，请在报告列表中查看，不要重复导入。", field="allow_duplicate") from None
    created = []
    for number, draft in enumerate(drafts, start=1):
        try:
            item = items.create_item(
                unit=unit, year=year, title=draft.title, text=draft.text, measures=draft.measures,
                categories=items.categories_by_code(draft.categories), report=report, actor=actor,
                now=now, deadline=draft.deadline or deadline,
            )
            if draft.progress.strip():  # what the report says was done: the first progress note
                record(item, actor, EventAction.progress, now=now, comment=draft.progress.strip()[:items.NOTE_MAX],
                       details={"imported": True})
            created.append(item)
        except Invalid as error:
            raise Invalid(f"第{number}个问题：{error.message}", field=error.field) from None
    db.session.flush()
    return report, created


def _draft_report(unit: Unit, year: int) -> Report | None:
    """The draft the year-end rollover made for ``unit`` and ``year``: the year's own report is
    imported into it, next to the problems carried over from the year before."""
    return db.session.scalar(  # locked: two imports at once fill it one after the other
        select(Report).where(Report.unit_id == unit.id, Report.year == year, Report.is_draft).with_for_update()
    )


def named_unit(name: str) -> Unit:
    """The unit a person named (``--unit``, the API's ``unit``): its system name or path."""
    from tracker.org.services import find_unit

    try:
        return find_unit(name)
    except DomainError as error:
        raise Invalid(error.message, field="unit") from None


def unit_to_store(preview: Preview, unit_name: str | None) -> Unit:
    """The unit a report is stored under without a person on the preview: the one named, else the
    system's unit the report names exactly. A near match or none is a question for a person."""
    if unit_name:
        return named_unit(unit_name)
    match, written = preview.match, preview.parsed.unit
    if match.unit is not None:
        return match.unit
    if match.near is not None:
        raise Invalid(f"报告单位“{written}”在系统中没有完全对应的单位，最接近的是“{match.near.name}”，请指定单位。",
                      field="unit")
    if written:
        raise Invalid(f"报告单位“{written}”不在系统中，请指定单位（管理员可先新建该单位）。", field="unit")
    raise Invalid("报告中没有识别出单位，请指定单位。", field="unit")


def import_preview(
    preview: Preview, *, actor: User | None, now: datetime, filename: str | None, deadlines: DeadlineRule,
    allow_duplicate: bool = False, unit_name: str | None = None, year: int | None = None,
) -> tuple[Report, list[Item]]:
    """Store a previewed report as parsed, with its proposed measures and the default deadline:
    what ``import-report`` and ``POST /reports/import`` do without a person editing the preview
    (``unit_name`` and ``year``, when given, say what the report does not)."""
    parsed = preview.parsed
    unit = unit_to_store(preview, unit_name)
    year = year or parsed.year
    if not year:
        raise Invalid("报告中没有识别出年度，请指定年度。", field="year")
    items.check_year(year)
    drafts = [Draft(p.title, p.text, p.categories, measures, progress=p.progress)
              for p, measures in zip(parsed.problems, preview.measures, strict=True)]
    return import_report(
        unit=unit, year=year, title=parsed.title, drafts=drafts, actor=actor, now=now,
        filename=filename, sha256=preview.sha256, allow_duplicate=allow_duplicate,
        deadline=deadlines.for_year(year, clock.to_local(now).date()), kind=parsed.kind,
        fingerprint=parsed.fingerprint,
    )


def preview_to_json(preview: Preview, report: Report | None = None, item_ids: list[int] | None = None, *,
                    unit_name: str | None = None, year: int | None = None) -> dict:
    """The JSON that ``import-report`` prints (CONTRACT.md): ``unit`` as the report writes it (or
    as given), ``matched_unit`` the system's unit it was matched to, or null."""
    parsed = preview.parsed
    matched = report.unit if report else (named_unit(unit_name) if unit_name else preview.match.unit)
    return {
        "unit": unit_name or parsed.unit,
        "matched_unit": matched.name if matched else None,
        "kind": parsed.kind,
        "year": report.year if report else (year or parsed.year),
        "title": report.title if report else parsed.title,
        "problems": [{"title": p.title, "text": p.text, "categories": p.categories, "measures": measures,
                      "progress": p.progress} for p, measures in zip(parsed.problems, preview.measures, strict=True)],
        "plans": [{"title": p.title, "text": p.text} for p in parsed.plans],
        "report_id": report.id if report else None,
        "item_ids": item_ids if report else None,
    }


# Undoing an import ------------------------------------------------------------------------------

# History rows that are work on an item: progress, evidence, a status change (an assignment, a
# 督办单 or a year-end carry-over is not).
WORK = (EventAction.progress, EventAction.evidence_added, EventAction.evidence_removed, EventAction.start,
        EventAction.submit, EventAction.approve_first, EventAction.approve, EventAction.return_, EventAction.reopen,
        EventAction.withdraw)
REASON_MAX = 500


def own_items(report: Report):
    """SQL condition on ``Item``: the problems this report's import created, wherever they are now
    (carried on to a later year or not); not those a rollover carried into it from the year before."""
    first_move = (select(CarryOver.item_id, func.min(CarryOver.id).label("first_id"))
                  .group_by(CarryOver.item_id).subquery())
    born_here_and_moved = (select(CarryOver.item_id).join(first_move, CarryOver.id == first_move.c.first_id)
                           .where(CarryOver.from_report_id == report.id))
    never_moved = Item.id.not_in(select(CarryOver.item_id))
    return or_((Item.report_id == report.id) & never_moved, Item.id.in_(born_here_and_moved))


def untouched(report: Report) -> bool:
    """Has none of the report's problems progress, evidence or a status change yet?"""
    ids = select(Item.id).where(own_items(report))
    worked = db.session.scalar(select(ItemEvent.id).where(ItemEvent.item_id.in_(ids), ItemEvent.action.in_(WORK),
                                                         ItemEvent.details["imported"].as_boolean().is_not(True))
                               .limit(1))
    moved = db.session.scalar(select(Item.id).where(own_items(report), Item.status != Status.open).limit(1))
    return worked is None and moved is None


def can_withdraw(user: User, report: Report) -> bool:
    """An admin always; a supervisor over the report's unit while it is untouched."""
    if report.withdrawn_at is not None or report.is_draft:
        return False
    if permissions.is_admin(user):
        return True
    return permissions.supervises_unit(user, report.unit) and untouched(report)


def withdraw_report(report: Report, actor: User, *, reason: str, now: datetime) -> int:
    """Withdraw an imported report (imported under the wrong unit or year, or by mistake): it and
    its items stay in the database, marked with who did it, when and why, and drop out of every
    list, figure, reminder and rollover; the same file may be imported again. Returns how many
    items went with it. Flushes; the caller commits."""
    reason = (reason or "").strip()
    if report.withdrawn_at is not None:
        raise Conflict(f"这份报告已于{clock.to_local(report.withdrawn_at):%Y-%m-%d %H:%M}撤回。")
    if report.is_draft:
        raise Conflict("年度结转生成的草稿报告不是导入的，不能撤回。")
    if not permissions.is_admin(actor):
        if not permissions.supervises_unit(actor, report.unit):
            raise Forbidden("您只能撤回督办范围内单位的报告。")
        if not untouched(report):
            raise Conflict("这份报告已有事项开始整改（有进展、佐证材料或状态变化），督办人不能再撤回；"
                           "确需撤回的，请联系系统管理员。")
    if not reason:
        raise Invalid("请填写撤回理由，例如“导入单位有误”。", field="reason")
    if len(reason) > REASON_MAX:
        raise Invalid(f"撤回理由不能超过{REASON_MAX}字。", field="reason")
    ids = list(db.session.scalars(select(Item.id).where(own_items(report), Item.withdrawn_at.is_(None))))
    report.withdrawn_at, report.withdrawn_by_id, report.withdrawn_reason = now, actor.id, reason
    _keep_carried_in(report, ids, now)
    for start in range(0, len(ids), 1000):
        db.session.execute(update(Item).where(Item.id.in_(ids[start:start + 1000])).values(withdrawn_at=now)
                           .execution_options(synchronize_session=False))
    states.forget(db.session.connection(), ids)
    db.session.flush()
    return len(ids)


def _keep_carried_in(report: Report, own: list[int], now: datetime) -> None:
    """The import filled the year-end draft: the problems carried into it from the year before are
    not the import's, and go back to a draft of their own (the year's report is then imported anew)."""
    carried_in = list(db.session.scalars(select(Item.id).where(Item.report_id == report.id, Item.id.not_in(own))))
    if not carried_in:
        return
    draft = Report(unit_id=report.unit_id, year=report.year, is_draft=True, created_at=now,
                   title=draft_title(report.unit, report.year))
    db.session.add(draft)
    db.session.flush()
    db.session.execute(update(Item).where(Item.id.in_(carried_in)).values(report_id=draft.id)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(CarryOver).where(CarryOver.item_id.in_(carried_in), CarryOver.to_report_id == report.id)
                       .values(to_report_id=draft.id).execution_options(synchronize_session=False))


def withdrawn_reports(limit: int = 500) -> list[tuple[Report, int]]:
    """系统管理 → 已撤回的报告: newest first, each with its number of items (two statements)."""
    reports = list(db.session.scalars(
        select(Report).where(Report.withdrawn_at.is_not(None))
        .options(joinedload(Report.unit), joinedload(Report.withdrawn_by), joinedload(Report.created_by))
        .order_by(Report.withdrawn_at.desc(), Report.id.desc()).limit(limit)))
    counts = dict(db.session.execute(
        select(Item.report_id, func.count(Item.id)).where(Item.report_id.in_([r.id for r in reports]))
        .group_by(Item.report_id)).all()) if reports else {}
    return [(report, counts.get(report.id, 0)) for report in reports]

"""The reminder rules (CONTRACT.md's TRACKER_REMIND_* settings, overridden by an admin on the
settings page) and the working-day calendar."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.org.models import User
from tracker.reminders.models import CalendarDay, DayKind, ReminderSettings
from tracker.web.params import is_on

MAX_DAYS = 365
# A pass catches up at most this many missed days; older reminders are stale news.
CATCH_UP_DAYS = 31


@dataclass(frozen=True)
class ReminderRule:
    days_before: tuple[int, ...]  # remind the owner this many days before the deadline (0: on the day)
    overdue_repeat_days: int  # while overdue, remind the owner every N days
    escalate_after_days: int  # overdue this long: the unit's supervisors are told too
    review_wait_days: int  # a close-out or extension request waiting this long: its reviewers are told
    remind_at: str  # "HH:MM", local time of the daily pass
    working_days_only: bool
    long_term_days: int = 90  # a 长期坚持 item needs a progress note this often (LONG_TERM_REVIEW_DAYS)


def parse_days_before(text: str) -> tuple[int, ...]:
    """"7,3,1,0" → (7, 3, 1, 0): distinct whole days, largest first."""
    parts = [p.strip() for p in re.split(r"[,，、\s]+", str(text).strip()) if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise Invalid("提前提醒天数应为用逗号分隔的整数，如 7,3,1,0。", "days_before")
    days = sorted({int(p) for p in parts}, reverse=True)
    if days[0] > MAX_DAYS:
        raise Invalid(f"提前提醒天数不能超过{MAX_DAYS}天。", "days_before")
    return tuple(days)


def parse_days(value, field: str, label: str, minimum: int = 1) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not minimum <= int(text) <= MAX_DAYS:
        raise Invalid(f"{label}应为{minimum}至{MAX_DAYS}之间的整数。", field)
    return int(text)


def parse_time(value) -> str:
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise Invalid("每日提醒时间应为“时:分”，如 09:00。", "remind_at")
    return f"{int(match.group(1)):02d}:{match.group(2)}"


def configured_rule(config: Mapping) -> ReminderRule:
    """The rule as the configuration states it (before an admin's overrides)."""
    return ReminderRule(
        days_before=parse_days_before(config["REMIND_DAYS_BEFORE"]),
        overdue_repeat_days=parse_days(config["OVERDUE_REPEAT_DAYS"], "overdue_repeat_days", "逾期重复提醒间隔"),
        escalate_after_days=parse_days(config["ESCALATE_AFTER_DAYS"], "escalate_after_days", "逾期上报天数", 0),
        review_wait_days=parse_days(config["REVIEW_WAIT_DAYS"], "review_wait_days", "审核等待天数"),
        remind_at=parse_time(config["REMIND_AT"]),
        working_days_only=is_on(config["REMIND_WORKING_DAYS_ONLY"]),
        long_term_days=parse_days(config.get("LONG_TERM_REVIEW_DAYS", 90), "long_term_days", "长期坚持事项的进展周期"),
    )


def settings_row() -> ReminderSettings | None:
    return db.session.get(ReminderSettings, 1)


def current_rule(config: Mapping) -> ReminderRule:
    """The rule in force: the configuration, with whatever an admin changed on the settings page."""
    rule = configured_rule(config)
    row = settings_row()
    if row is None:
        return rule
    return ReminderRule(
        days_before=parse_days_before(row.days_before) if row.days_before else rule.days_before,
        overdue_repeat_days=row.overdue_repeat_days or rule.overdue_repeat_days,
        escalate_after_days=rule.escalate_after_days if row.escalate_after_days is None else row.escalate_after_days,
        review_wait_days=row.review_wait_days or rule.review_wait_days,
        remind_at=row.remind_at or rule.remind_at,
        working_days_only=rule.working_days_only if row.working_days_only is None else row.working_days_only,
        long_term_days=rule.long_term_days,
    )


def update_settings(actor: User, *, days_before, overdue_repeat_days, escalate_after_days, review_wait_days,
                    remind_at, working_days_only: bool) -> ReminderRule:
    """Store an admin's rule. Every value is checked before anything is written."""
    days = parse_days_before(days_before)
    repeat = parse_days(overdue_repeat_days, "overdue_repeat_days", "逾期重复提醒间隔")
    escalate = parse_days(escalate_after_days, "escalate_after_days", "逾期上报天数", 0)
    review = parse_days(review_wait_days, "review_wait_days", "审核等待天数")
    at = parse_time(remind_at)
    row = settings_row() or ReminderSettings(id=1)
    row.days_before = ",".join(str(d) for d in days)
    row.overdue_repeat_days, row.escalate_after_days, row.review_wait_days = repeat, escalate, review
    row.remind_at, row.working_days_only = at, bool(working_days_only)
    row.updated_by_id = actor.id
    db.session.add(row)
    db.session.flush()
    return ReminderRule(days, repeat, escalate, review, at, bool(working_days_only))


# The working-day calendar -------------------------------------------------------------------

class WorkingDays:
    """Weekdays are working days, weekends are not, unless the calendar says otherwise."""

    def __init__(self, overrides: Mapping[date, DayKind]):
        self.overrides = overrides

    @classmethod
    def around(cls, start: date, end: date) -> "WorkingDays":
        rows = db.session.execute(
            select(CalendarDay.day, CalendarDay.kind).where(CalendarDay.day.between(start, end))
        )
        return cls({day: kind for day, kind in rows})

    def is_working(self, day: date) -> bool:
        kind = self.overrides.get(day)
        if kind is not None:
            return kind is DayKind.workday
        return day.weekday() < 5

    def next_working(self, after: date, limit: int = 60) -> date:
        """The first working day after ``after`` (give up after ``limit`` days: a bad calendar)."""
        day = after + timedelta(days=1)
        for _ in range(limit):
            if self.is_working(day):
                return day
            day += timedelta(days=1)
        return day


def calendar_days(year: int | None = None) -> list[CalendarDay]:
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31)))
    return list(db.session.scalars(query))


def set_calendar_day(day: date | None, kind: str, name: str = "") -> CalendarDay:
    if day is None:
        raise Invalid("请填写日期。", "day")
    try:
        day_kind = DayKind(kind)
    except ValueError:
        raise Invalid("请选择“放假”或“调休上班”。", "kind") from None
    if day_kind is DayKind.holiday and day.weekday() >= 5:
        raise Invalid("周末本来就不上班，无需登记为放假。", "day")
    if day_kind is DayKind.workday and day.weekday() < 5:
        raise Invalid("工作日本来就上班，调休上班应登记在周末。", "day")
    if db.session.scalar(select(CalendarDay.id).where(CalendarDay.day == day)) is not None:
        raise Conflict(f"{day.isoformat()} 已登记，请先删除原记录。", "day")
    row = CalendarDay(day=day, kind=day_kind, name=(name or "").strip()[:50])
    db.session.add(row)
    db.session.flush()
    return row


def remove_calendar_day(row: CalendarDay) -> None:
    db.session.delete(row)
    db.session.flush()

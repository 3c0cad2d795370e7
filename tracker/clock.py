"""What "now" and "today" mean. Services take them as arguments; only doors call these."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


def utcnow() -> datetime:
    """Now, in UTC: what the database stores (also the models' callable defaults)."""
    return datetime.now(UTC)


def local_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def local_today() -> date:
    """Today in the configured zone (Asia/Shanghai by default): what "overdue" is measured against."""
    return datetime.now(local_zone()).date()


def to_local(moment: datetime) -> datetime:
    return moment.astimezone(local_zone())


def day_start(day: date) -> datetime:
    """The moment local ``day`` begins (aware): the bound of "on or before a day" for stored moments."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


def year_just_ended(today: date) -> int:
    """The last full calendar year on ``today``: the one a year-end rollover carries over, and the
    year of the report written in its first months."""
    return today.year - 1

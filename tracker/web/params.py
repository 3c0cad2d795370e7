"""Typed parsing of what a door receives: query strings, form fields, JSON values, command-line
options. One function per type, each raising ``Invalid`` with the field's name and one plain
Chinese sentence.

``Params(source, strict=True)`` reads a mapping (``request.args``, ``request.form``, a JSON
object): the API is strict (a bad value is a 422 naming the field), the pages are lenient (a bad
filter in an address is ignored, as if it were not there).
"""

import enum
import re
from collections.abc import Mapping
from datetime import date
from typing import Any, TypeVar

from tracker.errors import Invalid

DB_ID_MAX = 2**31 - 1  # the largest id an INTEGER column holds (SQLite and PostgreSQL alike)
YEAR_MIN, YEAR_MAX = 2000, 2100
TRUE_WORDS = frozenset({"1", "true", "on", "yes"})
FALSE_WORDS = frozenset({"", "0", "false", "off", "no"})
_WHOLE = re.compile(r"[0-9]{1,10}")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

E = TypeVar("E", bound=enum.Enum)


def integer(value: Any, field: str, *, low: int = 1, high: int = DB_ID_MAX) -> int:
    """A whole number written in ASCII digits, within [low, high]."""
    text = str(value).strip()
    if not _WHOLE.fullmatch(text) or not low <= int(text) <= high:
        raise Invalid(f"{field} 应为 {low} 至 {high} 之间的整数。", field=field)
    return int(text)


def record_id(value: Any, field: str) -> int:
    """The id of a row: 1 to the database's largest integer."""
    return integer(value, field)


def year(value: Any, field: str = "year") -> int:
    return integer(value, field, low=YEAR_MIN, high=YEAR_MAX)


DAY_YEARS = (1900, 2999)


def day(value: Any, field: str) -> date:
    """A calendar date written YYYY-MM-DD that exists (no 2025-02-30)."""
    if not isinstance(value, str) or not _ISO_DAY.fullmatch(value.strip()):
        raise Invalid("日期应为 YYYY-MM-DD 格式的字符串。", field=field)
    try:
        parsed = date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid("日期应为真实存在的 YYYY-MM-DD。", field=field) from None
    if not DAY_YEARS[0] <= parsed.year <= DAY_YEARS[1]:  # the figures reach months back and days on: year 1 overflows
        raise Invalid(f"日期应在{DAY_YEARS[0]}年至{DAY_YEARS[1]}年之间。", field=field)
    return parsed


def flag(value: Any, field: str) -> bool:
    """1/true/on/yes or 0/false/off/no (any case); an empty value is false."""
    if value is True or value is False:
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise Invalid(f"{field} 应为 1 或 0。", field=field)


def is_on(value: Any) -> bool:
    """A configuration switch: on when 1/true/on/yes, off for anything else."""
    return value is True or str(value).strip().lower() in TRUE_WORDS


def member(enum_type: type[E], value: Any, field: str) -> E:
    """The member of ``enum_type`` whose value is ``value``."""
    try:
        return enum_type(value)
    except ValueError:
        values = [str(m.value) for m in enum_type]
        names = f"{'、'.join(values[:-1])} 或 {values[-1]}" if len(values) > 1 else values[0]
        raise Invalid(f"{field} 应为 {names}。", field=field) from None


def text(value: Any, field: str, *, max_length: int | None = None) -> str:
    """A string (None counts as empty); ``max_length`` cuts a filter to what a column can hold."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{field} 应为字符串。", field=field)
    return value[:max_length] if max_length is not None else value


class Params:
    """Typed reads of one mapping. Missing or empty values give the default. A bad value raises
    ``Invalid`` when ``strict``, and gives the default otherwise."""

    def __init__(self, source: Mapping, *, strict: bool = True):
        self.source = source
        self.strict = strict

    def raw(self, name: str) -> Any:
        value = self.source.get(name)
        return None if value is None or (isinstance(value, str) and not value.strip()) else value

    def _read(self, name: str, default, parse):
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except Invalid:
            if self.strict:
                raise
            return default

    def integer(self, name: str, default: int | None = None, *, low: int = 1, high: int = DB_ID_MAX) -> int | None:
        return self._read(name, default, lambda value: integer(value, name, low=low, high=high))

    def record_id(self, name: str, default: int | None = None) -> int | None:
        return self._read(name, default, lambda value: record_id(value, name))

    def year(self, name: str = "year", default: int | None = None) -> int | None:
        return self._read(name, default, lambda value: year(value, name))

    def day(self, name: str, default: date | None = None) -> date | None:
        return self._read(name, default, lambda value: day(value, name))

    def flag(self, name: str, default: bool = False) -> bool:
        return self._read(name, default, lambda value: flag(value, name))

    def optional_flag(self, name: str) -> bool | None:
        """A yes/no question that may be left unasked: None when absent (or, leniently, unreadable)."""
        return self._read(name, None, lambda value: flag(value, name) if str(value).strip() else None)

    def member(self, name: str, enum_type: type[E], default: E | None = None) -> E | None:
        return self._read(name, default, lambda value: member(enum_type, value, name))

    def text(self, name: str, default: str | None = None, *, max_length: int | None = None) -> str | None:
        """The trimmed text, cut to ``max_length``; empty gives the default."""
        value = self._read(name, None, lambda value: text(value, name).strip()[:max_length])
        return value or default

    def page(self, *, per_page: int, max_per_page: int) -> tuple[int, int]:
        """(page, per_page) of a list: page 1 to 10^6, per_page up to the configured maximum."""
        return self.integer("page", 1, high=10**6), self.integer("per_page", per_page, high=max_per_page)

"""How dates and missing values are written, the same on pages, in documents, in JSON and in mail."""

from datetime import date, datetime

NO_DEADLINE = "未设期限"  # an item whose 整改时限 is not set yet


def iso(value: date | datetime | None) -> str | None:
    """ISO 8601 for JSON and history rows; None stays None."""
    return value.isoformat() if value else None


def chinese_date(value: date | None, missing: str = "—") -> str:
    """2024年3月31日 (``missing`` when there is no date)."""
    if value is None:
        return missing
    return f"{value.year}年{value.month}月{value.day}日"

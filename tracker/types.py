"""Column types shared by the models."""

from datetime import UTC

from sqlalchemy import DateTime, Enum
from sqlalchemy.types import TypeDecorator

from tracker.clock import utcnow  # noqa: F401  (the models' callable default)


class UTCDateTime(TypeDecorator):
    """A moment stored as naive UTC on every engine and read back as an aware UTC datetime.

    SQLite has no time zones; storing naive UTC everywhere keeps both engines identical.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def enum_column(cls) -> Enum:
    """A status-like enum stored by its value in a VARCHAR(20), checked on both engines."""
    return Enum(cls, native_enum=False, length=20, validate_strings=True)



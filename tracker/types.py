"""Column types shared by the models."""

import enum
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


class TitledEnum(enum.Enum):
    """An enum whose members carry the words the interface shows (after Indico's RichEnum):
    ``__titles__`` maps each value to its Chinese title, ``__css_classes__`` (optional) to the
    Bootstrap colour it is shown in. Templates ask ``status.title`` and ``status.css``."""

    __titles__: dict = {}
    __css_classes__: dict = {}

    @property
    def title(self) -> str:
        return self.__titles__[self.value]

    @property
    def css(self) -> str:
        return self.__css_classes__.get(self.value, "secondary")


def enum_column(cls, length: int = 20) -> Enum:
    """A status-like enum stored by its value in a VARCHAR, checked on both engines."""
    return Enum(cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda members: [member.value for member in members])



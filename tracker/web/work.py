"""The unit of work: services flush, a door commits once.

``with unit_of_work():`` commits when the block ends and rolls back when it raises — a
``DomainError`` or anything else — and lets the error go on to the door's error handling. Pages,
the API, the CLI and the scheduler's jobs all write through it.

``submitted(form, action)`` is a form POST built on it: check the form's shape, run the service
in a unit of work, and on a ``DomainError`` put its sentence beside the field it names.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, TypeVar

from wtforms import Field

from tracker.errors import DomainError
from tracker.extensions import db

T = TypeVar("T")
# Fields a service may name that are never shown beside an input: the error goes above the form.
HIDDEN_FIELDS = frozenset({"version", "csrf_token", "token", "action"})


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit once on success; roll back on any error and re-raise it."""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


def run(action: Callable[[], T]) -> T:
    """``action()`` in a unit of work."""
    with unit_of_work():
        return action()


@dataclass
class Outcome(Generic[T]):
    """What became of a form POST: ``ok`` with the service's ``result``, or the ``status`` to show
    the form again with (422 for its shape, else the service's)."""

    ok: bool
    status: int
    result: T | None = None


def attach_error(form, error: DomainError, aliases: dict[str, str] | None = None) -> None:
    """Put a service's message beside the field it names (``aliases`` maps service field names
    to form field names), or above the form when no such field is on it."""
    name = (aliases or {}).get(error.field or "", error.field or "")
    target = getattr(form, name, None) if name and name not in HIDDEN_FIELDS else None
    if isinstance(target, Field):
        target.errors = [*target.errors, error.message]
    else:
        form.form_errors.append(error.message)


def submitted(form, action: Callable[[], T], *, aliases: dict[str, str] | None = None) -> Outcome[T]:
    """A form POST: the form's shape, then ``action()`` in a unit of work."""
    if not form.validate_on_submit():
        return Outcome(False, 422)
    try:
        result = run(action)
    except DomainError as error:
        attach_error(form, error, aliases)
        return Outcome(False, error.status_code)
    return Outcome(True, 200, result)


def first_error(form) -> str | None:
    """The first message a form carries (for a page that shows it above everything)."""
    for message in form.form_errors:
        return message
    for errors in form.errors.values():
        if errors and isinstance(errors[0], str):
            return errors[0]
    return None

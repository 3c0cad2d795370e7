"""系统管理: the one ``/admin`` blueprint (admins only) onto which each domain registers its own
pages — units, users and sign-ins in ``org.admin``, categories in ``items.admin``, classification
rules in ``importing.admin``, reminder rules, the calendar and robots in ``reminders.admin``, the
督办 rule in ``urging.admin``."""

from flask import Blueprint

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.org import permissions
from tracker.web.pages import guard

bp = Blueprint("admin", __name__, url_prefix="/admin")


guard(bp, permissions.can_manage)


def get_or_404(model, object_id: int):
    """The row of ``model`` with that id, or a 404 saying so."""
    found = db.session.get(model, object_id)
    if found is None:
        raise NotFound("要找的记录不存在。")
    return found


def unit_choices(units, blank: str | None = None) -> list[tuple[int, str]]:
    """(id, indented name) for a unit select, with a first blank choice (id 0) when named."""
    choices = [(0, blank)] if blank else []
    return choices + [(u.id, u.indented_name) for u in units]

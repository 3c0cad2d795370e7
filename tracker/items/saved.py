"""我的视图: the lists people look at every week, kept under a name.

A view keeps a list's filters and search as its address had them (the list pages' own names, see
``items.queries.LIST_ARGS``), its owner may share it with the supervisors of his unit, and
ask for it every Monday as a digest (``reminders``' daily pass writes it to the outbox).
"""

from datetime import datetime

from sqlalchemy import or_, select

from tracker.errors import Conflict, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.items import queries
from tracker.items.models import SavedList, SavedView
from tracker.org import permissions as org_permissions
from tracker.org.models import User

NAME_MAX = 40
PER_USER = 30
SHOWN = 20  # in the navigation bar and on the dashboard
# What a view keeps of a list's address: its filters and search (not "mine": a view is shared), and its order.
KEPT = (*(key for key in queries.LIST_ARGS if key != "mine"), "sort")


def kept_args(args) -> dict[str, str]:
    return {key: str(args[key])[:100] for key in KEPT if args.get(key)}


def save(user: User, name: str, saved_list: SavedList, args, *, shared: bool, weekly: bool, now: datetime) -> SavedView:
    """Keep the list's filters under ``name`` (a second save under the same name replaces them)."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("请给视图起个名字。", field="name")
    if len(name) > NAME_MAX:
        raise Invalid(f"视图名称不能超过{NAME_MAX}个字。", field="name")
    if shared and not org_permissions.is_supervisor(user):
        raise Forbidden("只有督办人可以把视图共享给本单位的督办人。")
    view = db.session.scalar(select(SavedView).where(SavedView.user_id == user.id, SavedView.name == name))
    if view is None:
        count = db.session.scalar(select(db.func.count(SavedView.id)).where(SavedView.user_id == user.id))
        if count >= PER_USER:
            raise Conflict(f"每人最多保存{PER_USER}个视图，请先删除不用的视图。")
        view = SavedView(user_id=user.id, name=name, created_at=now)
        db.session.add(view)
    view.list, view.args, view.weekly = saved_list, kept_args(args), weekly
    view.shared_unit_id = user.unit_id if shared else None
    db.session.flush()
    return view


def visible_views(user: User, limit: int = SHOWN) -> list[SavedView]:
    """``user``'s own views, then those shared with his unit's supervisors by others, by name."""
    shared = (SavedView.shared_unit_id == user.unit_id) if org_permissions.is_supervisor(user) else False
    return list(db.session.scalars(
        select(SavedView).where(or_(SavedView.user_id == user.id, shared))
        .order_by((SavedView.user_id != user.id), SavedView.name, SavedView.id).limit(limit)))


def load(view_id: int, user: User, *, own: bool = False) -> SavedView:
    """A view ``user`` may use (``own``: one he may change); NotFound otherwise."""
    view = db.session.get(SavedView, view_id)
    mine = view is not None and view.user_id == user.id
    shared = (view is not None and view.shared_unit_id == user.unit_id and org_permissions.is_supervisor(user))
    if view is None or not (mine or (shared and not own)):
        raise NotFound("视图不存在，或您无权使用。")
    return view


def delete(view: SavedView) -> None:
    db.session.delete(view)
    db.session.flush()

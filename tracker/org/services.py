"""Units and users: creating, finding, changing. Services flush and never commit."""

import re
from datetime import datetime
from functools import cache
from pathlib import Path

from blinker import Namespace
from sqlalchemy import func, select, update

from tracker.errors import Conflict, Invalid, NotFound
from tracker.extensions import db
from tracker.org import signin
from tracker.org.models import ApiToken, Role, SessionEnd, SignInOutcome, Unit, User
from tracker.types import utcnow

UNIT_NAME_MAX = 100
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
PASSWORD_MIN = 8

signals = Namespace()
# Sent (with ``user=``) after an admin saved changes to a user: items warns of items the user owns
# but may no longer be given, without org knowing about items.
user_changed = signals.signal("user-changed")


def find_unit(name: str) -> Unit:
    """A unit by its name, or by its path of names ("市局/某县局/法制科") when the name repeats."""
    name = (name or "").strip()
    parts = [p.strip() for p in name.split("/") if p.strip()]
    if not parts:  # nothing, or only slashes
        raise Invalid("请填写单位名称。", field="unit")
    candidates = list(db.session.scalars(select(Unit).where(Unit.name == parts[-1])))
    if len(parts) > 1:
        candidates = [u for u in candidates if unit_names(u)[-len(parts):] == parts]
    if not candidates:
        raise NotFound(f"找不到单位“{name}”。", field="unit")
    if len(candidates) > 1:
        paths = "；".join("/".join(unit_names(u)) for u in candidates)
        raise Invalid(f"有多个单位名为“{name}”，请用完整路径指明：{paths}。", field="unit")
    return candidates[0]


def unit_names(unit: Unit) -> list[str]:
    """Names from the root down to ``unit``."""
    names = []
    current: Unit | None = unit
    while current is not None:
        names.append(current.name)
        current = current.parent
    return names[::-1]


def create_unit(name: str, parent: Unit | None = None) -> Unit:
    name = (name or "").strip()
    if not name:
        raise Invalid("请填写单位名称。", field="name")
    if len(name) > UNIT_NAME_MAX or "/" in name:
        raise Invalid(f"单位名称不能超过{UNIT_NAME_MAX}字，且不能含“/”。", field="name")
    sibling = select(Unit.id).where(
        Unit.name == name,
        Unit.parent_id == parent.id if parent else Unit.parent_id.is_(None),
    )
    if db.session.scalar(sibling) is not None:
        raise Conflict(f"同一上级下已有名为“{name}”的单位。", field="name")
    unit = Unit(name=name, parent=parent)
    db.session.add(unit)
    db.session.flush()
    unit.path = (parent.path if parent else "/") + f"{unit.id}/"
    db.session.flush()
    return unit


def update_unit(unit: Unit, *, name: str, parent: Unit | None, short_name: str | None = None,
                two_level_review: bool | None = None) -> Unit:
    """Rename a unit or move it (with everything below it) under another parent; ``short_name``
    (None: unchanged) begins its 督办单 numbers; ``two_level_review`` (None: unchanged) makes its
    subtree's close-outs pass 初审 and 复审 (close-outs already waiting keep their one review)."""
    name = (name or "").strip()
    if two_level_review is not None:
        unit.two_level_review = bool(two_level_review)
    if short_name is not None:
        short_name = short_name.strip()
        if len(short_name) > 30 or "/" in short_name:
            raise Invalid("简称不超过30字，且不含“/”。", field="short_name")
        unit.short_name = short_name
    if not name or len(name) > UNIT_NAME_MAX or "/" in name:
        raise Invalid(f"请填写单位名称（不超过{UNIT_NAME_MAX}字，不含“/”）。", field="name")
    if parent is not None and parent.is_within(unit):
        raise Invalid("不能把单位移到它自己或它的下级单位之下。", field="parent")
    clash = db.session.scalar(
        select(Unit.id).where(
            Unit.name == name,
            Unit.id != unit.id,
            Unit.parent_id == parent.id if parent else Unit.parent_id.is_(None),
        )
    )
    if clash is not None:
        raise Conflict(f"同一上级下已有名为“{name}”的单位。", field="name")
    unit.name = name
    if (parent.id if parent else None) != unit.parent_id:
        old_prefix = unit.path
        new_prefix = (parent.path if parent else "/") + f"{unit.id}/"
        unit.parent = parent
        for below in db.session.scalars(
            select(Unit).where(Unit.path.startswith(old_prefix, autoescape=True))
        ):
            below.path = new_prefix + below.path[len(old_prefix):]
    db.session.flush()
    return unit


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid("角色应为 official、supervisor 或 admin。", field="role") from None


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the commonest passwords (``common_passwords.txt``), lower case."""
    lines = (Path(__file__).parent / "common_passwords.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def check_password(password: str, username: str = "") -> str:
    if not (password or "").strip():
        raise Invalid("密码不能全是空格。", field="password")
    if len(password or "") < PASSWORD_MIN:
        raise Invalid(f"密码至少{PASSWORD_MIN}位。", field="password")
    if len(password) > 128:
        raise Invalid("密码不能超过128位。", field="password")
    if username and password.strip().lower() == username.strip().lower():
        raise Invalid("密码不能与用户名相同。", field="password")
    if password.strip().lower() in common_passwords():
        raise Invalid("这个密码太常见，容易被猜中，请换一个（可用几个词、数字和符号组合）。", field="password")
    return password


def _check_email(email: str | None) -> str | None:
    email = (email or "").strip() or None
    if email and (len(email) > 254 or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email)):
        raise Invalid("邮箱格式不正确。", field="email")
    return email


def create_user(
    username: str,
    *,
    role: Role,
    unit: Unit,
    password: str,
    name: str = "",
    email: str | None = None,
    temporary: bool = False,
) -> User:
    """A new user. ``temporary``: the password was set by an admin, to be changed at first sign-in."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise Invalid("用户名应为2至64位字母、数字、下划线、点或连字符。", field="username")
    exists = db.session.scalar(
        select(User.id).where(func.lower(User.username) == username.lower())
    )
    if exists is not None:
        raise Conflict(f"用户名“{username}”已被使用。", field="username")
    name = (name or "").strip()
    if len(name) > 64:
        raise Invalid("姓名不能超过64字。", field="name")
    if not password:
        raise Invalid("请为新用户设置密码。", field="password")
    user = User(username=username, name=name, role=role, unit=unit, email=_check_email(email),
                must_change_password=temporary)
    user.set_password(check_password(password, username))
    db.session.add(user)
    db.session.flush()
    return user


def update_user(
    user: User, *, name: str, role: Role, unit: Unit, email: str | None, active: bool,
    password: str | None = None, actor: User | None = None, now: datetime | None = None,
) -> User:
    """Change a user. An admin may not deactivate themselves or give up their own admin role,
    so that there is always someone left who can manage users.

    A ``password`` given here is an admin's reset: a temporary password the user must change at
    the next sign-in; it ends every session of the user, as deactivation does."""
    if actor is not None and actor.id == user.id and (not active or role is not Role.admin):
        raise Invalid("不能停用自己或取消自己的管理员角色。", field="role")
    name = (name or "").strip()
    if len(name) > 64:
        raise Invalid("姓名不能超过64字。", field="name")
    user.name = name
    user.role = role
    user.unit = unit
    user.email = _check_email(email)
    deactivated = user.active and not active
    user.active = active
    now = now or utcnow()
    if password:
        reset_password(user, password, actor=actor, now=now)
    elif deactivated:
        signin.end_sessions(user, reason=SessionEnd.deactivated, now=now)
    db.session.flush()
    return user


def reset_password(user: User, password: str, *, actor: User | None, now: datetime) -> None:
    """An admin (or the operator, ``actor`` None) sets a temporary password: the user must choose
    a new one at the next sign-in, and every session and API token of theirs ends now (the reset
    is for an account that may be in someone else's hands). Flushes."""
    user.set_password(check_password(password, user.username))
    user.must_change_password = True
    signin.end_sessions(user, reason=SessionEnd.password_reset, now=now)
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now))
    signin.record(SignInOutcome.password_reset, user=user, actor=actor, now=now,
                  detail="设置临时密码" if actor else "在命令行设置临时密码")
    db.session.flush()


def change_password(user: User, current: str, new: str, *, now: datetime, keep_session: str | None,
                    client: signin.Client, policy: signin.Policy, zone) -> int:
    """The user's own change: the current password (checked under the sign-in throttle, which
    commits its count), then the new one. Ends the user's other sessions (not ``keep_session``);
    returns how many. Flushes the change."""
    check_password(new, user.username)  # a new password that would be refused costs no guess
    if (new or "") == (current or ""):
        raise Invalid("新密码不能与当前密码相同。", field="new")
    signin.confirm_password(user, current, client=client, now=now, policy=policy, zone=zone)
    user.set_password(check_password(new, user.username))
    user.must_change_password = False
    ended = signin.end_sessions(user, reason=SessionEnd.password_changed, now=now, keep=keep_session)
    signin.record(SignInOutcome.password_changed, user=user, now=now, client=client,
                  detail=f"其他{ended}处登录已退出" if ended else "")
    db.session.flush()
    return ended


def unit_to_json(unit: Unit) -> dict:
    return {"id": unit.id, "name": unit.name, "parent": unit.parent.name if unit.parent else None,
            "path": "/".join(unit_names(unit))}


def user_to_json(user: User) -> dict:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role.value,
            "unit": user.unit.name, "email": user.email, "active": user.active}

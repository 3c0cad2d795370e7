"""Units (a tree: 市局 → 县区局 → 科室/大队) and the users who work in them."""

from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Enum, ForeignKey, Index, Integer, String, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.extensions import db
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow


class Role(TitledEnum):
    __titles__ = {"official": "责任人", "supervisor": "督办人", "admin": "管理员"}
    official = "official"
    supervisor = "supervisor"
    admin = "admin"


def path_ids(path: str) -> list[int]:
    """"/1/4/9/" → [1, 4, 9]: a unit's ancestors, top first, then the unit itself."""
    return [int(part) for part in path.strip("/").split("/") if part]


class Unit(db.Model):
    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("parent_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # Materialised path of ids, "/1/4/9/": a unit's subtree is every unit whose path starts
    # with its own, so "my units and all below" is one indexed prefix comparison.
    path: Mapped[str] = mapped_column(String(500), index=True, default="")
    # What its 督办单 numbers begin with, e.g. "南岸交" → 南岸交督〔2024〕第7号 (admins edit it).
    short_name: Mapped[str] = mapped_column(String(30), default="", server_default="")
    # 两级审核: the close-outs of this unit and every unit below it are checked twice (the unit's
    # own 初审, then the level above's 复审) before 销号. Set by admins.
    two_level_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped["Unit | None"] = relationship(
        remote_side="Unit.id", back_populates="children"
    )
    children: Mapped[list["Unit"]] = relationship(
        back_populates="parent", order_by="Unit.name"
    )
    users: Mapped[list["User"]] = relationship(back_populates="unit")

    @property
    def lineage(self) -> list[int]:
        """The ids of this unit's ancestors, top first, ending with its own."""
        return path_ids(self.path)

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2

    @property
    def indented_name(self) -> str:
        """The name indented by depth, for choosing a unit in a tree: "　　甲大队"."""
        return "　" * self.depth + self.name

    @property
    def urge_prefix(self) -> str:
        return self.short_name or self.name

    def is_within(self, other: "Unit") -> bool:
        """True when this unit is ``other`` or lies anywhere below it."""
        return self.path.startswith(other.path)

    def __repr__(self) -> str:
        return f"<Unit {self.id} {self.name}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, length=20, validate_strings=True), default=Role.official
    )
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Set by an admin's reset (a temporary password): every page asks for a new one first.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The reminder channels this user chose ("inapp,email,wecom"); see tracker.reminders.
    notify_channels: Mapped[str] = mapped_column(String(100), default="inapp,email", server_default="inapp,email")
    # Per channel, the event kinds sent at once ({"email": ["returned", "urged"]}); a channel not
    # named keeps the defaults, and the other kinds wait for the daily digest. See tracker.reminders.
    notify_at_once: Mapped[dict[str, list[str]] | None] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.username

    def set_password(self, password: str) -> None:
        method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class SignInOutcome(TitledEnum):
    """What the sign-in log records: every sign-in, failure, refusal, lock and session end."""

    __titles__ = {
        "success": "登录成功", "failure": "登录失败", "locked": "被锁定", "unlocked": "管理员解锁",
        "signed_out": "退出登录", "signed_out_all": "退出所有设备", "expired": "登录超时",
        "password_changed": "修改密码", "password_reset": "管理员重置密码", "token_refused": "令牌错误",
    }
    __css_classes__ = {"success": "success", "failure": "warning", "locked": "danger", "unlocked": "info",
                       "token_refused": "warning"}

    success = "success"
    failure = "failure"  # a wrong password, or no such (active) user
    locked = "locked"  # this failure locked the account or the address
    unlocked = "unlocked"  # an admin lifted a lock
    signed_out = "signed_out"
    signed_out_all = "signed_out_all"
    expired = "expired"  # idle too long, or past the session's lifetime
    password_changed = "password_changed"  # by the user; their other sessions end
    password_reset = "password_reset"  # by an admin; all the user's sessions end
    token_refused = "token_refused"  # an API call with a wrong token


class SignInEvent(db.Model):
    """One line of the sign-in log that admins read."""

    __tablename__ = "sign_in_events"
    __table_args__ = (Index("ix_sign_in_events_username_id", "username", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64), default="")  # as typed, lower case
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    address: Mapped[str] = mapped_column(String(45), default="")
    outcome: Mapped[SignInOutcome] = mapped_column(enum_column(SignInOutcome))
    detail: Mapped[str] = mapped_column(String(200), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class SignInThrottle(db.Model):
    """Failed sign-ins of one account ("user:zhangsan", whether it exists or not) or one client
    address ("address:10.1.2.3", "token:10.1.2.3" for API tokens) within the current window.
    In the database, so that every worker and machine counts the same and a restart forgets nothing."""

    __tablename__ = "sign_in_throttles"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # Attempts refused unchecked (too soon, or while locked): counted here, not logged one by one,
    # so that hammering a locked account cannot fill the log.
    refusals: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def kind(self) -> str:
        return self.key.partition(":")[0]

    @property
    def subject(self) -> str:
        """The account name or the address this row counts for."""
        return self.key.partition(":")[2]


class SessionEnd(TitledEnum):
    __titles__ = {
        "signed_out": "已退出", "signed_out_all": "在所有设备退出", "password_changed": "密码已修改",
        "password_reset": "管理员重置了密码", "deactivated": "账号已停用", "locked": "账号被锁定", "idle": "长时间未操作",
        "lifetime": "超过登录有效期",
    }
    signed_out = "signed_out"
    signed_out_all = "signed_out_all"
    password_changed = "password_changed"
    password_reset = "password_reset"
    deactivated = "deactivated"
    locked = "locked"  # the account was locked by wrong passwords (a stolen session guessing)
    idle = "idle"
    lifetime = "lifetime"


class UserSession(db.Model):
    """A signed-in browser. The cookie carries a random id; only its SHA-256 is stored, and the
    session counts only while its row says so: signing out, a password change or an admin's
    reset ends it here, whatever copy of the cookie is still around."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_ended_at", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[SessionEnd | None] = mapped_column(enum_column(SessionEnd))
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")

    user: Mapped[User] = relationship()


# Per-user API tokens: shown once, stored only as a SHA-256 hash, revocable.
class ApiToken(db.Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    # The token is 256 random bits, so a plain SHA-256 is enough to make the stored value useless.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))  # shown in lists so a user can tell tokens apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

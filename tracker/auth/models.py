"""Units (a tree: 市局 → 县区局 → 科室/大队) and the users who work in them."""

import enum
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from tracker.extensions import db
from tracker.types import UTCDateTime, utcnow


class Role(enum.Enum):
    official = "official"
    supervisor = "supervisor"
    admin = "admin"

    @property
    def title(self) -> str:
        return {"official": "责任人", "supervisor": "督办人", "admin": "管理员"}[self.value]


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
    # The reminder channels this user chose ("inapp,email,wecom"); see tracker.reminders.
    notify_channels: Mapped[str] = mapped_column(String(100), default="inapp,email", server_default="inapp,email")
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

"""The problem taxonomy (CONTRACT.md). The defaults are seeded by the first migration."""

import re

from sqlalchemy import select

from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.items.models import Category

DEFAULT_CATEGORIES = [
    ("legal_publicity", "普法宣传"),
    ("fine_instead_of_management", "以罚代管"),
    ("case_file_quality", "案卷质量"),
    ("enforcement_capacity", "执法力量与保障"),
    ("enforcement_competence", "执法能力素质"),
    ("enforcement_methods", "执法方式"),
    ("theory_study", "学习贯彻与法治观念"),
    ("accountability", "责任落实与监督"),
    ("safety_supervision", "安全生产监管"),
    ("institutional_mechanism", "制度机制"),
    ("other", "其他"),
]

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,49}$")


def create_category(code: str, name: str, position: int | None = None) -> Category:
    code, name = (code or "").strip(), (name or "").strip()
    if not CODE_RE.match(code):
        raise Invalid("代码应为小写英文字母开头的字母、数字或下划线，2至50位。", field="code")
    if not name or len(name) > 50:
        raise Invalid("请填写名称（不超过50字）。", field="name")
    if db.session.scalar(select(Category.id).where(Category.code == code)) is not None:
        raise Conflict(f"代码“{code}”已存在。", field="code")
    _check_unique_name(name)
    if position is None:
        position = (db.session.scalar(select(db.func.max(Category.position))) or 0) + 1
    category = Category(code=code, name=name, position=position)
    db.session.add(category)
    db.session.flush()
    return category


def _check_unique_name(name: str, own_id: int | None = None) -> None:
    clash = db.session.scalar(select(Category.id).where(Category.name == name, Category.id != (own_id or 0)))
    if clash is not None:
        raise Conflict(f"已有名为“{name}”的类别。", field="name")


def update_category(category: Category, name: str, position: int | None) -> Category:
    """Rename or reorder; the code stays, since data and scripts refer to it."""
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise Invalid("请填写名称（不超过50字）。", field="name")
    _check_unique_name(name, category.id)
    category.name = name
    if position is not None:
        category.position = position
    db.session.flush()
    return category

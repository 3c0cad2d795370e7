"""Classification rules: keywords and their weights per category, edited by admins on a page."""

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.items.models import Category


class CategoryRule(db.Model):
    __tablename__ = "category_rules"
    __table_args__ = (UniqueConstraint("category_id", "keyword"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="CASCADE"), index=True)
    keyword: Mapped[str] = mapped_column(String(50))
    weight: Mapped[int] = mapped_column(Integer, default=1)

    category: Mapped[Category] = relationship()

"""A ledger built in the background: the web export of more rows than a request should wait for."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.extensions import db
from tracker.org.models import User
from tracker.types import TitledEnum, UTCDateTime, enum_column, utcnow


class ExportState(TitledEnum):
    __titles__ = {"running": "正在生成", "done": "已生成", "failed": "生成失败"}
    running = "running"
    done = "done"
    failed = "failed"


class LedgerExport(db.Model):
    """One ledger asked for on a page: who asked, with which list filters, how far it has got, and
    the file once it is written (kept ``EXPORT_KEEP_HOURS``, then removed by housekeeping)."""

    __tablename__ = "ledger_exports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    args: Mapped[dict] = mapped_column(JSON, default=dict)  # the list page's filters, as in its address
    state: Mapped[ExportState] = mapped_column(enum_column(ExportState), default=ExportState.running)
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300), default="")  # the ledger's title row
    stored_name: Mapped[str | None] = mapped_column(String(80))  # under UPLOAD_DIR/exports/
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Written with each batch of rows: a worker that died mid-export stops moving it.
    touched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

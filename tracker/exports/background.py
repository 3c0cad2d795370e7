"""The web ledger of many rows, built in a thread of the web process rather than in the request.

A request that asks for more than ``EXPORT_INLINE_ROWS`` rows gets a page that follows the
export: a ``ledger_exports`` row records who asked, with which filters, and how many rows are
written (each batch updates it on a connection of its own, so any web machine can show it). The
file is written on this machine's disk, then put in the storage under ``exports/`` (which every
web machine reads) and kept ``EXPORT_KEEP_HOURS``; housekeeping removes it after that, and marks
as failed an export whose worker died (no batch for ``STALE``).
"""

import logging
import secrets
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import Flask, Response, current_app
from sqlalchemy import delete, func, select, update

from tracker import clock, storage
from tracker.errors import NotFound
from tracker.exports import ledger
from tracker.exports.models import ExportState, LedgerExport
from tracker.extensions import db
from tracker.items import queries
from tracker.items.models import Item
from tracker.org.models import User

log = logging.getLogger(__name__)

INLINE_ROWS = 10_000  # EXPORT_INLINE_ROWS: fewer rows are written within the request (about a second)
KEEP_HOURS = 24  # EXPORT_KEEP_HOURS
STALE = timedelta(minutes=10)
FAILED = "台账生成失败，请重新导出；如仍失败，请联系系统管理员。"


PREFIX = "exports/"


def folder() -> Path:
    """Where this machine writes an export before it goes into the storage."""
    return storage.scratch_dir() / "exports"


def inline_rows() -> int:
    return int(current_app.config.get("EXPORT_INLINE_ROWS", INLINE_ROWS))


def keep_for() -> timedelta:
    return timedelta(hours=float(current_app.config.get("EXPORT_KEEP_HOURS", KEEP_HOURS)))




def list_args(args) -> dict[str, str]:
    return {key: str(args[key])[:100] for key in queries.LIST_ARGS if args.get(key)}


def count(user: User, args: dict, today: date) -> int:
    """How many rows the ledger of the list ``args`` would have, for ``user``."""
    flt = queries.ItemFilter.from_args(args, strict=False, user=user)
    ids = queries.filtered_items(user, flt, today).with_only_columns(Item.id).order_by(None).subquery()
    return db.session.scalar(select(func.count()).select_from(ids))


def record(user: User, args: dict, rows: int, *, now: datetime) -> tuple[LedgerExport, bool]:
    """Record an export of the list ``args`` for ``user`` (flushes; once committed, ``launch`` it),
    unless the same one is being built: a reload or a second click follows that one. Returns the
    export and whether it is new."""
    running = db.session.scalar(
        select(LedgerExport).where(LedgerExport.user_id == user.id, LedgerExport.state == ExportState.running,
                                   LedgerExport.touched_at >= now - STALE).order_by(LedgerExport.id.desc()).limit(1))
    if running is not None and running.args == args:
        return running, False
    export = LedgerExport(user_id=user.id, args=args, rows_total=rows, created_at=now, touched_at=now)
    db.session.add(export)
    db.session.flush()
    return export, True


def launch(export_id: int) -> None:
    """Build a recorded (and committed) export in a thread of this process."""
    app = current_app._get_current_object()
    threading.Thread(target=build, args=(app, export_id), name=f"ledger-export-{export_id}", daemon=True).start()


def build(app: Flask, export_id: int) -> None:
    """Write the export's file (beside its place, renamed in when whole) and mark it done or failed."""
    with app.app_context():
        export = db.session.get(LedgerExport, export_id)
        if export is None:
            return
        partial = None
        try:
            today = clock.local_today()
            user = export.user
            flt = queries.ItemFilter.from_args(export.args, strict=False, user=user)
            scope = ledger.ledger_scope(flt, user, today)
            folder().mkdir(parents=True, exist_ok=True)
            name = f"{export.id}-{secrets.token_hex(8)}.xlsx"
            partial = folder() / f".{name}.part"
            rows = ledger.write_ledger(str(partial), queries.filtered_items(user, flt, today), today=today,
                                       creator=user.display_name, scope=scope,
                                       progress=lambda done: _progress(export_id, done))
            storage.current().save(PREFIX + name, partial)
            export.state, export.stored_name, export.rows_done, export.rows_total = ExportState.done, name, rows, rows
            export.title, export.finished_at = scope.title, clock.utcnow()
            db.session.commit()
        except Exception:  # whatever it was, the page says one sentence and the log has the rest
            log.exception("ledger export %s failed", export_id)
            db.session.rollback()
            db.session.execute(update(LedgerExport).where(LedgerExport.id == export_id)
                               .values(state=ExportState.failed, error=FAILED, finished_at=clock.utcnow()))
            db.session.commit()
        finally:
            if partial is not None and partial.exists():
                partial.unlink()
            db.session.remove()


def _progress(export_id: int, rows: int) -> None:
    """Record how far the export has got, on a connection of its own: the export's own session is
    in the middle of reading the items."""
    with db.engine.begin() as connection:
        connection.execute(update(LedgerExport).where(LedgerExport.id == export_id)
                           .values(rows_done=rows, touched_at=clock.utcnow()))


def export_of(user: User, export_id: int, *, now: datetime) -> LedgerExport:
    """One of ``user``'s own exports (nobody else's: it holds what they may see), still kept."""
    export = db.session.get(LedgerExport, export_id)
    if export is None or export.user_id != user.id or export.created_at < now - keep_for():
        raise NotFound("导出的台账不存在或已过期（导出文件保留一天），请重新导出。")
    if export.state is ExportState.running and export.touched_at < now - STALE:
        export.state, export.error = ExportState.failed, FAILED  # its worker died; shown, stored by housekeeping
    return export


def send(user: User, export_id: int, *, now: datetime) -> Response:
    """The answer that streams one of ``user``'s finished exports."""
    export = export_of(user, export_id, now=now)
    try:
        if export.state is not ExportState.done or not export.stored_name:
            raise storage.Missing(export_id)
        return storage.current().send(PREFIX + export.stored_name, mimetype=ledger.XLSX_TYPE, as_attachment=True,
                                      download_name=download_name(export), max_age=0)
    except storage.Missing:
        raise NotFound("导出的台账尚未生成或已被清理，请重新导出。") from None


def download_name(export: LedgerExport) -> str:
    return f"{ledger.SHEET_TITLE}-{clock.to_local(export.created_at):%Y%m%d-%H%M}.xlsx"


def recent(user: User, *, now: datetime, limit: int = 10) -> list[LedgerExport]:
    """``user``'s exports still kept, newest first."""
    return list(db.session.scalars(
        select(LedgerExport).where(LedgerExport.user_id == user.id, LedgerExport.created_at >= now - keep_for())
        .order_by(LedgerExport.id.desc()).limit(limit)))


def remove_expired(*, now: datetime) -> int:
    """Remove exports older than the keep time, with their files; mark as failed those whose
    worker died. Commits; returns how many were removed."""
    cutoff = now - keep_for()
    old = list(db.session.execute(select(LedgerExport.id, LedgerExport.stored_name)
                                  .where(LedgerExport.created_at < cutoff)))
    db.session.execute(update(LedgerExport).where(LedgerExport.state == ExportState.running,
                                                   LedgerExport.touched_at < now - STALE)
                       .values(state=ExportState.failed, error=FAILED, finished_at=now))
    if old:
        db.session.execute(delete(LedgerExport).where(LedgerExport.id.in_([row.id for row in old])))
    db.session.commit()
    for _, name in old:
        if name:
            storage.current().delete(PREFIX + name)
    if folder().is_dir():  # a worker killed mid-write leaves its partial file
        for path in folder().glob(".*.part"):
            if path.stat().st_mtime < (now - STALE).timestamp():
                path.unlink(missing_ok=True)
    return len(old)

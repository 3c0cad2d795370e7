"""The file a report was imported from, kept so that those who may see the report can read it.

Files are kept in the storage under ``reports/`` by the SHA-256 of their bytes: written when a report
is read for its preview (the bytes are not at hand when the preview is confirmed), named by a
report when it is stored. A file no report names, a day after it was read, is removed by the
daily housekeeping (a preview never confirmed, a dry run).
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from flask import Response
from sqlalchemy import select

from tracker import storage
from tracker.errors import NotFound
from tracker.extensions import db
from tracker.items.models import Report
from tracker.org import permissions
from tracker.org.models import User

SHA256 = re.compile(r"[0-9a-f]{64}")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword", "wps": "application/vnd.ms-works", "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8",
}


PREFIX = "reports/"


def key(sha256: str) -> str:
    return PREFIX + sha256


def keep(data: bytes, sha256: str) -> None:
    """Write the file (once: a second read of the same bytes finds it there)."""
    store = storage.current()
    if store.exists(key(sha256)):
        store.touch(key(sha256))  # read again: a fresh day before it may be removed
        return
    store.save_bytes(key(sha256), data)


def kept(sha256: str) -> bytes | None:
    """The bytes kept under ``sha256`` (a preview being confirmed), or None when gone."""
    if not SHA256.fullmatch(sha256 or ""):
        return None
    try:
        return storage.current().read_bytes(key(sha256))
    except storage.Missing:
        return None


def original(report_id: int, user: User) -> Report:
    """The report whose imported file ``user`` asks for, if they may see the report (its unit's
    people and those above); NotFound when not, or when it was pasted text."""
    report = db.session.get(Report, report_id)
    if report is None or report.withdrawn_at is not None or not permissions.can_view_unit(user, report.unit):
        raise NotFound("报告不存在，或您无权查看。")
    if not report.sha256 or not report.source_filename or not SHA256.fullmatch(report.sha256):
        raise NotFound("这份报告是粘贴的文字导入的，没有原始文件。")
    return report


def send(report: Report) -> Response:
    """The answer that streams the report's file; NotFound when the file is gone."""
    try:
        return storage.current().send(key(report.sha256), mimetype=content_type(report.source_filename),
                                      as_attachment=True, download_name=report.source_filename, max_age=0)
    except storage.Missing:
        raise NotFound("原始文件已丢失，请联系管理员。") from None


def content_type(filename: str) -> str:
    return CONTENT_TYPES.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def remove_unclaimed(*, now: datetime, older_than: timedelta) -> int:
    """Remove kept files that no report names, read longer ago than ``older_than``."""
    cutoff = now - older_than
    cutoff = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    store = storage.current()
    old = [stored.key for stored in store.listing(PREFIX) if stored.modified < cutoff]
    names = [name.removeprefix(PREFIX) for name in old]
    named = set(db.session.scalars(select(Report.sha256).where(Report.sha256.in_(names)))) if old else set()
    db.session.rollback()
    gone = [name for name in names if name not in named]
    for name in gone:
        store.delete(key(name))
    return len(gone)


def stored_files(batch: int = 1000) -> Iterator[tuple[str, str]]:
    """Every kept file that a report names, with its SHA-256 (its name), a batch at a time
    (``storage-migrate``). Files no report names are previews that housekeeping removes."""
    last = ""
    while names := list(db.session.scalars(select(Report.sha256).distinct()
                                           .where(Report.sha256 > last, Report.source_filename.is_not(None))
                                           .order_by(Report.sha256).limit(batch))):
        db.session.rollback()
        for name in names:
            if SHA256.fullmatch(name):
                yield key(name), name
        last = names[-1]

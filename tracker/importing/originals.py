"""The file a report was imported from, kept so that those who may see the report can read it.

Files are kept under ``UPLOAD_DIR/reports/`` by the SHA-256 of their bytes: written when a report
is read for its preview (the bytes are not at hand when the preview is confirmed), named by a
report when it is stored. A file no report names, a day after it was read, is removed by the
daily housekeeping (a preview never confirmed, a dry run).
"""

import os
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from tracker.errors import NotFound
from tracker.extensions import db
from tracker.items.evidence import upload_dir
from tracker.items.models import Report
from tracker.org import permissions
from tracker.org.models import User

SHA256 = re.compile(r"[0-9a-f]{64}")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "doc": "application/msword", "wps": "application/vnd.ms-works", "pdf": "application/pdf",
    "txt": "text/plain; charset=utf-8",
}


def folder() -> Path:
    return upload_dir() / "reports"


def keep(data: bytes, sha256: str) -> None:
    """Write the file (once: a second read of the same bytes finds it there)."""
    path = folder() / sha256
    if path.is_file():
        os.utime(path)  # read again: a fresh day before it may be removed
        return
    folder().mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".report-", dir=folder())
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(temp, path)


def kept(sha256: str) -> bytes | None:
    """The bytes kept under ``sha256`` (a preview being confirmed), or None when gone."""
    path = folder() / (sha256 or "")
    return path.read_bytes() if SHA256.fullmatch(sha256 or "") and path.is_file() else None


def original(report_id: int, user: User) -> tuple[Report, Path]:
    """The report and the file it was imported from, for one who may see the report (its unit's
    people and those above); NotFound when not, when it was pasted text, or when the file is gone."""
    report = db.session.get(Report, report_id)
    if report is None or report.withdrawn_at is not None or not permissions.can_view_unit(user, report.unit):
        raise NotFound("报告不存在，或您无权查看。")
    if not report.sha256 or not report.source_filename or not SHA256.fullmatch(report.sha256):
        raise NotFound("这份报告是粘贴的文字导入的，没有原始文件。")
    path = folder() / report.sha256
    if not path.is_file():
        raise NotFound("原始文件已丢失，请联系管理员。")
    return report, path


def content_type(filename: str) -> str:
    return CONTENT_TYPES.get(filename.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def remove_unclaimed(*, now: datetime, older_than: timedelta) -> int:
    """Remove kept files that no report names, read longer ago than ``older_than``."""
    if not folder().is_dir():
        return 0
    cutoff = (now - older_than).timestamp()
    old = [path for path in folder().iterdir() if path.is_file() and path.stat().st_mtime < cutoff]
    named = set(db.session.scalars(select(Report.sha256).where(Report.sha256.in_([p.name for p in old])))) if old else set()
    db.session.rollback()
    gone = [path for path in old if path.name not in named]
    for path in gone:
        path.unlink(missing_ok=True)
    return len(gone)

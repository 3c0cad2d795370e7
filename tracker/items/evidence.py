"""Evidence files: checked by their bytes, stored under a generated name, kept for the record.

Accepted types are what a government office produces as proof of rectification: PDF and OFD
(the national electronic-document format that official e-documents arrive in), Word and WPS
documents, Excel and WPS spreadsheets, and JPEG/PNG photos and scans. Archives and executables
are refused: an archive hides what it holds from the reviewer. So are documents that are
archives in disguise: a .docx or .ofd (zip packages) carrying a program, a script, another
archive or macros (vbaProject.bin), and legacy Office files carrying a VBA project.

Files are served with ``Content-Security-Policy: sandbox`` (a preview cannot run script with the
site's rights), and a PDF whose bytes name JavaScript or launch actions only as an attachment.
"""

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tracker import filetypes, storage
from tracker.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from tracker.extensions import db
from tracker.items import permissions, workflow
from tracker.items.history import record
from tracker.items.models import EventAction, Evidence, Item, lock_item
from tracker.org.models import User

DESCRIPTION_MAX = 500
FILENAME_MAX = 200



class UnsupportedType(DomainError):
    status_code = 415


class TooLarge(DomainError):
    status_code = 413


@dataclass(frozen=True)
class Kind:
    label: str
    content_type: str


KINDS: dict[str, Kind] = {
    "pdf": Kind("PDF", "application/pdf"),
    "ofd": Kind("OFD", "application/ofd"),
    "doc": Kind("Word", "application/msword"),
    "docx": Kind("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "wps": Kind("WPS 文字", "application/vnd.ms-works"),
    "xls": Kind("Excel", "application/vnd.ms-excel"),
    "xlsx": Kind("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "et": Kind("WPS 表格", "application/vnd.ms-excel"),
    "jpg": Kind("图片", "image/jpeg"),
    "jpeg": Kind("图片", "image/jpeg"),
    "png": Kind("图片", "image/png"),
}
ACCEPT = ",".join("." + ext for ext in KINDS)
ALLOWED_TEXT = "PDF、OFD、Word（doc/docx）、WPS 文字（wps）、Excel（xls/xlsx）、WPS 表格（et）、JPG、PNG"
# Shown in the browser rather than downloaded, when asked for a preview.
PREVIEWABLE = frozenset({"application/pdf", "image/jpeg", "image/png"})


def clean_filename(name: str) -> str:
    """The original file name as shown and given back on download, with any path removed.

    ``../../x.pdf`` becomes ``x.pdf``; control characters go; Chinese is kept.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().lstrip(".")
    if len(name) > FILENAME_MAX:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: FILENAME_MAX - len(ext) - 1] + dot + ext) if dot else name[:FILENAME_MAX]
    return name


def extension(filename: str) -> str:
    return filename.rpartition(".")[2].lower() if "." in filename else ""


class Refused(DomainError):
    """The file is of an accepted type but carries what must not be stored (a program, macros)."""

    status_code = 415


# What an Office or OFD package may never carry: programs, scripts, nested archives, macros.
FORBIDDEN_MEMBERS = re.compile(
    r"(?:\.(?:exe|dll|com|scr|bat|cmd|ps1|vbs|vbe|js|jse|wsf|hta|msi|jar|sh|lnk|zip|rar|7z|cab|iso)$"
    r"|vbaproject\.bin$|vbadata\.xml$|/activex/|/macrosheets/"
    # Embedded OLE objects (a "package" object carries any program) and embedded documents that
    # may carry macros; embedded .xlsx charts and pictures stay allowed.
    r"|oleobject\d*\.bin$|/embeddings/[^/]*\.(?:bin|doc|xls|ppt|docm|xlsm|pptm|dotm)$)", re.IGNORECASE,
)
# A template fetched from elsewhere when the document opens (remote template injection).
EXTERNAL_TEMPLATE = re.compile(rb"attachedTemplate[^>]*TargetMode\s*=\s*[\"']External|TargetMode\s*=\s*[\"']External"
                               rb"[^>]*attachedTemplate")
MAX_PACKAGE_MEMBERS = 10_000
MAX_PACKAGE_UNPACKED = 2 * 1024 * 1024 * 1024
VBA_STREAM = "_VBA_PROJECT".encode("utf-16-le")  # the directory entry of a VBA project in an OLE2 file
PDF_SCRIPT = re.compile(rb"/(?:JavaScript|JS|Launch)\b")


def _zip_names(path: Path) -> set[str]:
    """The members of a zip package; Refused if it carries something it must not, or unpacks to
    more than any document could."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return set()
    if len(members) > MAX_PACKAGE_MEMBERS or sum(m.file_size for m in members) > MAX_PACKAGE_UNPACKED:
        raise Refused("文件解压后过大或部件过多，不像是正常的文档，请检查文件是否完整。", field="file")
    hidden = [m.filename for m in members if FORBIDDEN_MEMBERS.search(m.filename)]
    if hidden:
        raise Refused(f"文件中夹带了程序、压缩包、嵌入对象或宏（{hidden[0].rsplit('/', 1)[-1][:40]}），为安全起见不能上传；"
                      "请另存为不含宏和嵌入对象的文档或 PDF 后再上传。", field="file")
    settings = next((m for m in members if m.filename.lower() == "word/_rels/settings.xml.rels"), None)
    if settings is not None and settings.file_size < 1024 * 1024:
        with zipfile.ZipFile(path) as archive:
            if EXTERNAL_TEMPLATE.search(archive.read(settings)):
                raise Refused("文件打开时会从外部加载模板（可能夹带宏），为安全起见不能上传；请另存为普通文档或 PDF 后再上传。",
                              field="file")
    return {m.filename for m in members}


def _scan(path: Path, pattern: re.Pattern, **options) -> bool:
    with open(path, "rb") as f:
        return _scan_stream(f, pattern, **options)


def _scan_stream(f: BinaryIO, pattern: re.Pattern, chunk: int = 1024 * 1024, overlap: int = 64, decode=None) -> bool:
    """Whether ``pattern`` occurs in the file's bytes (passed through ``decode``), read a megabyte
    at a time."""
    tail = b""
    while block := f.read(chunk):
        piece = tail + block
        if pattern.search(decode(piece) if decode else piece):
            return True
        tail = piece[-overlap:]
    return False


_PDF_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _pdf_names(data: bytes) -> bytes:
    """PDF names as written without their #xx escapes (/J#61vaScript is /JavaScript)."""
    return _PDF_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def carries_script(evidence: Evidence) -> bool:
    """A PDF whose bytes name JavaScript or a launch action: offered only as a download. (What a
    compressed object stream hides is not seen here; every preview runs sandboxed in any case.)"""
    if evidence.content_type != "application/pdf":
        return False
    with _opened(evidence) as f:
        return _scan_stream(f, PDF_SCRIPT, decode=_pdf_names)


def content_matches(ext: str, path: Path) -> bool:
    """Whether the file's bytes are of the kind its extension names."""
    with open(path, "rb") as f:
        head = f.read(16)
    if ext == "pdf":
        return filetypes.is_kind("pdf", head)
    if ext in ("jpg", "jpeg"):
        return filetypes.is_kind("jpeg", head)
    if ext == "png":
        return filetypes.is_kind("png", head)
    if ext in ("doc", "xls", "wps", "et"):
        if not filetypes.is_kind("ole2", head):
            return False
        if _scan(path, re.compile(re.escape(VBA_STREAM))):
            raise Refused("文件中含有宏（VBA 工程），为安全起见不能上传；请另存为不含宏的文档或 PDF 后再上传。", field="file")
        return True
    if ext in ("docx", "xlsx", "ofd"):
        if not filetypes.is_kind("zip", head):
            return False
        names = _zip_names(path)
        required = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "ofd": "OFD.xml"}[ext]
        return required in names
    return False


def storage_key(stored_name: str) -> str:
    """Where an evidence file is kept: ``ab/ab12…`` (256 folders of the generated names)."""
    return f"{stored_name[:2]}/{stored_name}"


def _opened(evidence: Evidence) -> BinaryIO:
    try:
        return storage.current().open(storage_key(evidence.stored_name))
    except storage.Missing:
        raise NotFound("文件已丢失，请联系管理员。") from None


def send(evidence: Evidence, **options):
    """The answer that streams the file to the client; NotFound with a plain sentence if it has
    gone missing."""
    try:
        return storage.current().send(storage_key(evidence.stored_name), mimetype=evidence.content_type, **options)
    except storage.Missing:
        raise NotFound("文件已丢失，请联系管理员。") from None


def add_evidence(
    item: Item,
    actor: User,
    stream: BinaryIO,
    filename: str,
    *,
    now: datetime,
    description: str = "",
    max_bytes: int,
) -> Evidence:
    """Store an uploaded file as evidence of ``item`` and record it in the history.

    The file is written to a temporary name, checked (size, type by content), then moved into
    place; if the surrounding transaction rolls back, the stored file is deleted again.
    """
    if not permissions.works_on(actor, item):
        raise Forbidden("只有责任人或督办人可以上传佐证材料。")
    if not permissions.can_upload_evidence(actor, item):
        raise Conflict(f"事项当前状态为“{item.status.title}”，不能再上传佐证材料。")
    filename = clean_filename(filename)
    if not filename:
        raise Invalid("请选择要上传的文件。", field="file")
    ext = extension(filename)
    if ext not in KINDS:
        raise UnsupportedType(f"不支持该文件类型，请上传 {ALLOWED_TEXT} 文件。", field="file")
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise Invalid(f"说明不能超过{DESCRIPTION_MAX}字。", field="description")
    workflow.start_on_work(item, actor, now=now)  # an open item's owner at work has started it

    directory = storage.scratch_dir()
    digest = hashlib.sha256()
    size = 0
    fd, temp_name = tempfile.mkstemp(prefix=".upload-", dir=directory)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1024 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"文件超过 {max_bytes // (1024 * 1024)} MB 的上限，请压缩或拆分后再上传。",
                        field="file",
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid("文件是空的，请重新选择。", field="file")
        if not content_matches(ext, temp):
            raise UnsupportedType(
                f"文件内容与扩展名 .{ext} 不符，可能已损坏或被改名，请上传原始文件。", field="file"
            )
        stored_name = uuid.uuid4().hex
        storage.current().save(storage_key(stored_name), temp)
    finally:
        temp.unlink(missing_ok=True)

    _delete_on_rollback(storage_key(stored_name))
    evidence = Evidence(
        item_id=item.id,
        stored_name=stored_name,
        filename=filename,
        size=size,
        sha256=digest.hexdigest(),
        content_type=KINDS[ext].content_type,
        description=description,
        uploaded_by_id=actor.id,
        uploaded_at=now,
    )
    db.session.add(evidence)
    # The item row is not touched, so two uploads at once (or an upload during an edit) both land.
    record(
        item, actor, EventAction.evidence_added, now=now,
        details={"filename": filename, "size": size, "sha256": evidence.sha256},
    )
    db.session.flush()
    return evidence


def add_evidence_files(
    item: Item,
    actor: User,
    files: list[tuple[BinaryIO, str]],
    *,
    now: datetime,
    description: str = "",
    max_bytes: int,
) -> list[Evidence]:
    """Several files at once (photos from a phone): each as ``add_evidence``, and all of them are
    stored or none (the caller's rollback removes those written before a refusal). With more than
    one file, a refusal names the file it is about."""
    stored = []
    for stream, filename in files:
        try:
            stored.append(add_evidence(item, actor, stream, filename, now=now, description=description,
                                       max_bytes=max_bytes))
        except DomainError as error:
            if len(files) > 1:
                error.message = f"“{clean_filename(filename)}”：{error.message}"
            raise
    return stored


def remove_evidence(evidence: Evidence, actor: User, *, now: datetime) -> None:
    """Withdraw a file from the item; the row and the file are kept for the record. The item's row
    is locked first, so that a close-out submitted at the same moment sees either the file or
    its withdrawal, never an item under review with nothing to review."""
    item = evidence.item
    lock_item(item)
    db.session.refresh(evidence)  # as it is now, under the item's lock
    if evidence.removed_at is not None:
        raise Conflict("该佐证材料已经撤回。")
    if not permissions.can_remove_evidence(actor, evidence, item):
        raise Forbidden("该佐证材料现在不能撤回。")
    evidence.removed_at = now
    evidence.removed_by_id = actor.id
    record(item, actor, EventAction.evidence_removed, now=now, details={"filename": evidence.filename})
    db.session.flush()


ORPHAN_BATCH = 500


def remove_orphan_files(*, now: datetime, older_than: timedelta) -> int:
    """Delete files that no evidence row names: a half-written upload (``.upload-*`` in this
    machine's scratch folder) or a stored file whose row was never committed (the worker was
    killed between the two). Only files older than ``older_than``, so that an upload under way is
    left alone. Returns how many were removed."""
    cutoff = now - older_than
    stored_before = cutoff if cutoff.tzinfo else cutoff.replace(tzinfo=UTC)
    removed = 0
    for temp in storage.scratch_dir().glob(".upload-*"):
        if temp.is_file() and temp.stat().st_mtime < cutoff.timestamp():
            temp.unlink(missing_ok=True)
            removed += 1
    store = storage.current()
    candidates: list[str] = []
    for folder in (f"{n:02x}/" for n in range(256)):
        for stored in store.listing(folder):
            if stored.modified < stored_before and STORED_NAME.fullmatch(stored.key.rsplit("/", 1)[-1]):
                candidates.append(stored.key)
                if len(candidates) >= ORPHAN_BATCH:
                    removed += _remove_unnamed(store, candidates)
                    candidates = []
    return removed + _remove_unnamed(store, candidates)


STORED_NAME = re.compile(r"[0-9a-f]{32}")


def _remove_unnamed(store, keys: list[str]) -> int:
    if not keys:
        return 0
    names = [key.rsplit("/", 1)[-1] for key in keys]
    named = set(db.session.scalars(select(Evidence.stored_name).where(Evidence.stored_name.in_(names))))
    gone = [key for key, name in zip(keys, names, strict=True) if name not in named]
    for key in gone:
        store.delete(key)
    db.session.rollback()  # a read, nothing to keep
    return len(gone)


def stored_files(batch: int = 1000) -> Iterator[tuple[str, str]]:
    """Every evidence file's key and recorded SHA-256, withdrawn ones too (kept for the record),
    read a batch at a time (``storage-migrate``)."""
    last = 0
    while rows := db.session.execute(select(Evidence.id, Evidence.stored_name, Evidence.sha256)
                                     .where(Evidence.id > last).order_by(Evidence.id).limit(batch)).all():
        db.session.rollback()  # a read: no transaction held open while the files are copied
        for row in rows:
            yield storage_key(row.stored_name), row.sha256
        last = rows[-1].id


# Files written in a transaction that is then rolled back are removed, so that no file
# without a row remains. The list (of storage keys) lives on the session and is cleared on commit.
def _delete_on_rollback(key: str) -> None:
    db.session().info.setdefault("new_files", []).append((storage.current(), key))


def _forget_new_files(session) -> None:
    session.info.pop("new_files", None)


def _remove_new_files(session, previous_transaction) -> None:
    for store, key in session.info.pop("new_files", []):
        store.delete(key)


def watch_new_files() -> None:
    """Listen for commits and rollbacks of every session (``create_app`` calls this; once is enough)."""
    if not event.contains(Session, "after_commit", _forget_new_files):
        event.listen(Session, "after_commit", _forget_new_files)
        event.listen(Session, "after_soft_rollback", _remove_new_files)

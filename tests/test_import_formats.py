"""Reports in the forms government PCs still make: old Word and WPS files (read through
LibreOffice) and scanned PDFs (read by Tesseract's OCR). The programs are Debian's, installed by
scripts/test; where one is missing the test is skipped here and fails in CI. LibreOffice also
opens the documents tracker writes, as their readers would, to check their page numbers."""

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.reports import SAMPLES, docx_bytes, sample_text, scanned
from tracker.importing import convert
from tracker.importing.parser import parse_report
from tracker.importing.readers import ImportFailed, read_report

NAME = "002_7d80a77d3b41ec6f.txt"


def _need(program: str) -> None:
    if shutil.which(program) is None:
        if os.environ.get("CI"):
            pytest.fail(f"{program} is not installed: CI must run these tests")
        pytest.skip(f"{program} is not installed")


@pytest.fixture(scope="module")
def doc_bytes(tmp_path_factory) -> bytes:
    """The sample report saved as an old Word .doc by LibreOffice itself (as Word 97–2003 would)."""
    _need("soffice")
    folder = tmp_path_factory.mktemp("doc")
    (folder / "report.docx").write_bytes(docx_bytes(sample_text(NAME)))
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{folder}/profile",
                    "--convert-to", "doc", "--outdir", str(folder), str(folder / "report.docx")],
                   check=True, capture_output=True, timeout=120)
    return (folder / "report.doc").read_bytes()


@pytest.mark.parametrize("filename", ["报告.doc", "报告.wps"])
def test_old_word_and_wps_files_are_read_through_libreoffice(doc_bytes, filename):
    unit, year, problems, plans = SAMPLES[NAME]
    assert doc_bytes.startswith(convert.OLE2)
    report = parse_report(read_report(doc_bytes, filename))
    assert (report.unit, report.year) == (unit, year)
    assert [p.title for p in report.problems] == [title for title, _ in problems]
    assert [p.title for p in report.plans] == plans


def test_a_file_named_doc_that_is_not_one_is_refused_plainly():
    _need("soffice")
    with pytest.raises(ImportFailed, match="不是有效的 .doc 文档"):
        read_report(b"just some text, renamed" * 10, "报告.doc")


def test_without_libreoffice_an_old_word_file_gets_the_save_as_docx_sentence(monkeypatch):
    monkeypatch.setattr(convert, "soffice", lambda: None)  # a server without LibreOffice
    with pytest.raises(ImportFailed, match="请另存为 .docx 后再导入") as refused:
        read_report(convert.OLE2 + b"\0" * 600, "报告.wps")
    assert refused.value.status_code == 415


@pytest.fixture(scope="module")
def scan_bytes(tmp_path_factory) -> bytes:
    """The sample report printed by Chromium with the system's CJK font, then scanned: page images
    at 200 dpi, no text layer."""
    _need("tesseract")
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed")
    from playwright.sync_api import sync_playwright

    text = re.sub(r"\[bookmark:[^\]]*\]", "", sample_text(NAME))
    path = tmp_path_factory.mktemp("scan") / "printed.pdf"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        body = "".join(f"<p>{line}</p>" for line in text.splitlines() if line.strip())
        page.set_content(f"<html><head><meta charset='utf-8'></head><body style='font-size:16px'>{body}</body></html>")
        page.pdf(path=str(path), format="A4")
        browser.close()
    return scanned(path.read_bytes(), dpi=200)


def test_a_scanned_pdf_is_read_by_ocr_and_says_so(scan_bytes):
    from pypdf import PdfReader

    assert not any((page.extract_text() or "").strip() for page in PdfReader(io.BytesIO(scan_bytes)).pages)
    text = read_report(scan_bytes, "扫描件.pdf")
    assert getattr(text, "ocr", False)
    report = parse_report(text)
    unit, year, problems, _ = SAMPLES[NAME]
    assert report.year == year
    assert [p.title for p in report.problems] == [title for title, _ in problems]


def test_without_tesseract_a_scan_gets_a_plain_sentence(monkeypatch, scan_bytes):
    monkeypatch.setattr(convert, "tesseract", lambda: None)  # a server without OCR
    with pytest.raises(ImportFailed, match="服务器未安装文字识别"):
        read_report(scan_bytes, "扫描件.pdf")


def test_the_preview_of_a_scan_warns_that_ocr_may_need_correcting(app, org, make, login, scan_bytes):
    from tests.test_import_pages import _upload

    app.config["MAX_CONTENT_LENGTH"] = 20 * 1024 * 1024  # a scan is larger than the tests' 1 MB uploads
    make.unit("睢县交通运输局", org.city)
    page = _upload(login(org.city_sup), scan_bytes, "扫描件.pdf").get_data(as_text=True)
    assert 'id="ocr-warning"' in page and "文字由电脑识别（OCR）" in page
    assert page.count('class="card mb-3 problem-row"') == 3


def _blank_pdf(pages: int, width: float = 595, height: float = 842) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=height)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_scan_of_too_many_pages_or_of_a_giant_page_is_refused_before_any_ocr():
    _need("tesseract")
    from tracker.importing.readers import TooComplex

    with pytest.raises(TooComplex, match="超过 30 页"):
        read_report(_blank_pdf(31), "扫描件.pdf")
    with pytest.raises(TooComplex, match="页面尺寸异常"):  # 14,400 pt square: 40,000 px a side at 200 dpi
        read_report(_blank_pdf(1, 14_400, 14_400), "扫描件.pdf")


def test_a_slow_conversion_is_stopped_with_everything_it_started(monkeypatch, tmp_path):
    """A stand-in for a LibreOffice that never finishes (a program that forks and sleeps): the
    reader gives up at its deadline and leaves no process behind."""
    sleeper = tmp_path / "soffice"
    sleeper.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {tmp_path}/child\nsleep 60\n")
    sleeper.chmod(0o755)
    monkeypatch.setattr(convert, "soffice", lambda: str(sleeper))
    from tracker.importing.readers import TooComplex

    with pytest.raises(TooComplex, match="转换超时"):
        convert.legacy_word_to_docx(convert.OLE2 + b"\0" * 600, "doc", seconds=1)
    child = int((tmp_path / "child").read_text())
    import time

    time.sleep(0.2)
    status = Path(f"/proc/{child}/status")  # the program's own child was killed too: gone, or a zombie
    assert not status.exists() or "\nState:\tZ" in status.read_text()


def test_generated_documents_number_their_pages_as_official_documents_do(tmp_path):
    """A 督办单/通报/报告材料 page setup, opened by LibreOffice as a reader would and printed to PDF:
    each page's foot reads "— N —"."""
    _need("soffice")
    import docx
    from pypdf import PdfReader

    from tracker.officedoc import body, page_setup

    document = docx.Document()
    page_setup(document)
    for n in range(60):  # enough text for three pages
        body(document, f"第{n + 1}段：整改工作情况说明。" * 8)
    document.save(tmp_path / "doc.docx")
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/profile",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "doc.docx")],
                   check=True, capture_output=True, timeout=120)
    pages = [page.extract_text() for page in PdfReader(tmp_path / "doc.pdf").pages]
    assert len(pages) >= 2
    assert all(re.search(rf"—\s*{number}\s*—", text) for number, text in enumerate(pages, start=1)), pages[-1][-80:]

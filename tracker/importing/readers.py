"""Turning an uploaded or pasted report into plain text: .txt (UTF-8 with or without BOM,
GB18030/GBK), .docx (paragraphs and tables in document order) and .pdf with a text layer.

Every failure is an ``ImportFailed`` with one plain Chinese sentence; nothing else escapes.
"""

import io
import logging
import zipfile

from tracker.errors import DomainError

log = logging.getLogger(__name__)

MAX_BYTES = 20 * 1024 * 1024  # a report is text; anything larger is not one


class ImportFailed(DomainError):
    """The report could not be read or holds no problems to import."""

    status_code = 422


class UnsupportedReport(ImportFailed):
    status_code = 415


def read_report(data: bytes, filename: str) -> str:
    """The text of a report file, chosen by its extension and checked against its bytes."""
    name = (filename or "").lower()
    if not data or not data.strip():
        raise ImportFailed("文件是空的，请选择报告文件。")
    if len(data) > MAX_BYTES:
        raise ImportFailed("文件过大，不像是一份报告（上限 20 MB）。")
    if name.endswith(".docx"):
        return read_docx(data)
    if name.endswith(".pdf"):
        return read_pdf(data)
    if name.endswith((".txt", ".text")) or "." not in name:
        return decode_text(data)
    if name.endswith((".doc", ".wps")):
        raise UnsupportedReport("暂不支持旧版 Word/WPS 格式（.doc/.wps），请另存为 .docx 后再导入。")
    raise UnsupportedReport("不支持该文件类型，请上传 .docx、.pdf 或 .txt 格式的报告，或直接粘贴文字。")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030 (which includes GBK and GB2312)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return _plausible(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise ImportFailed("文本文件编码无法识别，请另存为 UTF-8 后再导入。") from None
    if b"\x00" in data:  # no text encoding of Chinese produces NUL bytes, binaries do
        raise ImportFailed("这不是文本文件，请选择报告的 .docx、.pdf 或 .txt 文件。")
    for encoding in ("utf-8", "gb18030"):
        try:
            return _plausible(data.decode(encoding))
        except UnicodeDecodeError:
            continue
    raise ImportFailed("文本文件编码无法识别，请另存为 UTF-8 或 GB18030 后再导入。")


def _plausible(text: str) -> str:
    """Refuse what decodes but is not text (a binary file renamed .txt)."""
    if "\x00" in text:
        raise ImportFailed("这不是文本文件，请选择报告的 .docx、.pdf 或 .txt 文件。")
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t\f\v")
    if controls > max(3, len(text) // 100):
        raise ImportFailed("这不是文本文件，请选择报告的 .docx、.pdf 或 .txt 文件。")
    return text


def read_docx(data: bytes) -> str:
    """Paragraphs and table rows in document order; a table row becomes one line, cells by tabs."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    if not data.startswith(b"PK"):
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。")
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        for block in document.iter_inner_content():
            if isinstance(block, Paragraph):
                lines.append(block.text)
            elif isinstance(block, Table):
                for row in block.rows:
                    cells = []
                    for cell in row.cells:
                        text = cell.text.strip()
                        if text and (not cells or cells[-1] != text):  # merged cells repeat
                            cells.append(text)
                    lines.append("\t".join(cells))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
        log.info("unreadable docx: %s", error)
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。") from None
    except Exception as error:  # lxml and zipfile raise many kinds on corrupt input
        log.info("unreadable docx: %r", error)
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。") from None
    return "\n".join(lines)


def read_pdf(data: bytes) -> str:
    """The text layer of a PDF. A scan without one is refused with a hint to use OCR or .docx."""
    from pypdf import PdfReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise ImportFailed("文件不是有效的 PDF 文档，可能已损坏或只是改了扩展名。")
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ImportFailed("PDF 文档已加密，请先解除保护，或导入 .docx 版本。")
        pages = [page.extract_text() or "" for page in reader.pages]
    except ImportFailed:
        raise
    except Exception as error:  # pypdf raises many kinds on corrupt input
        log.info("unreadable pdf: %r", error)
        raise ImportFailed("PDF 文档无法读取，可能已损坏，请导入 .docx 版本或粘贴文字。") from None
    text = "\n".join(pages)
    if sum(1 for ch in text if not ch.isspace()) < 20:
        raise ImportFailed("PDF 中没有可提取的文字（可能是扫描件），请导入 .docx 版本或粘贴文字。")
    return text

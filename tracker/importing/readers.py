"""Turning an uploaded or pasted report into plain text: .txt (UTF-8 with or without BOM,
GB18030/GBK), .docx (paragraphs and tables in document order) and .pdf with a text layer.

Every failure is an ``ImportFailed`` with one plain Chinese sentence; nothing else escapes.

A report is a few hundred KB of text, but a small file can unpack to gigabytes (a zip bomb) or
to millions of paragraphs. What a file may unpack to is checked before it is read: the number of
zip members, their total uncompressed size, the size of each XML part, the paragraphs, the pages
and the length of the text. What those bounds cannot foresee (a PDF whose pages are slow to
extract) is bounded in time and memory by ``tracker.importing.sandbox``.
"""

import io
import logging
import re
import zipfile

from tracker import filetypes
from tracker.errors import DomainError
from tracker.storable import storable

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_BYTES = 20 * MB  # a report is text; anything larger is not one
MAX_TEXT_CHARS = 500_000  # the longest text a report may hold, the same as a paste
MAX_MEMBERS = 1000  # parts of a .docx; Word writes about 15, more with pictures
MAX_UNPACKED_BYTES = 100 * MB  # all parts uncompressed; pictures don't compress, so about the file
MAX_XML_BYTES = 30 * MB  # any one part uncompressed; a 100-page report's document.xml is about 2 MB
MAX_PARAGRAPHS = 50_000  # a 100-page report has about 3,000, table cells included
MAX_PAGES = 300


class ImportFailed(DomainError):
    """The report could not be read or holds no problems to import."""

    status_code = 422


class UnsupportedReport(ImportFailed):
    status_code = 415


class TooComplex(ImportFailed):
    """The file unpacks to more than a report could: too large, too many parts, paragraphs or pages."""

    status_code = 413


def read_report(data: bytes, filename: str) -> str:
    """The text of a report file, chosen by its extension and checked against its bytes."""
    name = (filename or "").lower()
    if not data or not data.strip():
        raise ImportFailed("文件是空的，请选择报告文件。")
    if len(data) > MAX_BYTES:
        raise TooComplex(f"文件过大，不像是一份报告（上限 {MAX_BYTES // MB} MB）。")
    if name.endswith(".docx"):
        text = read_docx(data)
    elif name.endswith((".doc", ".wps")):
        from tracker.importing.convert import legacy_word_to_docx

        text = read_docx(legacy_word_to_docx(data, name.rsplit(".", 1)[1]))
    elif name.endswith(".pdf"):
        text = read_pdf(data)
    elif name.endswith((".txt", ".text")) or "." not in name:
        text = decode_text(data)
    else:
        _unsupported(name)
    return check_length(text)


TEXT_TOO_LONG = f"报告文字超过 {MAX_TEXT_CHARS // 10000} 万字，不像是一份报告，请只导入报告本身，或粘贴其中的问题部分。"


def check_length(text: str) -> str:
    if len(text) > MAX_TEXT_CHARS:
        raise TooComplex(TEXT_TOO_LONG)
    return text


def _unsupported(name: str):
    raise UnsupportedReport("不支持该文件类型，请上传 .docx、.doc、.wps、.pdf 或 .txt 格式的报告，或直接粘贴文字。")


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

    if not filetypes.is_kind("zip", data):
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。")
    check_docx_package(data)
    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        length = 0
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
            length += len(lines[-1]) + 1 if lines else 0
            if length > MAX_TEXT_CHARS:
                raise TooComplex(TEXT_TOO_LONG)
    except (ImportFailed, MemoryError):
        raise
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as error:
        log.info("unreadable docx: %s", error)
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。") from None
    except Exception as error:  # lxml and zipfile raise many kinds on corrupt input
        log.info("unreadable docx: %r", error)
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。") from None
    return storable("\n".join(lines))


# An element of WordprocessingML's paragraph, <w:p> or <w:p …> or <w:p/>, under any short prefix.
_PARAGRAPH = re.compile(rb"<(?:[A-Za-z_][\w.-]{0,30}:)?p[\s/>]")
_OVERLAP = 64  # longer than any match of _PARAGRAPH: a tag cut between two pieces is counted once
# The package's relationship to its main part (python-docx finds the document through it, whatever
# the part is named).
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_MAIN_TYPE = re.compile(rb"""Type\s*=\s*["'][^"']*/officeDocument["']""")
_TARGET = re.compile(rb"""Target\s*=\s*["']([^"']+)["']""")


def check_docx_package(data: bytes) -> None:
    """Refuse a .docx that unpacks to more than a report could, before any of it is unpacked:
    the zip directory gives each member's size, and reading never goes past the size given.
    The main document (named by the package's relationships, not by convention) is counted for
    paragraphs as a stream, before any tree is built."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise TooComplex(f"报告文件中的部件超过 {MAX_MEMBERS} 个，不像是一份报告，请检查文件是否完整。")
            unpacked = sum(member.file_size for member in members)
            if unpacked > MAX_UNPACKED_BYTES:
                raise TooComplex(f"报告文件解压后超过 {MAX_UNPACKED_BYTES // MB} MB，请检查文件是否完整，"
                                 "或另存为新的 .docx 后再导入。")
            if any(member.file_size > MAX_XML_BYTES for member in members):
                raise TooComplex(f"报告文件中有部件解压后超过 {MAX_XML_BYTES // MB} MB，请检查文件是否完整，"
                                 "或另存为新的 .docx 后再导入。")
            main = _main_part(archive)
            if main is not None:
                _count_paragraphs(archive, main)
    except (ImportFailed, MemoryError):
        raise
    except Exception as error:  # zipfile and zlib raise many kinds on a corrupt archive
        log.info("unreadable docx: %r", error)
        raise ImportFailed("文件不是有效的 .docx 文档，可能已损坏或只是改了扩展名。") from None


def _main_part(archive: zipfile.ZipFile) -> str | None:
    """The zip member holding the main document, as ``_rels/.rels`` names it."""
    names = set(archive.namelist())
    if "_rels/.rels" not in names:
        return None
    rels = archive.read("_rels/.rels")
    for tag in _RELATIONSHIP.findall(rels):
        target = _TARGET.search(tag)
        if _MAIN_TYPE.search(tag) and target:
            name = target.group(1).decode("utf-8", "replace").lstrip("/")
            return name if name in names else None
    return None


def _count_paragraphs(archive: zipfile.ZipFile, part: str) -> None:
    """Count the paragraphs of ``part`` in a stream of 1 MB pieces, without building the tree."""
    count, carry = 0, b""
    with archive.open(part) as stream:
        while chunk := stream.read(MB):
            piece = carry + chunk
            complete = len(piece) - _OVERLAP  # matches starting before this lie wholly in the piece
            count += sum(1 for match in _PARAGRAPH.finditer(piece) if match.start() < complete)
            carry = piece[max(complete, 0):]
            if count > MAX_PARAGRAPHS:
                break
    count += len(_PARAGRAPH.findall(carry)) if count <= MAX_PARAGRAPHS else 0
    if count > MAX_PARAGRAPHS:
        raise TooComplex(f"报告超过 {MAX_PARAGRAPHS:,} 个段落，不像是一份报告，请检查文件是否完整，"
                         "或粘贴其中的问题部分。")


def read_pdf(data: bytes) -> str:
    """The text layer of a PDF. A scan without one is refused with a hint to use OCR or .docx."""
    from pypdf import PdfReader

    if not filetypes.is_pdf(data):
        raise ImportFailed("文件不是有效的 PDF 文档，可能已损坏或只是改了扩展名。")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ImportFailed("PDF 文档已加密，请先解除保护，或导入 .docx 版本。")
        if len(reader.pages) > MAX_PAGES:
            raise TooComplex(f"PDF 超过 {MAX_PAGES} 页，不像是一份报告，请只导入报告本身，或粘贴其中的问题部分。")
        pages, length = [], 0
        for page in reader.pages:
            pages.append(page.extract_text() or "")
            length += len(pages[-1]) + 1
            if length > MAX_TEXT_CHARS:
                raise TooComplex(TEXT_TOO_LONG)
    except (ImportFailed, MemoryError):
        raise
    except Exception as error:  # pypdf raises many kinds on corrupt input
        log.info("unreadable pdf: %r", error)
        raise ImportFailed("PDF 文档无法读取，可能已损坏，请导入 .docx 版本或粘贴文字。") from None
    text = storable("\n".join(pages))  # a text layer may hold U+0000
    if sum(1 for ch in text if not ch.isspace()) < 20:  # a scan: its pages read by OCR, if the server can
        from tracker.importing.convert import ocr_pdf

        return ocr_pdf(data)
    return text

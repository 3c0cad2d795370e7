"""Hostile files, as an attacker would send them: small on the wire, huge or slow once read.
Used by the attack tests and by ``bench.attacks``."""

import io
import zipfile
import zlib

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
DOC_HEAD = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document xmlns:w="{W_NS}"><w:body>').encode()
DOC_TAIL = b"</w:body></w:document>"


def _skeleton() -> bytes:
    import docx

    out = io.BytesIO()
    docx.Document().save(out)
    return out.getvalue()


def docx_with_document(chunks, *, extra: dict[str, bytes] | None = None, level: int = 9) -> bytes:
    """A real .docx (python-docx's own template) whose word/document.xml is ``chunks`` streamed in,
    compressed as it goes, so that a gigabyte of XML never sits in memory."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_skeleton())) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED,
                                                                             compresslevel=level) as target:
        for info in source.infolist():
            if info.filename == "word/document.xml":
                with target.open("word/document.xml", "w", force_zip64=True) as member:
                    for chunk in chunks:
                        member.write(chunk)
            else:
                target.writestr(info, source.read(info.filename))
        for name, data in (extra or {}).items():
            target.writestr(name, data)
    return out.getvalue()


def docx_bomb(megabytes: int) -> bytes:
    """One paragraph of ``megabytes`` MB of the same letter: about 1 MB on the wire per GB."""
    block = b"A" * (1024 * 1024)

    def chunks():
        yield DOC_HEAD + b"<w:p><w:r><w:t>"
        for _ in range(megabytes):
            yield block
        yield b"</w:t></w:r></w:p>" + DOC_TAIL

    return docx_with_document(chunks())


def docx_many_paragraphs(count: int) -> bytes:
    """``count`` empty paragraphs: a few hundred KB that python-docx turns into millions of objects."""

    def chunks():
        yield DOC_HEAD
        batch = b"<w:p/>" * 100_000
        for _ in range(count // 100_000):
            yield batch
        yield b"<w:p/>" * (count % 100_000) + DOC_TAIL

    return docx_with_document(chunks())


def docx_many_members(count: int) -> bytes:
    return docx_with_document([DOC_HEAD + b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" + DOC_TAIL],
                              extra={f"word/media/pad{n}.xml": b"<x/>" for n in range(count)})


def docx_with_member(name: str, data: bytes = b"MZ\x90\x00" + b"\x00" * 60) -> bytes:
    """A .docx carrying something it should not: ``word/vbaProject.bin`` (macros) or ``x.exe``."""
    return docx_with_document([DOC_HEAD + b"<w:p><w:r><w:t>x</w:t></w:r></w:p>" + DOC_TAIL], extra={name: data})


def ofd_with_member(name: str, data: bytes = b"MZ\x90\x00" + b"\x00" * 60) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("OFD.xml", '<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>')
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
        archive.writestr(name, data)
    return out.getvalue()


def pdf(objects: list[bytes]) -> bytes:
    """A PDF of ``objects`` (object 1 is the catalog) with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def _stream(content: bytes, compress: bool = True) -> bytes:
    if compress:
        data = zlib.compress(content, 9)
        return f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
    return f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"


FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"


def pdf_shared_content(pages: int, operations: int = 5000) -> bytes:
    """``pages`` pages that all draw one small, compressed content stream of many text operations:
    a few KB that take pypdf about a tenth of a second per page to extract."""
    content = b"BT /F1 12 Tf 72 720 Td " + b"(x) Tj 1 0 Td " * operations + b"ET"
    kids = " ".join(f"{n} 0 R" for n in range(5, 5 + pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        FONT,
        _stream(content),
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
    objects += [page] * pages
    return pdf(objects)


def pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose text layer reads ``text``, Chinese included: each distinct character
    gets a one-byte code, and the font's ToUnicode map says which character a code stands for
    (U+0000 too, as some converters write it)."""
    chars = sorted(set(text.replace("\n", "")))
    if len(chars) > 255:
        raise ValueError("at most 255 distinct characters")
    code = {ch: n for n, ch in enumerate(chars, start=1)}
    mapping = "\n".join(f"<{code[ch]:02X}> <{ord(ch):04X}>" for ch in chars)
    cmap = ("/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /T def /CMapType 2 def\n"
            "1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"{len(chars)} beginbfchar\n{mapping}\nendbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end").encode()
    lines = b"".join(b"<" + "".join(f"{code[ch]:02X}" for ch in line).encode() + b"> Tj 0 -14 Td "
                     for line in text.split("\n"))
    content = b"BT /F1 12 Tf 72 760 Td " + lines + b"ET"
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>",
        _stream(content),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>",
        _stream(cmap),
    ])


def pdf_with_script() -> bytes:
    """A PDF that runs JavaScript when opened."""
    return pdf([
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        b"<< /Type /Action /S /JavaScript /JS (app.alert\\('x'\\);) >>",
    ])


def ole_with_macro() -> bytes:
    """The head of a legacy Word file whose directory lists a VBA project (a macro)."""
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    return head + "_VBA_PROJECT".encode("utf-16-le") + b"\x00" * 1024

"""What a file's first bytes say it is: one table for the evidence uploads and the report reader."""

SIGNATURES = {
    "pdf": b"%PDF-",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG\r\n\x1a\n",
    "zip": b"PK\x03\x04",  # .docx, .xlsx, .ofd are zip packages
    "ole2": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # legacy Office and WPS compound documents
}


def is_kind(kind: str, head: bytes) -> bool:
    """Whether ``head`` (the file's first bytes) begins as a file of ``kind`` (a key of SIGNATURES)."""
    return head.startswith(SIGNATURES[kind])


def is_pdf(data: bytes) -> bool:
    """A PDF: readers accept white space before the header, as PDF viewers do."""
    return is_kind("pdf", data[:1024].lstrip())

"""Benchmark: the time to read and parse one report, per format.

    .venv/bin/python -m bench.importing

Times read → clean → parse → classify for each sample report as .txt (UTF-8 and GB18030),
as .docx and (when Debian's chromium is installed) as a PDF Chromium prints; median of 20 runs.
With LibreOffice, also as an old .doc (and the same bytes named .wps), and with Tesseract as a
scan of the printed PDF (200 dpi page images, no text layer): median of 3 runs, and the OCR's
character error rate against the report's own text (edit distance / length, spaces ignored).
"""

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reports import SAMPLES, docx_bytes, sample_text, scanned  # noqa: E402
from tracker.importing.classify import DEFAULT_RULES, Rule, classify  # noqa: E402
from tracker.importing.parser import parse_report  # noqa: E402
from tracker.importing.readers import read_report  # noqa: E402

RULES = [Rule(code, keyword, weight) for code, words in DEFAULT_RULES.items() for keyword, weight in words.items()]


def pdf_bytes(text: str) -> bytes | None:
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        page.set_content("<meta charset='utf-8'>" + "".join(f"<p>{line}</p>" for line in text.splitlines()))
        page.pdf(path=f"{tmp}/r.pdf", format="A4")
        browser.close()
        return Path(f"{tmp}/r.pdf").read_bytes()


def doc_bytes(text: str) -> bytes | None:
    import shutil
    import subprocess

    if not shutil.which("soffice"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        Path(f"{tmp}/r.docx").write_bytes(docx_bytes(text))
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "doc", "--outdir", tmp, f"{tmp}/r.docx"], check=True, capture_output=True)
        return Path(f"{tmp}/r.doc").read_bytes()


def character_error_rate(reference: str, read: str) -> float:
    """Edit distance between the two texts, spaces and Word's bookmarks left out, over the reference's length."""
    import re

    a = re.sub(r"\s+", "", re.sub(r"\[bookmark:[^\]]*\]", "", reference))
    b = re.sub(r"\s+", "", read)
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char != other))
        previous = current
    return previous[-1] / max(1, len(a))


def import_once(data: bytes, filename: str) -> int:
    report = parse_report(read_report(data, filename))
    for section in report.problems:
        classify(section.title, section.text, RULES)
    return len(report.problems)


def main() -> None:
    for name in SAMPLES:
        text = sample_text(name)
        formats = {"utf-8.txt": text.encode(), "gb18030.txt": text.encode("gb18030"), "report.docx": docx_bytes(text)}
        pdf = pdf_bytes(text)
        if pdf is not None:
            formats["report.pdf"] = pdf
        if (doc := doc_bytes(text)) is not None:
            formats["report.doc"] = formats["report.wps"] = doc
        if pdf is not None and shutil.which("tesseract"):
            formats["scan.pdf"] = scanned(pdf, dpi=200)
        cells = []
        for filename, data in formats.items():
            timings = []
            for _ in range(20 if filename.endswith(("txt", "docx")) or filename == "report.pdf" else 3):
                start = time.perf_counter()
                import_once(data, filename)
                timings.append(time.perf_counter() - start)
            label = {"gb18030.txt": "gb18030", "scan.pdf": "scan"}.get(filename, filename.split(".")[-1])
            cells.append(f"{label}"
                         f" {len(data) // 1024:>3} KB {statistics.median(timings) * 1000:6.1f} ms")
        print(f"{name[:3]} ({len(text)} chars): " + " | ".join(cells))
        if "scan.pdf" in formats:
            read = read_report(formats["scan.pdf"], "scan.pdf")
            found = parse_report(read)
            expected = [title for title, _ in SAMPLES[name][2]]
            same = sum(1 for got, want in zip([p.title for p in found.problems], expected, strict=False) if got == want)
            print(f"    OCR: character error rate {character_error_rate(text, read):.2%}; problems {same} of "
                  f"{len(expected)} titled exactly; unit read as {found.unit!r} (is {SAMPLES[name][0]!r})")


if __name__ == "__main__":
    main()

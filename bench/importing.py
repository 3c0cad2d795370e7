"""Benchmark: the time to read and parse one report, per format.

    .venv/bin/python -m bench.importing

Times read → clean → parse → classify for each sample report as .txt (UTF-8 and GB18030),
as .docx and (when Debian's chromium is installed) as a PDF Chromium prints; median of 20 runs.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reports import SAMPLES, docx_bytes, sample_text  # noqa: E402
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


def import_once(data: bytes, filename: str) -> int:
    report = parse_report(read_report(data, filename))
    for section in report.problems:
        classify(section.title, section.text, RULES)
    return len(report.problems)


def main() -> None:
    for name in SAMPLES:
        text = sample_text(name)
        formats = {"utf-8.txt": text.encode(), "gb18030.txt": text.encode("gb18030"), "report.docx": docx_bytes(text)}
        if (pdf := pdf_bytes(text)) is not None:
            formats["report.pdf"] = pdf
        cells = []
        for filename, data in formats.items():
            timings = []
            for _ in range(20):
                start = time.perf_counter()
                import_once(data, filename)
                timings.append(time.perf_counter() - start)
            cells.append(f"{filename.split('.')[-1] if filename != 'gb18030.txt' else 'gb18030'}"
                         f" {len(data) // 1024:>3} KB {statistics.median(timings) * 1000:6.1f} ms")
        print(f"{name[:3]} ({len(text)} chars): " + " | ".join(cells))


if __name__ == "__main__":
    main()

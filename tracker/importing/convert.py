"""Reports in the forms government PCs still produce, read with the tools the server may have.

- Old Word and WPS files (.doc, .wps) are converted to .docx by LibreOffice (``soffice --headless
  --convert-to docx``), when it is installed (Debian: libreoffice-writer-nogui), then read as .docx.
- Scanned PDFs without a text layer are read by Tesseract with its Chinese data (Debian:
  tesseract-ocr, tesseract-ocr-chi-sim), page by page, each page rendered by pdfium (pypdfium2).

Both run inside the reader's child process (tracker.importing.sandbox), so they share its time and
memory budget; each program is also given what is left of the time, and killed past it. Without
the program, the reader says plainly what to do instead.
"""

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tracker.importing.readers import ImportFailed, TooComplex, UnsupportedReport

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .doc and .wps files
SECONDS = 15  # what one conversion may take at most: less than the sandbox's budget (20 s), so that
# the program is killed here, with its children, before the sandbox stops the reader
OCR_SCALE = 200 / 72  # 200 dpi: as well read as 300 for print of report size, in less time
OCR_LANGUAGES = "chi_sim"  # its data holds the Latin letters and digits of Chinese reports; +eng costs half again
OCR_SECONDS = 17  # the whole OCR of a scan, pages read in parallel
MAX_OCR_PAGES = 30
MAX_PIXELS = 40_000_000  # one page's image: A3 at 200 dpi is 7.8 million
MAX_TOTAL_PIXELS = 150_000_000  # all pages' images (30 A4 pages at 200 dpi are 112 million)
# When the reader's child must be done (set by tracker.importing.sandbox): a program is given only
# the time left before it, so that it is killed here, with what it started, before the sandbox
# stops the child.
deadline: float | None = None
MARGIN = 1.5


def time_left(seconds: float) -> float:
    """``seconds``, or less if the reader's deadline comes sooner."""
    if deadline is None:
        return seconds
    return min(seconds, deadline - MARGIN - time.monotonic())


class OcrText(str):
    """Text that Tesseract read from page images: the preview says it may need correcting."""

    ocr = True


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def legacy_word_to_docx(data: bytes, ext: str, *, seconds: float = SECONDS) -> bytes:
    """The .docx that LibreOffice makes of an old .doc or .wps file."""
    program = soffice()
    if program is None:
        raise UnsupportedReport("暂不支持旧版 Word/WPS 格式（.doc/.wps），请另存为 .docx 后再导入。")
    if not data.startswith(OLE2):
        raise ImportFailed(f"文件不是有效的 .{ext} 文档，可能已损坏或只是改了扩展名，请另存为 .docx 后再导入。")
    with tempfile.TemporaryDirectory(prefix="tracker-doc-") as folder:
        source = Path(folder) / f"report.{ext}"
        source.write_bytes(data)
        command = [program, "--headless", "--norestore", "--nolockcheck", "--nodefault",
                   f"-env:UserInstallation=file://{folder}/profile", "--convert-to", "docx",
                   "--outdir", str(Path(folder) / "out"), str(source)]
        _run(command, time_left(seconds), f".{ext} 文件转换超时，请另存为 .docx 后再导入。")
        converted = Path(folder) / "out" / "report.docx"
        if not converted.is_file():
            raise ImportFailed(f".{ext} 文件无法转换，可能已损坏，请另存为 .docx 后再导入。")
        return converted.read_bytes()


def tesseract() -> str | None:
    """The Tesseract program, when it has its simplified-Chinese data."""
    program = shutil.which("tesseract")
    if program is None:
        return None
    try:
        listed = subprocess.run([program, "--list-langs"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return program if "chi_sim" in listed.stdout.split() else None


def ocr_pdf(data: bytes, *, seconds: float = OCR_SECONDS) -> OcrText:
    """The text of a scanned PDF, page by page, as Tesseract reads each page's image."""
    program = tesseract()
    if program is None:
        raise ImportFailed("PDF 中没有可提取的文字（可能是扫描件），服务器未安装文字识别（OCR），"
                           "请导入 .docx 版本或粘贴文字。")
    import pypdfium2

    end = time.monotonic() + time_left(seconds)
    too_slow = "扫描件文字识别超时（页数较多），请导入 .docx 版本或粘贴文字。"
    try:
        document = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError:
        raise ImportFailed("PDF 文档无法读取，可能已损坏，请导入 .docx 版本或粘贴文字。") from None
    try:
        if len(document) > MAX_OCR_PAGES:
            raise TooComplex(f"扫描件超过 {MAX_OCR_PAGES} 页，文字识别需要的时间太长，请导入 .docx 版本，或粘贴其中的问题部分。")
        with tempfile.TemporaryDirectory(prefix="tracker-ocr-") as folder:
            sizes = [document[number].get_size() for number in range(len(document))]
            pixels = [width * height * OCR_SCALE ** 2 for width, height in sizes]
            if max(pixels, default=0) > MAX_PIXELS or sum(pixels) > MAX_TOTAL_PIXELS:  # pages metres wide
                raise TooComplex("扫描件的页面尺寸异常，无法识别，请检查文件，或导入 .docx 版本。")
            images = []
            for number in range(len(document)):
                if time.monotonic() > end:
                    raise TooComplex(too_slow)
                images.append(Path(folder) / f"page{number}.pgm")
                _write_pgm(document[number].render(scale=OCR_SCALE, grayscale=True), images[-1])
            pages = _read_pages(program, images, end)
    finally:
        document.close()
    text = "\n".join(pages)
    if sum(1 for ch in text if not ch.isspace()) < 20:
        raise ImportFailed("PDF 中没有可提取的文字（可能是扫描件），文字识别也没有读出文字，请导入 .docx 版本或粘贴文字。")
    return OcrText(text)


def _read_pages(program: str, images: list[Path], end: float) -> list[str]:
    """Tesseract on each page image, as many at once as there are processors, all killed at ``end``."""
    waiting = list(enumerate(images))
    running: dict[int, subprocess.Popen] = {}
    texts: dict[int, str] = {}
    at_once = max(1, min(os.cpu_count() or 1, 4))
    try:
        while waiting or running:
            while waiting and len(running) < at_once:
                number, image = waiting.pop(0)  # the text goes to a file: a pipe could fill and stall it
                running[number] = _start([program, str(image), str(image.with_suffix("")), "-l", OCR_LANGUAGES,
                                          "--psm", "3"])
            for number, process in list(running.items()):
                if process.poll() is not None:
                    out = images[number].with_suffix(".txt")
                    texts[number] = out.read_text("utf-8", "replace") if out.is_file() else ""
                    del running[number]
            if time.monotonic() > end:
                raise TooComplex("扫描件文字识别超时（页数较多），请导入 .docx 版本或粘贴文字。")
            time.sleep(0.05)
    except BaseException:
        for process in running.values():
            _kill(process)
        raise
    return [texts[number] for number in sorted(texts)]


def _write_pgm(bitmap, path: Path) -> None:
    """A greyscale page as a PGM image (what Tesseract reads without an imaging library)."""
    width, height, stride = bitmap.width, bitmap.height, bitmap.stride
    rows = bytes(bitmap.buffer)
    with path.open("wb") as out:
        out.write(f"P5 {width} {height} 255\n".encode())
        for row in range(height):
            out.write(rows[row * stride: row * stride + width])


def _start(command: list[str]) -> subprocess.Popen:
    """A program in a process group of its own, so that it is killed with what it starts."""
    try:
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                start_new_session=True,
                                env={**os.environ, "HOME": tempfile.gettempdir(), "OMP_THREAD_LIMIT": "1"})
    except OSError:
        raise ImportFailed("服务器上的转换程序无法运行，请另存为 .docx 后再导入，或粘贴文字。") from None


def _kill(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _run(command: list[str], seconds: float, too_slow: str) -> int:
    """Run a program, killed whole (LibreOffice starts a second process) when ``seconds`` have
    passed; its exit code."""
    if seconds <= 0:
        raise TooComplex(too_slow)
    process = _start(command)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise TooComplex(too_slow) from None
    finally:
        _kill(process)

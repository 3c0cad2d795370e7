"""Reading and parsing a report (or an Excel ledger) in a child process that cannot outlive a time budget or take
more than a memory budget, so that one hostile file cannot hold a web worker for minutes or
push it out of memory.

The children are forked from multiprocessing's fork server: a clean single-threaded process,
started once per worker, that has already imported python-docx, pypdf and the parser, so a
child costs a fork (a few milliseconds) rather than a new interpreter. The child sets its own
limits (``resource.setrlimit``: address space, CPU seconds) before it reads a byte; the parent
waits at most the time budget, then kills it. Either way the parent answers one plain sentence.

Where there is no fork server (not POSIX) the report is read in-process, with the bounds of
``tracker.importing.readers`` only.
"""

import logging
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass

from tracker.importing.parser import ParsedReport, parse_report
from tracker.importing.readers import ImportFailed, TooComplex, UnsupportedReport, read_report

log = logging.getLogger(__name__)

try:
    import resource
except ImportError:  # not POSIX
    resource = None

PRELOAD = ["tracker.importing.sandbox", "tracker.importing.parser", "tracker.importing.readers", "docx", "pypdf", "lxml.etree",
           "opencc", "tracker.importing.convert", "pypdfium2", "tracker.importing.sheet", "openpyxl"]
ERRORS = {cls.__name__: cls for cls in (ImportFailed, TooComplex, UnsupportedReport)}


@dataclass(frozen=True)
class Limits:
    seconds: float = 20
    memory_mb: int = 1024

    @classmethod
    def from_config(cls, config) -> "Limits":
        return cls(seconds=float(config.get("IMPORT_TIMEOUT_SECONDS", cls.seconds)),
                   memory_mb=int(config.get("IMPORT_MEMORY_MB", cls.memory_mb)))


@dataclass(frozen=True)
class Wording:
    """What the user is told when a file could not be read in time (``{seconds}``), in memory, or at all."""

    timed_out_template: str
    out_of_memory: str
    unreadable: str

    def timed_out(self, seconds: float) -> str:
        return self.timed_out_template.format(seconds=f"{seconds:g}")


REPORT = Wording(
    "报告文件过于复杂，{seconds} 秒内未能读完，请检查文件是否完整（可另存为新的 .docx 或 PDF），或直接粘贴报告文字。",
    "报告文件读取时占用的内存超过上限，请检查文件是否完整（可另存为新的 .docx 或 PDF），或直接粘贴报告文字。",
    "报告文件无法读取，请检查文件是否完整，或直接粘贴报告文字。",
)
LEDGER = Wording(
    "台账文件过于复杂，{seconds} 秒内未能读完，请检查文件是否完整，或在 Excel 中另存为新的 .xlsx 后再导入。",
    "台账文件读取时占用的内存超过上限，请检查文件是否完整，或只保留台账所在的工作表后再导入。",
    "台账文件无法读取，请检查文件是否完整，或在 Excel 中另存为新的 .xlsx 后再导入。",
)


def timed_out(seconds: float) -> str:
    return REPORT.timed_out(seconds)


OUT_OF_MEMORY = REPORT.out_of_memory
UNREADABLE = REPORT.unreadable


def read_and_parse(*, data: bytes | None, filename: str, pasted: str | None, limits: Limits) -> ParsedReport:
    """The parsed report of a file's bytes (or of pasted text), read within ``limits``.
    Raises ImportFailed (or a subclass) with one plain sentence on any failure."""
    return run_bounded(_read, (data, filename, pasted), limits=limits, label=filename, wording=REPORT)


def run_bounded(task, args: tuple, *, limits: Limits, label: str, wording: Wording):
    """``task(*args)`` (a module-level function, so that the child can find it) in a child process
    within ``limits``: its result, or ImportFailed (or a subclass) with one plain sentence."""
    context = _context()
    if context is None:
        return task(*args)
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, task, args, limits), daemon=True,
                            name="tracker-file-reader")
    child.start()
    sender.close()
    try:
        if not receiver.poll(limits.seconds):
            log.warning("reading %r took longer than %s s: stopped", label, limits.seconds)
            raise TooComplex(wording.timed_out(limits.seconds))
        try:
            outcome = receiver.recv()
        except EOFError:  # the child died: killed for its CPU time, or crashed in a C library
            child.join(5)
            log.warning("the reader of %r died (exit code %s)", label, child.exitcode)
            raise ImportFailed(wording.unreadable) from None
    finally:
        if child.is_alive():
            child.kill()
        child.join(5)
        if not child.is_alive():
            child.close()
        receiver.close()
    kind, *rest = outcome
    if kind == "done":
        return rest[0]
    if kind == "refused":
        name, message = rest
        raise ERRORS.get(name, ImportFailed)(message)
    if kind == "memory":
        raise TooComplex(wording.out_of_memory)
    log.error("reading %r failed: %s", label, rest[0])
    raise ImportFailed(wording.unreadable)


_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None and resource is not None and "forkserver" in multiprocessing.get_all_start_methods():
        # multiprocessing imports the parent's main script again in each child (gunicorn's, flask's,
        # pytest's: harmless); a main that is no file (code piped to python) cannot be.
        main = getattr(sys.modules.get("__main__"), "__file__", None)
        if main is not None and not os.path.exists(main):
            log.warning("reading reports in-process: the main script %r is not a file", main)
            return None
        _CONTEXT = multiprocessing.get_context("forkserver")
        _CONTEXT.set_forkserver_preload(PRELOAD)
    return _CONTEXT


def _read(data: bytes | None, filename: str, pasted: str | None) -> ParsedReport:
    text = read_report(data, filename) if data is not None else pasted
    parsed = parse_report(text or "")
    parsed.ocr = bool(getattr(text, "ocr", False))
    return parsed


def _child(sender, task, args: tuple, limits: Limits) -> None:
    from tracker.importing import convert

    convert.deadline = time.monotonic() + limits.seconds  # programs it runs are stopped before the parent stops it
    cap = _limit_self(limits)
    try:
        outcome = ("done", task(*args))
    except ImportFailed as error:
        outcome = ("refused", type(error).__name__, error.message)
    except MemoryError:
        outcome = ("memory",)
    except Exception as error:  # a bug or a library's surprise: the parent logs it and says one sentence
        outcome = ("error", repr(error)[:1000])
    # lxml reports a failed allocation as a syntax error ("unknown error"): what decides is
    # whether this process reached its cap.
    if outcome[0] != "done" and cap != resource.RLIM_INFINITY and _peak_address_space() >= cap * 0.95:
        outcome = ("memory",)
    try:
        sender.send(outcome)
    except MemoryError:
        sender.send(("memory",))
    sender.close()


def _limit_self(limits: Limits) -> int:
    """Cap this process's address space at what it uses now plus the memory budget, and its CPU
    time at the time budget (the kernel stops it past that, even if the parent could not). A
    process may only lower its limits: where the server already runs under a lower hard limit
    (ulimit, systemd's LimitAS=, a container), that one stays. Returns the address-space cap."""
    cap = _lower(resource.RLIMIT_AS, _status_bytes("VmSize") + limits.memory_mb * 1024 * 1024)
    _lower(resource.RLIMIT_CPU, int(limits.seconds) + 2)
    return cap


def _lower(which: int, wanted: int) -> int:
    soft, hard = resource.getrlimit(which)
    limit = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(which, (limit, hard))
    except (ValueError, OSError):
        return soft
    return limit


def _peak_address_space() -> int:
    return _status_bytes("VmPeak")


def _status_bytes(key: str) -> int:
    """A size from /proc/self/status (Linux), in bytes; 0 where there is none."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0

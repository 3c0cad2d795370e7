"""Benchmark of attacks: what a hostile user, file or server costs a live tracker.

    .venv/bin/python -m bench.attacks [--database-url URL] [--server-dir DIR] [--only NAME,...]

Starts tracker as production runs it (gunicorn, 2 workers, the scheduler off) on a fresh database
with the demo data (SQLite in bench/out/, or the PostgreSQL database named by the URL, dropped and
created again), then attacks it over HTTP and prints, per attack, the time it took, the answers'
status codes, the workers' peak memory growth and what was stored. ``--server-dir`` serves another
checkout of tracker (for before/after figures: a ``git worktree`` of an older commit), with this
checkout's virtual environment. Nothing here runs in the test suite.
"""

import argparse
import concurrent.futures
import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.seeding import fresh_database  # noqa: E402
from tests import hostile  # noqa: E402
from tests.servers import HostileSMTP, InternalService, RedirectingRobot, RobotServer  # noqa: E402

VENV = ROOT / ".venv" / "bin"
PASSWORD = "demo1234"
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tracker:
    """tracker under gunicorn, on its own database and upload folder."""

    def __init__(self, server_dir: Path, database_url: str, extra_env: dict | None = None):
        self.dir = server_dir
        self.tmp = Path(tempfile.mkdtemp(prefix="tracker-attacks-"))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = {
            **os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_UPLOAD_DIR": str(self.tmp / "uploads"),
            "TRACKER_SCHEDULER": "off", "TRACKER_SECRET_KEY": "bench-attacks", "TRACKER_BASE_URL": self.base,
            "TRACKER_ROBOT_ALLOWED_HOSTS": "127.0.0.1", **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def flask(self, *args, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(VENV / "flask"), "--app", "wsgi", *args], cwd=self.dir, env={**self.env, **(env or {})},
                              capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        for args in (("db", "upgrade"), ("tracker", "demo", "--if-empty")):
            done = self.flask(*args)
            if done.returncode:
                raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
        log = open(self.tmp / "server.log", "w")  # noqa: SIM115 - open while the server runs
        self.process = subprocess.Popen(
            [str(VENV / "gunicorn"), "--workers", "2", "--timeout", str(TIMEOUT), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "wsgi:app"],
            cwd=self.dir, env=self.env, start_new_session=True, stdout=log, stderr=log,
        )
        for _ in range(200):
            with contextlib.suppress(requests.ConnectionError):
                requests.get(self.base + "/login", timeout=5)
                return
            time.sleep(0.1)
        raise SystemExit("tracker did not start")

    def stop(self) -> None:
        if self.process:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)

    def workers(self) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def reset_peaks(self) -> dict[int, int]:
        """Reset each worker's peak RSS (VmHWM) and return its current RSS, in KB."""
        rss = {}
        for pid in self.workers():
            with contextlib.suppress(OSError):
                Path(f"/proc/{pid}/clear_refs").write_text("5")
                rss[pid] = _status(pid, "VmRSS")
        return rss

    def peak_growth_mb(self, before: dict[int, int]) -> tuple[float, float]:
        """(peak RSS growth, RSS still held afterwards) of the worker that grew most, in MB."""
        peak = kept = 0
        for pid, start in before.items():
            with contextlib.suppress(OSError):
                peak = max(peak, _status(pid, "VmHWM") - start)
                kept = max(kept, _status(pid, "VmRSS") - start)
        return peak / 1024, kept / 1024

    def sql(self, statement: str, **params):
        engine = create_engine(self.database_url)
        try:
            with engine.begin() as connection:
                result = connection.execute(text(statement), params)
                return result.all() if result.returns_rows else None
        finally:
            engine.dispose()

    def session(self, username: str, password: str = PASSWORD) -> requests.Session:
        s = requests.Session()
        token = CSRF.search(s.get(self.base + "/login", timeout=30).text).group(1)
        answer = s.post(self.base + "/login", data={"username": username, "password": password, "csrf_token": token},
                        allow_redirects=False, timeout=30)
        if answer.status_code != 302:
            raise SystemExit(f"could not sign in as {username}: {answer.status_code}")
        return s


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def token_of(page: str) -> str:
    return CSRF.search(page).group(1)


def first_sentence(page: str) -> str:
    """The message the page shows the user: an invalid-feedback or an alert, else the title."""
    for pattern in (r'class="invalid-feedback[^"]*"[^>]*>\s*([^<]+)', r'class="alert alert-danger[^"]*"[^>]*>\s*([^<]+)',
                    r'"error":\s*"([^"]+)"', r"<title>([^<]+)</title>"):
        if found := re.search(pattern, page):
            return found.group(1).strip()[:70]
    return page.strip()[:70]


# Attacks -------------------------------------------------------------------------------------

def _import_upload(t: Tracker, name: str, data: bytes, filename: str) -> dict:
    s = t.session("city_sup")
    token = token_of(s.get(t.base + "/reports/import").text)
    before = t.reset_peaks()
    start = time.perf_counter()
    try:
        answer = s.post(t.base + "/reports/import", data={"csrf_token": token},
                        files={"file": (filename, data)}, timeout=TIMEOUT)
        status, said = answer.status_code, first_sentence(answer.text)
    except requests.RequestException as error:
        status, said = "—", type(error).__name__
    elapsed = time.perf_counter() - start
    peak, kept = t.peak_growth_mb(before)
    return {"attack": name, "on the wire": f"{len(data) / 1024:.0f} KB", "time": f"{elapsed:.1f} s", "status": status,
            "worker peak": f"+{peak:.0f} MB", "kept": f"+{kept:.0f} MB", "answer": said}


def docx_bomb(t):
    return _import_upload(t, "docx unpacking to 1 GB", hostile.docx_bomb(1024), "report.docx")


def docx_paragraphs(t):
    return _import_upload(t, "docx of 3 million empty paragraphs", hostile.docx_many_paragraphs(3_000_000), "report.docx")


def pdf_pages(t):
    return _import_upload(t, "PDF of 1,000 pages sharing one stream", hostile.pdf_shared_content(1000), "report.pdf")


def _paste(t: Tracker, name: str, pasted: str) -> dict:
    s = t.session("city_sup")
    token = token_of(s.get(t.base + "/reports/import").text)
    before = t.reset_peaks()
    start = time.perf_counter()
    answer = s.post(t.base + "/reports/import", data={"csrf_token": token, "pasted": pasted}, timeout=TIMEOUT)
    elapsed = time.perf_counter() - start
    peak, kept = t.peak_growth_mb(before)
    return {"attack": name, "on the wire": f"{len(pasted.encode()) / 1024:.0f} KB", "time": f"{elapsed:.1f} s",
            "status": answer.status_code, "worker peak": f"+{peak:.0f} MB", "kept": f"+{kept:.0f} MB",
            "answer": first_sentence(answer.text)}


def paste_spaces(t):
    return _paste(t, "paste: 40,000 spaces between words", "存在的问题\n一、a" + " " * 40_000 + "b问题")


def paste_60k(t):
    return _paste(t, "paste: 60,000 spaces between words", "存在的问题\n一、a" + " " * 60_000 + "b问题")


def sign_in_timing(t):
    """Median time of a wrong password for an unknown and for an existing account."""

    def attempt(username):
        s = requests.Session()
        token = token_of(s.get(t.base + "/login", timeout=30).text)
        start = time.perf_counter()
        s.post(t.base + "/login", data={"username": username, "password": "wrong-guess-1", "csrf_token": token},
               allow_redirects=False, timeout=30)
        return (time.perf_counter() - start) * 1000

    existing = ["admin", "city_sup", "suixian_sup", "hulan_sup", "city_off", "suixian_off", "suixian_team", "hulan_off",
                "wusu_off"]
    known = [attempt(u) for u in existing for _ in range(2)]
    unknown = [attempt(f"nobody{n}") for n in range(len(known))]
    return {"attack": "sign-in timing: unknown vs existing username", "time":
            f"{statistics.median(unknown):.0f} ms vs {statistics.median(known):.0f} ms", "status": "—"}


def sign_in_flood(t):
    s = requests.Session()
    codes = Counter()
    start = time.perf_counter()
    for _ in range(50):
        token = token_of(s.get(t.base + "/login", timeout=30).text)
        answer = s.post(t.base + "/login", data={"username": "suixian_off", "password": "guess-123456",
                                                 "csrf_token": token}, allow_redirects=False, timeout=30)
        codes[answer.status_code] += 1
    elapsed = time.perf_counter() - start
    token = token_of(s.get(t.base + "/login", timeout=30).text)
    right = s.post(t.base + "/login", data={"username": "suixian_off", "password": PASSWORD, "csrf_token": token},
                   allow_redirects=False, timeout=30)
    token = token_of(requests.get(t.base + "/login", timeout=30).text)
    return {"attack": "50 wrong passwords, then the right one", "time": f"{elapsed:.1f} s",
            "status": " ".join(f"{n}×{code}" for code, n in sorted(codes.items())) + f"; right one: {right.status_code}",
            "answer": first_sentence(right.text) if right.status_code != 302 else "signed in"}


def token_flood(t):
    codes = Counter()
    for n in range(40):
        answer = requests.get(t.base + "/api/v1/items", headers={"Authorization": f"Bearer trk_guess{n}"}, timeout=30)
        codes[answer.status_code] += 1
    return {"attack": "40 guessed API tokens", "status": " ".join(f"{n}×{code}" for code, n in sorted(codes.items()))}


def session_after_logout(t):
    s = t.session("suixian_off")
    copied = dict(s.cookies)
    token = token_of(s.get(t.base + "/my").text)
    s.post(t.base + "/logout", data={"csrf_token": token}, timeout=30)
    replay = requests.get(t.base + "/my", cookies=copied, allow_redirects=False, timeout=30)
    return {"attack": "cookie copied before sign-out, used after", "status": replay.status_code,
            "answer": "still signed in" if replay.status_code == 200 else "sent to sign in"}


def session_after_password_change(t):
    phone, desk = t.session("hulan_off"), t.session("hulan_off")
    page = desk.get(t.base + "/profile").text
    desk.post(t.base + "/profile", data={"csrf_token": token_of(page), "current": PASSWORD, "new": "Changed-pass-88",
                                         "confirm": "Changed-pass-88"}, timeout=30)
    other = phone.get(t.base + "/my", allow_redirects=False, timeout=30)
    return {"attack": "other session after a password change", "status": other.status_code,
            "answer": "still signed in" if other.status_code == 200 else "sent to sign in"}


# Not 127.0.0.1 itself: the bench allows it (its own robot servers listen there), as an operator
# allows an intranet robot's host.
SSRF_URLS = ["http://127.0.0.2:6379/", "http://[::1]/", "http://169.254.169.254/latest/meta-data/",
             "http://0x7f000002/", "http://2130706434/", "http://10.0.0.5/hook", "http://192.168.1.1:5432/"]


def ssrf_save(t):
    s = t.session("admin")
    unit = t.sql("SELECT id FROM units ORDER BY id LIMIT 1")[0][0]
    saved = 0
    for url in SSRF_URLS:
        token = token_of(s.get(t.base + "/admin/robots").text)
        answer = s.post(t.base + "/admin/robots", data={"csrf_token": token, "unit": unit, "kind": "webhook",
                                                        "name": "x", "url": url, "active": "y"}, allow_redirects=False)
        saved += answer.status_code == 302
    t.sql("DELETE FROM chat_robots WHERE name = 'x'")
    return {"attack": "robot URLs at internal addresses", "status": f"{saved} of {len(SSRF_URLS)} saved",
            "answer": ", ".join(u.split("//")[1].split("/")[0] for u in SSRF_URLS)}


def _reset_outbox(t: Tracker, channels: str) -> None:
    for table in ("delivery_attempts", "notifications", "outbox_messages", "reminder_passes", "chat_robots"):
        t.sql(f"DELETE FROM {table}")
    t.sql("UPDATE users SET notify_channels = :c", c=channels)


def _add_robot(t: Tracker, url: str) -> None:
    unit = t.sql("SELECT id FROM units WHERE parent_id IS NULL ORDER BY id LIMIT 1")[0][0]
    t.sql("INSERT INTO chat_robots (unit_id, kind, name, url, secret, active, created_at) "
          "VALUES (:u, 'webhook', 'bench', :url, '', :a, CURRENT_TIMESTAMP)", u=unit, url=url, a=True)


def ssrf_redirect(t):
    with InternalService() as internal, RedirectingRobot(internal.url) as robot:
        _reset_outbox(t, "webhook")
        _add_robot(t, robot.url)
        t.flask("tracker", "remind", timeout=300)
        logged = t.sql("SELECT detail FROM delivery_attempts") or []
        leaked = sum(1 for (detail,) in logged if "SSH-2.0" in (detail or "") or "internal-db" in (detail or ""))
        return {"attack": "robot answering with a redirect to an internal service",
                "status": f"{internal.requests.__len__()} requests reached it",
                "answer": f"{leaked} of {len(logged)} log lines carry its banner"}


def _remind_with_mail(t: Tracker, name: str, server, limit: float = 240) -> dict:
    with RobotServer() as robot:
        _reset_outbox(t, "inapp,email,webhook")
        _add_robot(t, robot.url)
        env = {f"TRACKER_{k}": str(v) for k, v in server.config().items()}
        start = time.perf_counter()
        process = subprocess.Popen([str(VENV / "flask"), "--app", "wsgi", "tracker", "remind"], cwd=t.dir,
                                   env={**t.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first_robot = None
        while process.poll() is None and time.perf_counter() - start < limit:
            if robot.acknowledged and first_robot is None:
                first_robot = time.perf_counter() - start
            time.sleep(0.2)
        finished = process.poll() is not None
        if not finished:
            process.kill()
        elapsed = time.perf_counter() - start
        outcomes = dict(t.sql("SELECT channel || ':' || status, COUNT(*) FROM outbox_messages GROUP BY channel, status"))
        return {"attack": name, "time": f"{elapsed:.0f} s" + ("" if finished else " (killed, still running)"),
                "status": f"robot messages sent: {len(robot.acknowledged)}"
                          + (f", first after {first_robot:.0f} s" if first_robot is not None else ""),
                "answer": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))}


def smtp_endless_greeting(t):
    with HostileSMTP("endless_greeting") as server:
        return _remind_with_mail(t, "mail server greeting with endless 220- lines", server)


def smtp_silent(t):
    with HostileSMTP("silent") as server:
        return _remind_with_mail(t, "mail server that never answers", server)


def smtp_stall_after_data(t):
    with HostileSMTP("stall_after_data") as server:
        result = _remind_with_mail(t, "mail server silent after the message body", server)
        # A second drain a minute later: is the mail (which the server has) sent again at once?
        t.flask("tracker", "remind", timeout=300, env={f"TRACKER_{k}": str(v) for k, v in server.config().items()})
        ids = Counter(re.findall(rb"Message-ID:\s*(<[^>]+>)", b"".join(server.bodies), re.I))
        result["status"] += f"; bodies received: {len(server.bodies)}, distinct Message-IDs: {len(ids)}"
        return result


NASTY = ["\x00", "a\x00b", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1")]


def nul_fuzz(t):
    """Every list page's filters and every form of the sign-in and item pages with NUL characters."""
    s = t.session("admin")
    item = t.sql("SELECT id FROM items ORDER BY id LIMIT 1")[0][0]
    gets = ["/items", "/overdue", "/my", "/review", "/reports", "/reminders/log", "/admin/users", "/notifications"]
    params = ["status", "owner", "category", "unit", "year", "page", "per_page", "sort", "report", "day", "recipient",
              "before", "channel", "q", "mine", "open", "overdue", "closed"]
    codes = Counter()
    for path in gets:
        for name in params:
            codes[s.get(f"{t.base}{path}?{name}=%00x", timeout=30).status_code] += 1
    anonymous = requests.Session()
    for value in ("\x00", "ab\x00cd"):
        token = token_of(anonymous.get(t.base + "/login").text)
        codes[anonymous.post(t.base + "/login", data={"username": value, "password": value, "csrf_token": token},
                             timeout=30).status_code] += 1
        page = s.get(f"{t.base}/items/{item}").text
        for path, data in ((f"/items/{item}/progress", {"note": f"进展{value}"}),
                           (f"/items/{item}/edit", {"title": f"标题{value}", "measures": value, "version": "1"}),
                           ("/admin/units", {"name": f"单位{value}", "parent": "0"}),
                           ("/admin/categories", {"code": f"c{value}", "name": value}),
                           ("/profile/tokens", {"name": value})):
            codes[s.post(t.base + path, data={"csrf_token": token_of(page), **data}, timeout=30).status_code] += 1
    total = sum(codes.values())
    return {"attack": "NUL in query strings and forms", "status": f"{codes.get(500, 0)} × 500 of {total}",
            "answer": " ".join(f"{n}×{code}" for code, n in sorted(codes.items()))}


def import_race(t):
    token = t.flask("tracker", "create-token", "city_sup").stdout.strip()
    data = (ROOT / "tracker" / "demo" / "reports" / "002_7d80a77d3b41ec6f.txt").read_bytes().replace(b"2023", b"2021")
    before = t.sql("SELECT COUNT(*) FROM reports")[0][0]
    barrier = threading.Barrier(2)

    def send(_):
        barrier.wait()
        return requests.post(t.base + "/api/v1/reports/import", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("race.txt", data)}, timeout=120).status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(send, range(2)))
    stored = t.sql("SELECT COUNT(*) FROM reports")[0][0] - before
    return {"attack": "the same report imported twice at once", "status": " ".join(map(str, codes)),
            "answer": f"{stored} reports stored"}


def submit_withdraw_race(t, rounds: int = 6):
    owner = t.session("suixian_off")
    broken = 0
    for n in range(rounds):
        item = t.sql("SELECT i.id FROM items i JOIN users u ON u.id = i.owner_id WHERE u.username = 'suixian_off' "
                     "AND i.status = 'in_progress' ORDER BY i.id LIMIT 1")
        if not item:
            break
        item_id = item[0][0]
        page = owner.get(f"{t.base}/items/{item_id}").text
        owner.post(f"{t.base}/items/{item_id}/evidence", data={"csrf_token": token_of(page)},
                   files={"file": (f"证明{n}.pdf", hostile.pdf_with_text("evidence"))})
        page = owner.get(f"{t.base}/items/{item_id}").text
        evidence = t.sql("SELECT id FROM evidence WHERE item_id = :i AND removed_at IS NULL", i=item_id)
        version = re.search(r'name="version" type="hidden" value="(\d+)"', page) or re.search(r'name="version" value="(\d+)"', page)
        barrier = threading.Barrier(1 + len(evidence))

        def submit():
            barrier.wait()
            owner.post(f"{t.base}/items/{item_id}/transition", data={
                "csrf_token": token_of(page), "action": "submit", "summary": "完成", "version": version.group(1)})

        def withdraw(evidence_id):
            barrier.wait()
            owner.post(f"{t.base}/evidence/{evidence_id}/remove", data={"csrf_token": token_of(page)})

        threads = [threading.Thread(target=submit)] + [threading.Thread(target=withdraw, args=(e,)) for (e,) in evidence]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        status, left = t.sql("SELECT status, (SELECT COUNT(*) FROM evidence e WHERE e.item_id = i.id AND e.removed_at IS NULL) "
                             "FROM items i WHERE id = :i", i=item_id)[0]
        broken += status == "pending_review" and left == 0
        if status == "pending_review":  # send it back for the next round
            t.sql("UPDATE items SET status = 'in_progress', version = version + 1 WHERE id = :i", i=item_id)
    return {"attack": "submit while the only evidence is withdrawn", "status": f"{broken} of {rounds} races",
            "answer": "under review with no evidence"}


def evidence_archives(t):
    owner = t.session("suixian_off")
    item_id = t.sql("SELECT i.id FROM items i JOIN users u ON u.id = i.owner_id WHERE u.username = 'suixian_off' "
                    "AND i.status = 'in_progress' ORDER BY i.id LIMIT 1")[0][0]
    accepted = 0
    cases = [("宏.docx", hostile.docx_with_member("word/vbaProject.bin")), ("程序.docx", hostile.docx_with_member("setup.exe")),
             ("公文.ofd", hostile.ofd_with_member("Doc_0/run.exe")), ("宏.doc", hostile.ole_with_macro())]
    for filename, data in cases:
        page = owner.get(f"{t.base}/items/{item_id}").text
        answer = owner.post(f"{t.base}/items/{item_id}/evidence", data={"csrf_token": token_of(page)},
                            files={"file": (filename, data)}, allow_redirects=False)
        accepted += answer.status_code == 302
    return {"attack": "evidence archives hiding macros or programs", "status": f"{accepted} of {len(cases)} accepted"}


def headers(t):
    s = t.session("suixian_off")
    page = s.get(t.base + "/my")
    evidence_id = t.sql("SELECT id FROM evidence ORDER BY id LIMIT 1")[0][0]
    preview = t.session("city_sup").get(f"{t.base}/evidence/{evidence_id}?inline=1")
    return {"attack": "headers of a signed-in page and of an inline PDF",
            "status": f"CSP {'yes' if 'Content-Security-Policy' in page.headers else 'no'}, "
                      f"Cache-Control {page.headers.get('Cache-Control', 'none')}",
            "answer": f"evidence: {preview.headers.get('Content-Disposition', '')[:20]}; "
                      f"CSP {preview.headers.get('Content-Security-Policy', 'none')[:30]}"}


def database_down(t):
    if not t.database_url.startswith("postgresql"):
        return {"attack": "database down (PostgreSQL only)", "status": "skipped on SQLite"}
    s = t.session("suixian_off")
    name = t.database_url.rsplit("/", 1)[1]
    admin_url = t.database_url.rsplit("/", 1)[0] + "/postgres"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
    try:
        answer = s.get(t.base + "/my", timeout=60)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()
    chinese = bool(re.search(r"[\u4e00-\u9fff]", answer.text))
    return {"attack": "database down, signed-in page", "status": answer.status_code,
            "answer": ("Chinese page: " if chinese else "English page: ") + first_sentence(answer.text)}


ATTACKS = [docx_bomb, docx_paragraphs, pdf_pages, paste_spaces, paste_60k, nul_fuzz, ssrf_save, ssrf_redirect,
           smtp_endless_greeting, smtp_silent, smtp_stall_after_data, import_race, submit_withdraw_race, evidence_archives,
           headers, database_down, session_after_password_change, session_after_logout, token_flood, sign_in_timing,
           sign_in_flood]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    parser.add_argument("--server-dir", type=Path, default=ROOT)
    parser.add_argument("--only", help="comma-separated attack names: " + ", ".join(a.__name__ for a in ATTACKS))
    args = parser.parse_args()
    chosen = [a for a in ATTACKS if not args.only or a.__name__ in args.only.split(",")]
    url = fresh_database(args.database_url, "attacks")
    tracker = Tracker(args.server_dir.resolve(), url)
    tracker.start()
    print(f"tracker at {tracker.base}, {url.split('@')[-1]}, served from {tracker.dir}; its log: {tracker.tmp}/server.log")
    try:
        for attack in chosen:
            result = attack(tracker)
            cells = [result.pop("attack")] + [f"{k}: {v}" for k, v in result.items()]
            print(" | ".join(str(c) for c in cells), flush=True)
    finally:
        tracker.stop()


if __name__ == "__main__":
    main()

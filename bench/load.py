"""Load benchmark: tracker under gunicorn (4 workers) on a seeded database, a mix of roles and
pages at concurrency 1, 8 and 32, against a bare Flask app served the same way in the same run.

    .venv/bin/python -m bench.load --database-url URL [--seconds 30] [--workers 4]

The database is one ``bench.pages`` seeded (616 units, 3,080 users; run that first). For each
concurrency it prints requests per second, the median and the 95th percentile, and the errors.
The client is threads with keep-alive sessions (``requests``), on the same 2-core machine as the
server, so the figures are what one machine does serving and asking at once. Nothing here runs
in the test suite.
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from flask import Flask

from bench.pages import PASSWORD

ROOT = Path(__file__).parent.parent
# Who asks for what: a province, a city and a team supervisor, and two officials, over the list
# pages, the dashboard and an item.
MIX = {
    "sup0": ["/items", "/overdue", "/dashboard", "/review"],
    "sup1": ["/items", "/overdue", "/dashboard", "/items?overdue=1", "/review"],
    "sup3": ["/items", "/overdue", "/dashboard"],
    "off200_1": ["/my", "/items", "/overdue"],
    "off300_2": ["/my", "/items"],
}

bare = Flask("bare")


@bare.get("/")
def hello():
    return "ok"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(app: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         # the bare app without the project's gunicorn.conf.py (which starts tracker's scheduler)
         *(() if app == "wsgi:app" else ("-c", "/dev/null")), app],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/login" if app == "wsgi:app" else f"http://127.0.0.1:{port}/", timeout=5)
            return server
        except requests.RequestException:  # not listening yet, or still starting its workers
            time.sleep(0.2)
    server.kill()
    raise SystemExit(f"{app} did not start on port {port}")


def _signed_in(base: str, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/login").text
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    answer = session.post(f"{base}/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False)
    assert answer.status_code == 302, f"{username} could not sign in"
    return session


def _run(base: str, plan: list[tuple[str | None, str]], concurrency: int, seconds: float,
         cookies: dict[str | None, dict]) -> str:
    """Each thread asks for (user, page) pairs at random, as each user with a session of its own
    (a ``requests.Session`` is not for sharing between threads) holding that user's sign-in
    cookie (signing in 32 times at once from one address would meet the sign-in throttle)."""
    timings: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds + 5  # (moved on once every thread has signed in)
    ready = threading.Barrier(concurrency + 1)

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        sessions: dict[str | None, requests.Session] = {}
        for username in {username for username, _ in plan}:
            sessions[username] = requests.Session()
            sessions[username].cookies.update(cookies.get(username, {}))
        ready.wait()
        while time.perf_counter() < stop:
            username, url = plan[rng.randrange(len(plan))]
            session = sessions[username]
            start = time.perf_counter()
            try:
                ok = session.get(base + url, timeout=30, allow_redirects=False).status_code in (200, 302)
            except requests.RequestException:
                ok = False
            took = time.perf_counter() - start
            with lock:
                timings.append(took)
                errors[0] += not ok

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait()
    stop = time.perf_counter() + seconds
    for thread in threads:
        thread.join()
    if not timings:
        return "no requests"
    timings.sort()
    p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
    return (f"{len(timings) / seconds:7.1f} req/s   median {statistics.median(timings) * 1000:6.1f} ms   "
            f"p95 {p95 * 1000:6.1f} ms   errors {errors[0]}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    env = {"TRACKER_DATABASE_URL": args.database_url, "TRACKER_SECRET_KEY": "bench", "TRACKER_SCHEDULER": "off",
           "TRACKER_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"}
    port = _free_port()
    server = _serve("wsgi:app", port, args.workers, env)
    base = f"http://127.0.0.1:{port}"
    try:
        plan = [(username, url) for username, urls in MIX.items() for url in urls]
        cookies = {username: _signed_in(base, username).cookies.get_dict() for username in MIX}
        print(f"tracker, gunicorn -w {args.workers}, {len(plan)} (user, page) pairs, {args.seconds:g} s each:")
        for concurrency in (1, 8, 32):
            print(f"  concurrency {concurrency:>2}: {_run(base, plan, concurrency, args.seconds, cookies)}")
    finally:
        server.terminate()
        server.wait(10)
    port = _free_port()
    server = _serve("bench.load:bare", port, args.workers, {})
    try:
        print(f"bare Flask, gunicorn -w {args.workers}:")
        for concurrency in (1, 8, 32):
            print(f"  concurrency {concurrency:>2}: {_run(f'http://127.0.0.1:{port}', [(None, '/')], concurrency, args.seconds, {})}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

"""Several web machines: two real gunicorn processes on different ports, each with its own upload
folder, share one PostgreSQL and one S3 endpoint (moto's standalone server, see tests/s3.py), as a
province runs them behind nginx. What one machine does, the other sees."""

import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD, PDF, TEST_DB_URL
from tests.s3 import S3Server
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

pytestmark = pytest.mark.skipif(not (TEST_DB_URL or "").startswith("postgresql"),
                                reason="several web machines share a PostgreSQL database (the PostgreSQL run)")


class Node:
    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.url, self.process, self.log = f"http://127.0.0.1:{port}", process, log

    def wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url + "/login", timeout=5)
                return
            except (requests.ConnectionError, requests.Timeout):
                assert self.process.poll() is None, self.log.read_text()
                time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer: {self.log.read_text()}")


@pytest.fixture
def nodes(app, database_url, tmp_path):
    with S3Server() as s3:
        bucket = s3.new_bucket()
        env = {**os.environ, "TRACKER_DATABASE_URL": database_url, "TRACKER_SECRET_KEY": "shared-secret",
               "TRACKER_SCHEDULER": "off", "TRACKER_LOGIN_LOCK_AFTER": "3", "TRACKER_LOGIN_DELAY_AFTER": "100",
               **{f"TRACKER_{key}": value for key, value in bucket.config().items()}}
        started = []
        try:
            for n in range(2):
                port, log = free_port(), tmp_path / f"node{n}.log"
                node_env = {**env, "TRACKER_UPLOAD_DIR": str(tmp_path / f"uploads{n}")}  # each machine's own disk
                with open(log, "w") as out:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                        cwd=ROOT, env=node_env, stdout=out, stderr=subprocess.STDOUT)
                started.append(Node(port, process, log))
            for node in started:
                node.wait()
            yield started, bucket
        finally:
            for node in started:
                node.process.terminate()
                node.process.wait(10)


def _token(browser: requests.Session, url: str) -> str:
    return CSRF.search(browser.get(url, timeout=10).text).group(1)


def _sign_in(browser: requests.Session, node: Node, username: str, password: str = PASSWORD) -> requests.Response:
    token = _token(browser, node.url + "/login")
    return browser.post(node.url + "/login", data={"username": username, "password": password, "csrf_token": token},
                        allow_redirects=False, timeout=10)


def test_an_upload_through_one_machine_is_downloaded_through_the_other(nodes, org, make, tmp_path):
    (a, b), bucket = nodes
    item = make.item(org.county_a, org.off_a, status="in_progress")
    browser = requests.Session()
    assert _sign_in(browser, a, org.off_a.username).status_code == 302
    token = _token(browser, f"{a.url}/items/{item.id}")
    uploaded = browser.post(f"{a.url}/items/{item.id}/evidence", data={"csrf_token": token, "description": "整改后照片"},
                            files={"file": ("整改照片.pdf", PDF, "application/pdf")}, allow_redirects=False, timeout=30)
    assert uploaded.status_code == 302, uploaded.text
    # The session signed in on one machine is valid on the other; the item page there lists the file.
    page = browser.get(f"{b.url}/items/{item.id}", timeout=10)
    assert page.status_code == 200 and "整改照片.pdf" in page.text
    evidence_id = re.search(r'href="/evidence/(\d+)', page.text).group(1)
    got = browser.get(f"{b.url}/evidence/{evidence_id}", timeout=10)
    assert got.status_code == 200 and got.content == PDF
    assert hashlib.sha256(got.content).hexdigest() == hashlib.sha256(PDF).hexdigest()
    assert "%E6%95%B4%E6%94%B9%E7%85%A7%E7%89%87.pdf" in got.headers["Content-Disposition"]
    assert not any(path.is_file() for path in (tmp_path / "uploads0").rglob("*"))  # in the bucket, not on a's disk
    assert len(bucket.keys()) == 1


def test_a_lock_out_set_through_one_machine_holds_on_the_other(nodes, org):
    (a, b), _ = nodes
    for _ in range(3):
        wrong = _sign_in(requests.Session(), a, org.off_b.username, "wrong-password")
        assert wrong.status_code == 422
    assert "该账号已锁定至" in wrong.text
    right = _sign_in(requests.Session(), b, org.off_b.username)  # the right password, on the other machine
    assert right.status_code == 429 and "锁定" in right.text
    assert _sign_in(requests.Session(), b, org.off_a.username).status_code == 302  # another account is not locked

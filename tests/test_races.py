"""Races that left the data inconsistent: two identical imports at once, a close-out submitted
while its only evidence is withdrawn, a worker killed between writing a file and its row."""

import io
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import PDF, at_once
from tests.reports import sample_text
from tracker import housekeeping, storage
from tracker.errors import DomainError
from tracker.extensions import db
from tracker.items import evidence as evidence_files
from tracker.items import workflow
from tracker.items.models import Evidence, Item, Report, Status
from tracker.items.workflow import Action

ROOT = Path(__file__).resolve().parent.parent


def test_two_identical_imports_sent_at_once_store_one_report(app, org, make, api):
    make.unit("呼兰区交通运输局", org.city)
    token = api(org.city_sup).secret
    data = sample_text("004_a88482b488a96b1d.txt").encode()
    barrier, codes = threading.Barrier(2), []

    def send():
        with app.app_context():
            client = app.test_client()
            barrier.wait(5)
            answer = client.post("/api/v1/reports/import", headers={"Authorization": f"Bearer {token}"},
                                 data={"file": (io.BytesIO(data), "report.txt")})
            codes.append((answer.status_code, answer.get_json().get("error", "")))
            db.session.remove()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Report.id))) == 1
    assert sorted(code for code, _ in codes) == [201, 409], codes
    assert db.session.scalar(select(func.count(Item.id))) == 3  # the one report's problems, once


def test_a_confirmed_second_import_names_the_first(app, org, make, api):
    make.unit("呼兰区交通运输局", org.city)
    data = sample_text("004_a88482b488a96b1d.txt").encode()
    caller = api(org.city_sup)
    first = caller.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")}).get_json()
    assert caller.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt")}).status_code == 409
    again = caller.post("/reports/import", data={"file": (io.BytesIO(data), "r.txt"), "allow_duplicate": "1"})
    assert again.status_code == 201
    assert db.session.get(Report, again.get_json()["report_id"]).duplicate_of_id == first["report_id"]


def _submit_against_withdraw(app, make, org) -> tuple[list, Status, int]:
    """One race: the owner submits the close-out while, at the same instant, withdrawing the only file."""
    item = make.item(org.county_a, org.off_a, status="in_progress")
    evidence_id, item_id = make.evidence(item, org.off_a).id, item.id
    actions = iter(["submit", "withdraw"])
    lock = threading.Lock()

    def one():
        with lock:
            action = next(actions)
        owner = db.session.merge(org.off_a)
        try:
            if action == "submit":
                workflow.perform(db.session.get(Item, item_id), Action.submit, owner, now=datetime.now(UTC),
                                 today=make.today, summary="已完成")
            else:
                evidence_files.remove_evidence(db.session.get(Evidence, evidence_id), owner, now=datetime.now(UTC))
            db.session.commit()
        except DomainError:
            db.session.rollback()
            return "refused"
        return action

    results, errors = at_once(app, 2, one)
    assert errors == [], errors
    db.session.expire_all()
    left = db.session.scalar(select(func.count(Evidence.id)).where(Evidence.item_id == item_id, Evidence.removed_at.is_(None)))
    return sorted(results), db.session.get(Item, item_id).status, left


def test_submitting_while_the_only_evidence_is_withdrawn_never_leaves_a_review_without_evidence(app, org, make):
    """Before: 6 of 6 such races on PostgreSQL left the item under review with no evidence."""
    for _ in range(6):
        results, status, left = _submit_against_withdraw(app, make, org)
        assert not (status is Status.pending_review and left == 0)
        assert results in (["refused", "submit"], ["refused", "withdraw"]), results  # one wins, the other is told why


KILLED_UPLOAD = """
import io, os, sys
from datetime import datetime, UTC
from tracker import create_app
from tracker.extensions import db
from tracker.items import evidence
from tracker.items.models import Item
from tracker.org.models import User
app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "test", "UPLOAD_DIR": sys.argv[2]})
with app.app_context():
    item = db.session.get(Item, int(sys.argv[3]))
    owner = db.session.get(User, item.owner_id)
    evidence.add_evidence(item, owner, io.BytesIO(b"%PDF-1.4 killed upload"), "a.pdf", now=datetime.now(UTC), max_bytes=10**6)
    db.session.flush()
    os._exit(9)  # killed after the file is in place, before the row is committed
"""


def test_a_worker_killed_mid_upload_leaves_no_file_behind(app, org, make, database_url):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    kept = make.evidence(item, org.off_a)
    upload_dir = Path(app.config["UPLOAD_DIR"])
    killed = subprocess.run([sys.executable, "-c", KILLED_UPLOAD, database_url, str(upload_dir), str(item.id)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert killed.returncode == 9, killed.stderr
    files = {p.name for p in upload_dir.glob("??/*")}
    orphan = next(name for name in files if name != kept.stored_name)  # a file that no row names
    assert db.session.scalar(select(func.count(Evidence.id))) == 1
    just_now = upload_dir / orphan[:2] / orphan
    old = time.time() - 7200
    os.utime(just_now, (old, old))
    os.utime(storage.current().path(evidence_files.storage_key(kept.stored_name)), (old, old))
    (upload_dir / ".upload-half").write_bytes(b"half")
    os.utime(upload_dir / ".upload-half", (old, old))
    (upload_dir / ".upload-now").write_bytes(b"writing")  # an upload under way: left alone
    done = housekeeping.run()
    assert done["orphan_files"] == 2
    assert {p.name for p in upload_dir.glob("??/*")} == {kept.stored_name}
    assert storage.current().read_bytes(evidence_files.storage_key(kept.stored_name)) == PDF
    assert (upload_dir / ".upload-now").exists() and not (upload_dir / ".upload-half").exists()


def test_housekeeping_forgets_old_sign_in_lines_and_ended_sessions(app, org, login):
    from tracker.org import signin
    from tracker.org.models import SignInEvent, SignInOutcome, UserSession

    login(org.off_a)
    signin.record(SignInOutcome.failure, username="old", now=datetime.now(UTC) - timedelta(days=400))
    db.session.commit()
    before = db.session.scalar(select(func.count(SignInEvent.id)))
    done = housekeeping.run()
    assert done["sign_in_events"] == 1
    assert db.session.scalar(select(func.count(SignInEvent.id))) == before - 1
    assert db.session.scalar(select(func.count(UserSession.id))) == 1  # a live session stays

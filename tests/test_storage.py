"""Files in S3-compatible object storage (TRACKER_STORAGE_URL=s3://…), against a real S3 endpoint
on 127.0.0.1: moto's standalone server in its own process (see tests/s3.py; no MinIO here)."""

import hashlib
import io
import json
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.conftest import PDF
from tests.s3 import S3Server
from tests.servers import free_port
from tracker import create_app, housekeeping, storage
from tracker.errors import Unavailable
from tracker.extensions import db
from tracker.importing import originals
from tracker.items import evidence as evidence_files
from tracker.items.models import Evidence

MB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_server():
    with S3Server() as server:
        yield server


@pytest.fixture
def bucket(app, s3_server):
    """A fresh bucket, and the app storing its files there."""
    bucket = s3_server.new_bucket()
    app.config.update(bucket.config())
    app.extensions.pop("tracker_storage", None)
    return bucket


def _upload(c, item_id, files: list[tuple[bytes, str]]):
    boundary, body = encode_multipart(
        {"file": [FileStorage(io.BytesIO(data), filename=name) for data, name in files], "description": "",
         "csrf_token": c.csrf})
    return c.post(f"/items/{item_id}/evidence", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _local_files(app) -> list[Path]:
    return [p for p in Path(app.config["UPLOAD_DIR"]).rglob("*") if p.is_file()]


def test_evidence_is_kept_in_the_bucket_and_read_back_from_it(app, org, make, login, bucket, api):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    owner = login(org.off_a)
    assert _upload(owner, item.id, [(PDF, "整改照片.pdf")]).status_code == 302
    evidence = db.session.scalar(select(Evidence))
    key = evidence_files.storage_key(evidence.stored_name)
    assert bucket.keys() == {key} and bucket.read(key) == PDF
    assert _local_files(app) == []  # the upload was checked on disk, then moved; nothing stays behind
    got = owner.get(f"/evidence/{evidence.id}")
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf" and got.headers["Content-Length"] == str(len(PDF))
    assert "filename*=UTF-8''%E6%95%B4%E6%94%B9%E7%85%A7%E7%89%87.pdf" in got.headers["Content-Disposition"]
    assert got.headers["Content-Security-Policy"] == "sandbox"
    assert owner.get(f"/evidence/{evidence.id}?inline=1").headers["Content-Disposition"].startswith("inline")
    from_api = api(org.off_a).get(f"/evidence/{evidence.id}")
    assert from_api.status_code == 200 and hashlib.sha256(from_api.data).hexdigest() == evidence.sha256
    assert login(org.off_b).get(f"/evidence/{evidence.id}").status_code == 404  # another county's official


def test_a_refused_file_in_a_batch_leaves_nothing_in_the_bucket(app, org, make, login, bucket):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    response = _upload(login(org.off_a), item.id, [(PDF, "一.pdf"), (b"MZ\x90\x00 not a pdf", "二.pdf")])
    assert response.status_code == 415 and "“二.pdf”：文件内容与扩展名 .pdf 不符" in response.get_data(as_text=True)
    assert bucket.keys() == set()  # the first file was in the bucket until the batch was refused
    assert db.session.scalar(select(func.count(Evidence.id))) == 0 and _local_files(app) == []


def test_a_missing_object_is_a_plain_404(org, make, login, bucket):
    evidence = make.evidence(make.item(org.county_a, org.off_a, status="in_progress"), org.off_a)
    bucket.client.delete_object(Bucket=bucket.name, Key=bucket.prefix + evidence_files.storage_key(evidence.stored_name))
    got = login(org.off_a).get(f"/evidence/{evidence.id}")
    assert got.status_code == 404 and "文件已丢失，请联系管理员。" in got.get_data(as_text=True)


class Filler(io.RawIOBase):
    """A PDF of ``size`` bytes, produced as it is read (never whole in memory)."""

    def __init__(self, size: int):
        self.left, self.head = size, b"%PDF-1.4\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        chunk = (self.head + b"0" * n)[:n]
        self.head = self.head[n:]
        buffer[:n] = chunk
        self.left -= n
        return n


def test_a_50_mb_file_goes_up_and_down_without_being_held_in_memory(app, org, make, login, bucket):
    """Python's allocations are traced (tracemalloc) while a 50 MB file is stored and sent; the S3
    server is another process, so what is traced is tracker's own."""
    app.config["MAX_UPLOAD_MB"] = 50
    size = 50 * MB
    item = make.item(org.county_a, org.off_a, status="in_progress")
    tracemalloc.start()
    try:
        evidence = evidence_files.add_evidence(item, org.off_a, io.BufferedReader(Filler(size), MB), "大文件.pdf",
                                               now=make.now, max_bytes=size)
        db.session.commit()
        _, stored_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        with app.test_request_context():
            response = evidence_files.send(evidence, as_attachment=True, download_name=evidence.filename)
            digest, sent = hashlib.sha256(), 0
            for block in response.response:
                digest.update(block)
                sent += len(block)
            response.close()
        _, sent_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sent == size and digest.hexdigest() == evidence.sha256 and evidence.size == size
    print(f"peak traced memory: storing {stored_peak / MB:.1f} MB, sending {sent_peak / MB:.1f} MB of a 50 MB file")
    assert stored_peak < 20 * MB  # parts of 8 MB, two at a time
    assert sent_peak < 5 * MB


def test_orphans_in_the_bucket_are_removed_by_housekeeping(app, org, make, bucket, monkeypatch):
    kept = make.evidence(make.item(org.county_a, org.off_a, status="in_progress"), org.off_a)
    orphan = "ab/" + "ab" + "0" * 30  # a file whose row was never committed (a worker killed between the two)
    bucket.write(orphan, PDF)
    bucket.write("reports/" + "f" * 64, b"a preview never confirmed")
    assert housekeeping.run()["orphan_files"] == 0  # younger than an hour: perhaps an upload under way
    later = housekeeping.clock.utcnow() + timedelta(days=2)
    monkeypatch.setattr(housekeeping.clock, "utcnow", lambda: later)
    done = housekeeping.run()
    assert done["orphan_files"] == 1 and done["unclaimed_reports"] == 1
    assert bucket.keys() == {evidence_files.storage_key(kept.stored_name)}


def test_a_report_file_is_kept_in_the_bucket(app, org, make, login, bucket):
    data = "关于2024年度法治政府建设情况的报告".encode()
    sha = hashlib.sha256(data).hexdigest()
    originals.keep(data, sha)
    originals.keep(data, sha)  # a second read of the same bytes finds it there
    assert bucket.keys() == {f"reports/{sha}"} and originals.kept(sha) == data
    report = make.report(org.county_a, 2024)
    report.sha256, report.source_filename = sha, "甲县报告.txt"
    db.session.commit()
    got = login(org.sup_a).get(f"/reports/{report.id}/original")
    assert got.status_code == 200 and got.data == data and "attachment" in got.headers["Content-Disposition"]
    assert login(org.sup_b).get(f"/reports/{report.id}/original").status_code == 404


def test_a_background_export_is_kept_in_the_bucket(app, org, make, login, bucket, monkeypatch):
    for number in range(3):
        make.item(org.county_a, org.off_a, year=2024, title=f"问题{number}")
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 2)
    supervisor = login(org.sup_a)
    page_url = supervisor.get("/items/export.xlsx?year=2024").headers["Location"]
    for _ in range(200):
        if 'id="export-download"' in supervisor.get(page_url).get_data(as_text=True):
            break
        time.sleep(0.05)
    [key] = bucket.keys()
    assert key.startswith("exports/")
    download = supervisor.get(page_url + "/file")
    assert download.status_code == 200 and download.data == bucket.read(key) and download.data[:2] == b"PK"
    assert login(org.sup_b).get(page_url + "/file").status_code == 404


def test_an_unreachable_store_refuses_the_upload_in_one_sentence_and_keeps_nothing(app, org, make, login, bucket):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    evidence = make.evidence(item, org.off_a)
    app.config["S3_ENDPOINT_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app.config["S3_TIMEOUT_SECONDS"] = 2
    app.extensions.pop("tracker_storage", None)
    owner = login(org.off_a)
    response = _upload(owner, item.id, [(PDF, "照片.pdf")])
    assert response.status_code == 503 and storage.UNAVAILABLE in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Evidence.id))) == 1 and _local_files(app) == []
    got = owner.get(f"/evidence/{evidence.id}")
    assert got.status_code == 503 and storage.UNAVAILABLE in got.get_data(as_text=True)


def test_a_bucket_that_does_not_exist_is_unavailable_not_missing(app, bucket):
    app.config["STORAGE_URL"] = "s3://no-such-bucket/tracker"
    app.extensions.pop("tracker_storage", None)
    with pytest.raises(Unavailable):
        storage.current().open("reports/x")
    with pytest.raises(Unavailable):
        originals.keep(b"x", "0" * 64)  # (a HEAD cannot tell a missing bucket from a missing object; the write can)


@pytest.mark.parametrize("url", ["ftp://host/x", "s3://", "s3:///prefix"])
def test_a_storage_url_that_cannot_be_used_stops_the_start(url, tmp_path):
    with pytest.raises(storage.Misconfigured, match="TRACKER_STORAGE_URL 应为 s3://存储桶/前缀"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "x", "STORAGE_URL": url})


def test_keys_cannot_climb_out_of_the_folder(tmp_path):
    store = storage.LocalStorage(tmp_path / "uploads")
    for key in ("../secret", "a/../../b", "/etc/passwd", "", "a//b"):
        with pytest.raises(ValueError):
            store.path(key)


def _migrate(app, *args):
    return app.test_cli_runner().invoke(args=["tracker", "storage-migrate", *args])


def test_storage_migrate_copies_the_disk_to_the_bucket_and_checks_every_hash(app, org, make, s3_server):
    item = make.item(org.county_a, org.off_a, status="in_progress")
    files = [make.evidence(item, org.off_a, data=PDF + str(n).encode(), filename=f"{n}.pdf") for n in range(4)]
    data = "报告原文".encode()
    sha = hashlib.sha256(data).hexdigest()
    originals.keep(data, sha)
    report = make.report(org.county_a, 2024)
    report.sha256, report.source_filename = sha, "报告.txt"
    db.session.commit()
    disk = storage.current()
    disk.path(evidence_files.storage_key(files[2].stored_name)).unlink()  # lost from the disk
    disk.path(evidence_files.storage_key(files[3].stored_name)).write_bytes(b"%PDF-1.4 changed")  # not what was recorded

    refused = _migrate(app)  # the storage is still the disk
    assert refused.exit_code == 1 and "无需迁移" in refused.output

    bucket = s3_server.new_bucket()
    app.config.update(bucket.config())
    app.extensions.pop("tracker_storage", None)
    result = _migrate(app)
    assert result.exit_code == 1, result.output
    done = json.loads(result.stdout)
    assert done["evidence"] | {"problems": None} == {"copied": 2, "present": 0, "missing": 1, "mismatch": 1, "corrupted": 0,
                                                      "problems": None}
    assert done["evidence"]["problems"] == {"missing": [evidence_files.storage_key(files[2].stored_name)],
                                            "mismatch": [evidence_files.storage_key(files[3].stored_name)]}
    assert done["reports"] == {"copied": 1, "present": 0, "missing": 0, "mismatch": 0, "corrupted": 0}
    assert "有 2 个文件没有迁移" in result.stderr
    assert bucket.keys() == {evidence_files.storage_key(e.stored_name) for e in files[:2]} | {f"reports/{sha}"}
    assert bucket.read(evidence_files.storage_key(files[1].stored_name)) == PDF + b"1"
    assert disk.path(evidence_files.storage_key(files[0].stored_name)).is_file()  # nothing deleted from the disk
    # Run again: what is there with the same bytes is left; an object changed in the bucket is copied again.
    bucket.write(evidence_files.storage_key(files[0].stored_name), b"damaged")
    again = json.loads(_migrate(app).stdout)
    assert (again["evidence"]["copied"], again["evidence"]["present"], again["reports"]["present"]) == (1, 1, 1)
    assert bucket.read(evidence_files.storage_key(files[0].stored_name)) == PDF + b"0"
    # Served from the bucket from now on.
    with app.test_request_context():
        assert storage.current().read_bytes(evidence_files.storage_key(files[0].stored_name)) == PDF + b"0"


def test_storage_migrate_says_so_when_the_store_cannot_be_reached(app, org, make):
    make.evidence(make.item(org.county_a, org.off_a, status="in_progress"), org.off_a)
    app.config.update(STORAGE_URL="s3://tracker/files", S3_ENDPOINT_URL=f"http://127.0.0.1:{free_port()}",
                      S3_TIMEOUT_SECONDS=2)
    app.extensions.pop("tracker_storage", None)
    result = _migrate(app)
    assert result.exit_code == 1 and "无法访问对象存储 s3://tracker/files/" in result.stderr
    assert "Traceback" not in result.output

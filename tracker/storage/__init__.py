"""Where files are kept: evidence, the reports imported from files, exported ledgers.

Two backends, chosen by ``STORAGE_URL``:

- unset: local files under ``UPLOAD_DIR``, a key being the path below it (``ab/ab12…`` for
  evidence, ``reports/<sha256>``, ``exports/<name>``). One machine.
- ``s3://bucket/prefix``: S3-compatible object storage (MinIO on 政务云), with
  ``S3_ENDPOINT_URL``, ``S3_ACCESS_KEY``, ``S3_SECRET_KEY`` (and ``S3_REGION``). The same keys,
  below the prefix. Any number of web machines share the files.

Files are streamed both ways: a file comes in from a local file already checked (written by the
upload under ``UPLOAD_DIR``, which every backend uses as its scratch space) and goes out to the
client a block at a time; no file is held in memory whole. This package knows nothing of items or
reports: callers name keys and say what a missing file means to their user.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

from flask import Response, current_app, send_file

from tracker.errors import Unavailable

log = logging.getLogger(__name__)


class Missing(LookupError):
    """No file under that key (deleted, never written, or a backend that lost it)."""


class Misconfigured(ValueError):
    """``STORAGE_URL`` or its companions cannot be used; the message says why, in one sentence."""


@dataclass(frozen=True)
class Stored:
    key: str
    size: int
    modified: datetime  # UTC


class LocalStorage:
    """Files under one folder of this machine's disk."""

    name = "local"

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def describe(self) -> str:
        return str(self.root)

    def path(self, key: str) -> Path:
        """The file's place on disk (local storage only: tests age files through it)."""
        return self.root / _checked(key)

    def save(self, key: str, source: Path) -> None:
        """Move a local file in under ``key`` (a rename when on the same disk)."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)

    def save_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=".save-", dir=target.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, target)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def touch(self, key: str) -> None:
        """Mark the file as just written (what is removed "a day after it was read" counts from now)."""
        os.utime(self.path(key))

    def open(self, key: str) -> BinaryIO:
        try:
            return open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise Missing(key) from None

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f:
            return f.read()

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def listing(self, prefix: str) -> Iterator[Stored]:
        """The files whose keys start with ``prefix`` (a folder: ``"reports/"``, ``"ab/"``)."""
        folder = self.path(prefix) if prefix else self.root
        if not folder.is_dir():
            return
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith("."):
                stat = path.stat()
                yield Stored(f"{prefix}{path.name}", stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def send(self, key: str, **options) -> Response:
        path = self.path(key)
        if not path.is_file():
            raise Missing(key)
        return send_file(path, **options)


UNAVAILABLE = "文件存储暂时无法访问，请稍后再试；如持续出现，请联系系统管理员。"


@contextmanager
def _reaching(key: str = ""):
    """Turn the object store's answers into Missing (no such object) or Unavailable (any other
    failure: the endpoint down, refused credentials, no such bucket), logged with the detail."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise Missing(key) from None
        log.error("object storage refused %s: %s", key or "a request", error)
        raise Unavailable(UNAVAILABLE) from error
    except BotoCoreError as error:
        log.error("object storage unreachable for %s: %s", key or "a request", error)
        raise Unavailable(UNAVAILABLE) from error


class S3Storage:
    """Objects in one bucket of an S3-compatible store, below a prefix, through boto3."""

    name = "s3"

    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None, access_key: str | None,
                 secret_key: str | None, region: str | None, timeout: float = 30):
        import boto3
        from boto3.s3.transfer import TransferConfig
        from botocore.config import Config

        self.bucket, self.prefix, self.endpoint_url = bucket, prefix, endpoint_url
        # Path-style addressing: MinIO and most 政务云 stores serve buckets under one host name.
        self.client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None, region_name=region or "us-east-1",
            config=Config(s3={"addressing_style": "path"}, connect_timeout=timeout, read_timeout=timeout,
                          retries={"max_attempts": 3, "mode": "standard"}, signature_version="s3v4"))
        # Above 8 MB a file goes up in parts of 8 MB, two at a time: 16 MB of memory at most.
        self.transfer = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024,
                                       max_concurrency=2)

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" + (f" ({self.endpoint_url})" if self.endpoint_url else "")

    def _key(self, key: str) -> str:
        return self.prefix + _checked(key)

    def put(self, key: str, source: Path) -> None:
        """Copy a local file in under ``key``, streamed from disk."""
        from boto3.exceptions import S3UploadFailedError

        with _reaching(key):
            try:
                self.client.upload_file(str(source), self.bucket, self._key(key), Config=self.transfer)
            except S3UploadFailedError as error:
                log.error("object storage refused %s: %s", key, error)
                raise Unavailable(UNAVAILABLE) from error

    def save(self, key: str, source: Path) -> None:
        """Move a local file in under ``key``."""
        self.put(key, source)
        Path(source).unlink(missing_ok=True)

    def save_bytes(self, key: str, data: bytes) -> None:
        with _reaching(key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def exists(self, key: str) -> bool:
        try:
            with _reaching(key):
                self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except Missing:
            return False
        return True

    def touch(self, key: str) -> None:
        # Copied onto itself with its metadata replaced, an object gets a new LastModified.
        with _reaching(key):
            self.client.copy_object(Bucket=self.bucket, Key=self._key(key), MetadataDirective="REPLACE",
                                    CopySource={"Bucket": self.bucket, "Key": self._key(key)})

    def open(self, key: str) -> BinaryIO:
        with _reaching(key):
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        return _Body(answer["Body"], answer.get("ContentLength"))

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as f, _reaching(key):
            return f.read()

    def delete(self, key: str) -> None:
        with _reaching(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def listing(self, prefix: str) -> Iterator[Stored]:
        """The objects whose keys start with ``prefix``, directly below it (not in deeper folders)."""
        with _reaching(prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix, Delimiter="/")
            for page in pages:
                for entry in page.get("Contents", []):
                    key = entry["Key"][len(self.prefix):]
                    if not key.rsplit("/", 1)[-1].startswith("."):
                        yield Stored(key, entry["Size"], entry["LastModified"].astimezone(UTC))

    def send(self, key: str, **options) -> Response:
        body = self.open(key)
        options.setdefault("conditional", False)  # no ranges: the body is read once, from the start
        response = send_file(body, **options)
        if body.size is not None:
            response.content_length = body.size
        return response


def sha256_of(store: LocalStorage | S3Storage, key: str) -> str:
    """The SHA-256 of a stored file, read a block at a time."""
    digest = hashlib.sha256()
    with store.open(key) as f:
        while block := f.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()


def copy(source: LocalStorage, target: S3Storage, key: str, sha256: str) -> str:
    """Copy one file from disk to the bucket, checked by its SHA-256 on both sides. Returns what
    became of it: ``copied``, ``present`` (already there, with the same bytes), ``missing`` (not on
    disk), ``mismatch`` (the file on disk is not what was recorded; not copied), or ``corrupted``
    (the bucket's copy differs from the disk's; it is deleted)."""
    try:
        if sha256_of(source, key) != sha256:
            return "mismatch"
    except Missing:
        return "missing"
    try:
        if target.exists(key) and sha256_of(target, key) == sha256:
            return "present"
    except Missing:
        pass
    target.put(key, source.path(key))
    if sha256_of(target, key) != sha256:
        target.delete(key)
        return "corrupted"
    return "copied"


COPY_OUTCOMES = ("copied", "present", "missing", "mismatch", "corrupted")
LISTED = 100  # problem keys listed per outcome; the counts are whole


def copy_all(source: LocalStorage, target: S3Storage, files: Iterator[tuple[str, str]]) -> dict:
    """``copy`` each (key, sha256): how many came to each outcome, and the first keys of each
    outcome that is a problem."""
    counts = dict.fromkeys(COPY_OUTCOMES, 0)
    problems: dict[str, list[str]] = {}
    for key, sha256 in files:
        outcome = copy(source, target, key, sha256)
        counts[outcome] += 1
        if outcome not in ("copied", "present") and len(problems.setdefault(outcome, [])) < LISTED:
            problems[outcome].append(key)
    return counts | ({"problems": problems} if problems else {})


class _Body:
    """An object's body as a file: read a block at a time, closed when the answer is sent."""

    def __init__(self, stream, size: int | None):
        self.stream, self.size = stream, size

    def read(self, size: int = -1) -> bytes:
        return self.stream.read(None if size is None or size < 0 else size)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _checked(key: str) -> str:
    """A key is a relative path of plain names: nothing that climbs out of the storage."""
    parts = key.split("/")
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts[:-1]) or parts[-1] in (".", ".."):
        raise ValueError(f"bad storage key {key!r}")
    return key


def from_config(config) -> LocalStorage | S3Storage:
    url = (config.get("STORAGE_URL") or "").strip()
    if not url or url.startswith("file:"):
        return LocalStorage(urlsplit(url).path if url.startswith("file:") and urlsplit(url).path else config["UPLOAD_DIR"])
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise Misconfigured(f"TRACKER_STORAGE_URL 应为 s3://存储桶/前缀，现在是 {url!r}。")
    prefix = parts.path.strip("/")
    return S3Storage(parts.netloc, prefix + "/" if prefix else "", endpoint_url=config.get("S3_ENDPOINT_URL"),
                     access_key=config.get("S3_ACCESS_KEY"), secret_key=config.get("S3_SECRET_KEY"),
                     region=config.get("S3_REGION"), timeout=float(config.get("S3_TIMEOUT_SECONDS") or 30))


def current() -> LocalStorage | S3Storage:
    """The app's storage (made once per app, on first use)."""
    app = current_app._get_current_object()
    storage = app.extensions.get("tracker_storage")
    if storage is None:
        storage = app.extensions["tracker_storage"] = from_config(app.config)
    return storage


def scratch_dir() -> Path:
    """A folder of this machine's disk for files being written or checked (``UPLOAD_DIR``)."""
    directory = Path(current_app.config["UPLOAD_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    return directory

"""A real S3 endpoint on 127.0.0.1 for the storage tests.

No MinIO server can be installed on this machine, so the tests run moto's standalone server
(``moto[server]``: an S3-compatible HTTP server) as a separate process; tracker's boto3 client talks
to it over HTTP exactly as it would to MinIO. What moto does not imitate (MinIO's own limits,
erasure coding) is not tested here.
"""

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass

import boto3

from tests.servers import free_port

ACCESS_KEY, SECRET_KEY = "tracker-test", "tracker-test-secret"


class S3Server:
    def __init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.process.kill()
        raise RuntimeError("moto's S3 server did not start")

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(10)

    def client(self):
        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            region_name="us-east-1")

    def new_bucket(self, prefix: str = "tracker") -> "Bucket":
        name = f"tracker-{uuid.uuid4().hex[:12]}"
        client = self.client()
        client.create_bucket(Bucket=name)
        return Bucket(self, client, name, prefix + "/")


@dataclass
class Bucket:
    server: S3Server
    client: object
    name: str
    prefix: str

    def config(self) -> dict:
        """The app's settings for this bucket (as TRACKER_* environment variables, without the prefix)."""
        return {"STORAGE_URL": f"s3://{self.name}/{self.prefix.rstrip('/')}", "S3_ENDPOINT_URL": self.server.url,
                "S3_ACCESS_KEY": ACCESS_KEY, "S3_SECRET_KEY": SECRET_KEY}

    def keys(self) -> set[str]:
        """Every key in the bucket, below the prefix."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return {entry["Key"].removeprefix(self.prefix) for page in pages for entry in page.get("Contents", [])}

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=self.prefix + key)["Body"].read()

    def write(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=self.prefix + key, Body=data)

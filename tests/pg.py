"""Helpers for the PostgreSQL test run: ``python tests/pg.py ensure URL`` creates the database
if it is missing and exits 0 when the server answers, 1 otherwise."""

import sys

import psycopg
from sqlalchemy.engine import make_url


def admin_conninfo(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    server = parsed.set(drivername="postgresql", database="postgres")
    return server.render_as_string(hide_password=False), parsed.database


def ensure_database(url: str) -> None:
    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def relax_durability(url: str) -> None:
    """A test database need not survive a power cut: its commits do not wait for the disk
    (synchronous_commit off; nothing else about the server's behaviour changes)."""
    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')


def drop_database(url: str) -> None:
    conninfo, name = admin_conninfo(url)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "ensure":
        sys.exit("usage: python tests/pg.py ensure URL")
    try:
        ensure_database(sys.argv[2])
    except psycopg.OperationalError as error:
        print(f"PostgreSQL: {error}".strip(), file=sys.stderr)
        sys.exit(1)

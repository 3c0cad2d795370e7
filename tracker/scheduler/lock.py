"""One scheduler per database, however many processes start: a file lock beside an SQLite
database, a session-level advisory lock on PostgreSQL. The operating system (or PostgreSQL)
releases it when the holding process dies, so a standby can take over."""

import contextlib
import logging
import threading
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

# pg_try_advisory_lock's key: any constant the other applications on the database don't use.
ADVISORY_KEY = 0x7472_6163_6B65_72  # "tracker"


class SchedulerLock:
    def __init__(self, database_url: str, instance_path: str):
        self.url = make_url(database_url)
        self.instance_path = instance_path
        self._file: FileLock | None = None
        self._connection = None
        self._asking = threading.Lock()  # jobs run in threads: one question at a time on the connection

    @property
    def description(self) -> str:
        if self.url.get_backend_name() == "postgresql":
            return f"PostgreSQL advisory lock {ADVISORY_KEY}"
        return f"file lock {self._lock_path()}"

    def _lock_path(self) -> Path:
        database = self.url.database if self.url.get_backend_name() == "sqlite" else None
        if database and database != ":memory:":
            # A relative SQLite path is relative to the instance folder (as Flask-SQLAlchemy
            # resolves it), whatever directory each process started in.
            return Path(self.instance_path) / (database + ".scheduler.lock")
        return Path(self.instance_path) / "scheduler.lock"

    def acquire(self) -> bool:
        """Take the lock without waiting. True if this process now holds it."""
        if self.url.get_backend_name() == "postgresql":
            engine = create_engine(self.url, poolclass=NullPool)
            connection = engine.connect()
            held = bool(connection.execute(select(func.pg_try_advisory_lock(ADVISORY_KEY))).scalar())
            connection.commit()  # the lock belongs to the session, not the transaction
            if held:
                self._connection = connection
            else:
                connection.close()
                engine.dispose()
            return held
        lock = FileLock(self._lock_path(), thread_local=False)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return False
        self._file = lock
        return True

    def still_held(self) -> bool:
        """Whether this process still holds the lock. A PostgreSQL restart (or a killed backend)
        drops the session and its advisory lock while this process runs on: it must stand down,
        or two schedulers would run. Asked before every job."""
        with self._asking:
            return self._still_held()

    def _still_held(self) -> bool:
        if self._connection is not None:
            try:
                held = self._connection.execute(text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND pid = pg_backend_pid())"
                )).scalar()
                self._connection.commit()
                return bool(held)
            except SQLAlchemyError:
                log.warning("the scheduler lock's connection is gone")
                return False
        return self._file is not None and self._file.is_locked

    def release(self) -> None:
        with self._asking:
            self._release()

    def _release(self) -> None:
        if self._connection is not None:
            engine = self._connection.engine
            with contextlib.suppress(SQLAlchemyError):  # already gone with the server
                self._connection.close()  # ends the session, and with it the advisory lock
            engine.dispose()
            self._connection = None
        if self._file is not None:
            self._file.release()
            self._file = None

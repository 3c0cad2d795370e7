"""The scheduler after PostgreSQL restarts: the advisory lock goes with the server's session, and
the scheduler that held it must stop before another takes over, or two would run. A restart is
what ``pg_terminate_backend`` does to the lock's session; the rest is real: the lock, the
scheduler, its jobs."""

import os
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from tests.test_reminder_sending import ZONE, D, owners_with_items
from tracker.extensions import db
from tracker.reminders import rules, services
from tracker.reminders.models import MessageStatus, OutboxMessage, ReminderPass
from tracker.scheduler import jobs
from tracker.scheduler.lock import ADVISORY_KEY, SchedulerLock
from tracker.scheduler.runner import InProcessScheduler

pytestmark = pytest.mark.skipif(not os.environ.get("TRACKER_TEST_DATABASE_URL"), reason="advisory locks are PostgreSQL's")


def _kill_lock_session(database_url: str) -> int:
    """End the server session holding the scheduler's advisory lock of this database (advisory
    locks are per database; other pytest-xdist workers hold theirs), as a restart would."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            killed = connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objid = :low AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"low": ADVISORY_KEY & 0xFFFFFFFF}).all()
            connection.commit()
            return len(killed)
    finally:
        engine.dispose()


def test_a_lock_lost_with_its_session_is_noticed(app, database_url):
    lock = SchedulerLock(database_url, app.instance_path)
    assert lock.acquire() and lock.still_held()
    assert _kill_lock_session(database_url) == 1
    assert not lock.still_held()
    other = SchedulerLock(database_url, app.instance_path)
    assert other.acquire()  # the lock is free again: another scheduler may take it
    lock.release()
    other.release()


def test_a_scheduler_that_lost_its_lock_runs_no_job_and_stands_by(app, make, org, database_url):
    owners_with_items(make, org, 1, "inapp")
    services.run_pass(D, make.now, rules.current_rule(app.config), ZONE)
    # Today's pass counts as done, so that the catch-up job run at start (past TRACKER_REMIND_AT)
    # leaves the outbox alone: what is sent or not is up to the drain this test calls.
    db.session.add(ReminderPass(day=make.today, window_start=make.today, window_end=make.today, started_at=make.now))
    db.session.commit()
    first = InProcessScheduler(app)
    first.retry_seconds = 0.5
    first.start()
    try:
        assert first.scheduler is not None
        # Let the catch-up job run at start be done with: a scheduler shut down while it removes a
        # one-off job raises JobLookupError in its own thread (an APScheduler race, not ours).
        for _ in range(100):
            if first.scheduler.get_job(jobs.CATCH_UP) is None:
                break
            time.sleep(0.05)
        drain = first.scheduler.get_job(jobs.DRAIN)
        assert _kill_lock_session(database_url) == 1
        second = SchedulerLock(database_url, app.instance_path)
        assert second.acquire()  # another process takes over, as it would after the restart

        drain.func()  # the next minute's drain, in the scheduler that lost the lock
        assert first.stood_down.is_set() and first.scheduler is None
        db.session.expire_all()
        assert db.session.scalar(select(OutboxMessage.status)) is MessageStatus.pending  # it sent nothing

        time.sleep(1.5)  # standing by, it keeps trying; the other holds the lock, so it waits
        assert first.scheduler is None
        second.release()
        for _ in range(40):
            if first.scheduler is not None:
                break
            time.sleep(0.1)
        assert first.scheduler is not None  # the lock is free: it takes over again
        holders = db.session.execute(select(func.count()).select_from(text("pg_locks"))
                                     .where(text("locktype = 'advisory' AND granted AND database = "
                                                 "(SELECT oid FROM pg_database WHERE datname = current_database())"))).scalar()
        assert holders == 1
    finally:
        first.stop()

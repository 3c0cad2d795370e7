"""Running the scheduler: in the web process (TRACKER_SCHEDULER=on) or alone
(``flask --app wsgi tracker scheduler``). Whichever way, a lock lets only one run per database;
a process that doesn't get it stands by and retries, so another takes over if the holder stops.

Missed runs are coalesced: APScheduler runs a late job once however late it is, and on start a
pass missed while nothing was running is caught up once (and that pass itself owes what the
missed days owed, see ``tracker.reminders.services.pass_window``)."""

import atexit
import functools
import logging
import os
import threading
from collections.abc import Callable
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask

from tracker import clock
from tracker.reminders import rules
from tracker.scheduler import jobs
from tracker.scheduler.lock import SchedulerLock
from tracker.web.params import is_on

log = logging.getLogger(__name__)

STANDBY_RETRY_SECONDS = 60
JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


def _daily_trigger(remind_at: str, zone) -> CronTrigger:
    hour, minute = remind_at.split(":")
    return CronTrigger(hour=int(hour), minute=int(minute), timezone=zone)


def configure(app: Flask, scheduler: BaseScheduler, *, still_ours: Callable[[], bool] | None = None) -> None:
    """Register the jobs (stable ids, see ``tracker.scheduler.jobs``). ``still_ours`` is asked
    before every run: once it says False (the lock is lost), no job runs in this scheduler."""
    with app.app_context():
        zone = clock.local_zone()
        remind_at = rules.current_rule(app.config).remind_at
        now = datetime.now(zone)
    state = {"remind_at": remind_at}

    def guarded(job):
        if still_ours is None:
            return job

        @functools.wraps(job)
        def run(*args, **kwargs):
            if still_ours():
                return job(*args, **kwargs)
            return None

        return run

    def drain_and_follow_settings() -> None:
        jobs.drain_outbox(app)
        with app.app_context():  # an admin may have moved the daily time on the settings page
            wanted = rules.current_rule(app.config).remind_at
        if wanted != state["remind_at"]:
            scheduler.reschedule_job(jobs.DAILY_PASS, trigger=_daily_trigger(wanted, zone))
            state["remind_at"] = wanted
            log.info("daily reminder pass moved to %s", wanted)

    scheduler.add_job(guarded(jobs.daily_pass), _daily_trigger(remind_at, zone), args=[app], id=jobs.DAILY_PASS,
                      name="每日提醒", replace_existing=True)
    scheduler.add_job(guarded(drain_and_follow_settings), IntervalTrigger(minutes=1, timezone=zone), id=jobs.DRAIN,
                      name="发送站内通知和群消息", replace_existing=True)
    scheduler.add_job(guarded(jobs.drain_email), IntervalTrigger(minutes=1, timezone=zone), args=[app],
                      id=jobs.DRAIN_EMAIL, name="发送邮件", replace_existing=True)
    scheduler.add_job(guarded(jobs.daily_housekeeping), CronTrigger(hour=3, minute=30, timezone=zone), args=[app],
                      id=jobs.HOUSEKEEPING, name="清理过期记录", replace_existing=True)
    scheduler.add_job(guarded(jobs.year_end), CronTrigger(month=1, day=1, hour=2, minute=0, timezone=zone), args=[app],
                      id=jobs.YEAR_END, name="年度结转", replace_existing=True)
    minutes = float(app.config.get("STATS_REFRESH_MINUTES", 1))
    scheduler.add_job(guarded(jobs.stats_refresh), IntervalTrigger(minutes=minutes, timezone=zone), args=[app],
                      id=jobs.STATS_REFRESH, name="刷新统计", replace_existing=True, next_run_time=now)
    scheduler.add_job(guarded(jobs.urge_auto), CronTrigger(hour=8, minute=0, timezone=zone), args=[app],
                      id=jobs.URGE_AUTO, name="按督办规则发督办单", replace_existing=True)
    scheduler.add_job(guarded(jobs.bulletin_monthly), CronTrigger(day=1, hour=8, minute=30, timezone=zone), args=[app],
                      id=jobs.BULLETIN_MONTHLY, name="每月情况通报", replace_existing=True)
    scheduler.add_job(guarded(jobs.year_end_catch_up), args=[app], id=jobs.YEAR_END_CATCH_UP, name="补做年度结转",
                      next_run_time=now)
    hour, minute = (int(p) for p in remind_at.split(":"))
    if (now.hour, now.minute) >= (hour, minute):
        scheduler.add_job(guarded(jobs.catch_up), args=[app], id=jobs.CATCH_UP, name="补发当日提醒", next_run_time=now)


class InProcessScheduler:
    """The scheduler inside a web process, if this process wins the lock; otherwise a standby
    thread that tries again every minute."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = SchedulerLock(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._guard = threading.Lock()
        self.stood_down = threading.Event()  # set when a lost lock made this scheduler stop
        self.retry_seconds = STANDBY_RETRY_SECONDS

    def start(self) -> None:
        if not self._try_start():
            log.info("another process runs the scheduler (%s); this one stands by", self.lock.description)
            threading.Thread(target=self._standby, name="tracker-scheduler-standby", daemon=True).start()
        atexit.register(self.stop)

    def _try_start(self) -> bool:
        if not self.lock.acquire():
            return False
        self.scheduler = BackgroundScheduler(timezone=clock_zone(self.app), job_defaults=JOB_DEFAULTS)
        configure(self.app, self.scheduler, still_ours=self._still_ours)
        self.scheduler.start()
        log.info("scheduler started in process %s (%s)", os.getpid(), self.lock.description)
        return True

    def _still_ours(self) -> bool:
        """Before each job: the lock must still be held. Lost (a database restart), this scheduler
        stops and this process stands by again, as at start."""
        with self._guard:
            if self.scheduler is None:
                return False
            if self.lock.still_held():
                return True
            log.warning("the scheduler lost its lock (%s): standing down", self.lock.description)
            scheduler, self.scheduler = self.scheduler, None
            scheduler.shutdown(wait=False)
            self.lock.release()
            self.stood_down.set()
        threading.Thread(target=self._standby, name="tracker-scheduler-standby", daemon=True).start()
        return False

    def _standby(self) -> None:
        while not self._stop.wait(self.retry_seconds):
            if self._try_start():
                return

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        self.lock.release()


def clock_zone(app: Flask):
    with app.app_context():
        return clock.local_zone()


def should_start_in_process(app: Flask) -> bool:
    """TRACKER_SCHEDULER=on, and this process serves requests: not the watching parent of
    Werkzeug's reloader (its child serves)."""
    if not is_on(app.config.get("SCHEDULER", "on")):
        return False
    # Under --debug, only the reloader's child serves; its parent watches files and must not
    # schedule (with --debug --no-reload, use --no-debug or the separate scheduler command).
    return not (app.debug and os.environ.get("WERKZEUG_RUN_MAIN") != "true")


def run_in_process(app: Flask) -> InProcessScheduler | None:
    """Start the scheduler beside the web server of this process (it stands by while another
    process holds the lock). Called by the entry points that serve: ``flask … tracker serve``
    (what scripts/run starts) and gunicorn's ``post_worker_init`` hook in gunicorn.conf.py;
    never by ``create_app``, so that commands, tests and scripts start none."""
    if not should_start_in_process(app):
        return None
    runner = InProcessScheduler(app)
    runner.start()
    app.extensions["tracker_scheduler"] = runner
    return runner


def run_alone(app: Flask) -> None:
    """``flask --app wsgi tracker scheduler``: wait for the lock, then run in the foreground; if the
    lock is lost (a database restart), stop the jobs and wait for the lock again."""
    lock = SchedulerLock(app.config["SQLALCHEMY_DATABASE_URI"], app.instance_path)
    stop = threading.Event()
    while True:
        while not lock.acquire():
            log.info("another scheduler holds %s; retrying in %s s", lock.description, STANDBY_RETRY_SECONDS)
            if stop.wait(STANDBY_RETRY_SECONDS):
                return
        scheduler = BlockingScheduler(timezone=clock_zone(app), job_defaults=JOB_DEFAULTS)
        lost = threading.Event()

        def still_ours(scheduler=scheduler, lost=lost) -> bool:
            if lock.still_held():
                return True
            log.warning("the scheduler lost its lock (%s): standing down", lock.description)
            lost.set()
            scheduler.shutdown(wait=False)
            return False

        configure(app, scheduler, still_ours=still_ours)
        log.info("scheduler running in the foreground (process %s, %s); Ctrl-C stops it", os.getpid(), lock.description)
        try:
            scheduler.start()
        except (KeyboardInterrupt, SystemExit):
            return
        finally:
            lock.release()
        if not lost.is_set():
            return

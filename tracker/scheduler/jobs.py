"""The registry of periodic jobs, with stable ids. Each job is thin: an app context around a
call into the reminders, rollover or housekeeping code."""

import logging

from flask import Flask

from tracker import clock, housekeeping
from tracker.extensions import db
from tracker.reminders import jobs as reminders
from tracker.reminders.services import EMAIL
from tracker.rollover import jobs as rollover
from tracker.stats import cells
from tracker.urging import jobs as urging

log = logging.getLogger(__name__)

DAILY_PASS = "reminders.daily_pass"  # at TRACKER_REMIND_AT (or the settings page's time), local
DRAIN = "reminders.drain_outbox"  # every minute: the bell and the robots
DRAIN_EMAIL = "reminders.drain_email"  # every minute, apart: a stalled mail server holds only itself
HOUSEKEEPING = "housekeeping.daily"  # 03:30 local: old sign-in log lines, ended sessions, orphan files
CATCH_UP = "reminders.catch_up"  # once at start, if today's pass was missed
YEAR_END = "rollover.year_end"  # 1 January, 02:00 local
YEAR_END_CATCH_UP = "rollover.catch_up"  # once at start, in January, if the rollover was missed
URGE_AUTO = "urging.auto_issue"  # 08:00 local, when the 督办规则 turns it on
BULLETIN_MONTHLY = "urging.monthly_bulletin"  # the 1st, 08:30 local, when the 督办规则 turns it on
STATS_REFRESH = "stats.refresh"  # every STATS_REFRESH_MINUTES (1): the roll-up today's dashboards read


def daily_pass(app: Flask) -> None:
    with app.app_context():
        run = reminders.remind()
        log.info("reminder pass %s", run.to_json())


def drain_outbox(app: Flask) -> None:
    with app.app_context():
        drained = reminders.drain_outbox()
        if drained.sent or drained.failed or drained.retry or drained.skipped or drained.unknown:
            log.info("outbox drained: %s", drained)


def drain_email(app: Flask) -> None:
    with app.app_context():
        drained = reminders.drain_outbox(EMAIL)
        if drained.done:
            log.info("email drained: %s", drained)


def daily_housekeeping(app: Flask) -> None:
    with app.app_context():
        log.info("housekeeping %s", housekeeping.run())


def catch_up(app: Flask) -> None:
    """On start: if today's pass time has passed and no pass ran today (the server was down),
    run it now, once, however many runs were missed."""
    with app.app_context():
        if not reminders.passed_today():
            log.info("catching up today's reminder pass missed while tracker was not running")
            daily_pass(app)


def year_end(app: Flask) -> None:
    with app.app_context():
        log.info("year-end rollover %s", rollover.year_end().to_json())


def year_end_catch_up(app: Flask) -> None:
    with app.app_context():
        result = rollover.catch_up()
        if result is not None:
            log.info("year-end rollover (caught up) %s", result.to_json())


def urge_auto(app: Flask) -> None:
    with app.app_context():
        issued = urging.auto_issue(clock.local_today(), clock.utcnow())
        if issued:
            log.info("issued %s suggested 督办单", issued)


def bulletin_monthly(app: Flask) -> None:
    with app.app_context():
        sent = urging.monthly_bulletins(clock.local_today(), clock.utcnow())
        if sent:
            log.info("monthly bulletins to %s supervisors", sent)


def stats_refresh(app: Flask) -> None:
    with app.app_context():
        result = cells.refresh(db.session.connection(), clock.local_today(), clock.utcnow())
        db.session.commit()
        if result["seconds"] > 5:
            log.info("roll-up rebuilt slowly: %s", result)

"""What the scheduler and the ``remind`` command run: a pass, committed, then a drain."""

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select

from tracker import clock
from tracker.extensions import db
from tracker.reminders import rules, services
from tracker.reminders.models import ReminderPass


@dataclass
class ReminderRun:
    passed: services.PassResult
    drained: services.DrainResult

    def to_json(self) -> dict:
        """CONTRACT.md's answer of ``remind``: counts of this run's new messages and outcomes."""
        return {
            "date": self.passed.day.isoformat(),
            "recipients": self.passed.recipients,
            "messages": self.passed.messages,
            "sent": self.drained.sent,
            "skipped": self.drained.skipped,
            "failed": self.drained.failed,
            "unknown": self.drained.unknown,  # taken by the mail server, never confirmed: resent hours later
            "pending": services.pending_count(),
            "window": None if self.passed.window is None else [d.isoformat() for d in self.passed.window],
        }


def remind(day: date | None = None) -> ReminderRun:
    """One reminder pass for ``day`` (default today), then send what the outbox holds: the bell and
    the robots first, then email."""
    config = current_app.config
    day = day or clock.local_today()
    rule = rules.current_rule(config)
    passed = services.run_pass(day, clock.utcnow(), rule, clock.local_zone())
    db.session.commit()
    return ReminderRun(passed, services.drain(config))


def plan(day: date | None = None) -> services.PassResult:
    """Decide only, for ``--dry-run``: nothing is written or sent."""
    config = current_app.config
    day = day or clock.local_today()
    result = services.run_pass(day, clock.utcnow(), rules.current_rule(config), clock.local_zone(), dry_run=True)
    db.session.rollback()
    return result


def drain_outbox(channels=services.NOT_EMAIL) -> services.DrainResult:
    """One drain by the scheduler: of the bell and the robots, or of email (its own job)."""
    config = current_app.config
    return services.drain(config, channels=channels, seconds=float(config.get("DRAIN_SECONDS", 50)))


def passed_today() -> bool:
    return db.session.scalar(select(ReminderPass.id).where(ReminderPass.day == clock.local_today())) is not None

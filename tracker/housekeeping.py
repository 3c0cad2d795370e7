"""Daily housekeeping: what is kept only for a while, and what a crash can leave behind."""

from datetime import timedelta

from flask import current_app

from tracker import clock
from tracker.exports import background
from tracker.extensions import db
from tracker.importing import originals
from tracker.items import evidence
from tracker.org import signin
from tracker.reminders import services as reminders


def run() -> dict:
    """Forget old sign-in log lines and ended sessions, and notifications and sent messages older
    than NOTIFICATION_KEEP_DAYS (180); remove upload files that no evidence row
    names (a worker killed between writing a file and committing its row), and report files no
    report names a day after they were read (previews never confirmed), and ledgers exported
    more than EXPORT_KEEP_HOURS ago. Commits."""
    now = clock.utcnow()
    done = signin.prune(now, keep_days=int(current_app.config.get("SIGN_IN_LOG_DAYS", 365)))
    done.update(reminders.prune(now, keep_days=int(current_app.config.get("NOTIFICATION_KEEP_DAYS", 180))))
    db.session.commit()
    done["orphan_files"] = evidence.remove_orphan_files(now=now, older_than=timedelta(hours=1))
    done["unclaimed_reports"] = originals.remove_unclaimed(now=now, older_than=timedelta(days=1))
    done["expired_exports"] = background.remove_expired(now=now)
    return done

"""What the scheduler runs at year end: last year's rollover over all units, committed."""

import logging
from datetime import date

from tracker import clock
from tracker.extensions import db
from tracker.rollover import services
from tracker.rollover.models import RolloverSource

log = logging.getLogger(__name__)


def year_end(today: date | None = None) -> services.RolloverResult:
    """On 1 January: carry last year's open items into this year (running twice changes nothing)."""
    today = today or clock.local_today()
    result = services.carry_over_year(clock.year_just_ended(today), today=today, now=clock.utcnow(), source=RolloverSource.scheduler)
    db.session.commit()
    return result


def catch_up(today: date | None = None) -> services.RolloverResult | None:
    """At start, in January: last year's rollover if none over all units has run yet."""
    today = today or clock.local_today()
    year = services.year_end_due(today)
    if year is None:
        return None
    log.info("catching up the rollover of %s missed while tracker was not running", year)
    result = services.carry_over_year(year, today=today, now=clock.utcnow(), source=RolloverSource.scheduler)
    db.session.commit()
    return result

"""Imports every model so that the metadata (and Alembic) see them all."""

from tracker.exports.models import LedgerExport  # noqa: F401
from tracker.importing.models import CategoryRule  # noqa: F401
from tracker.items import states  # noqa: F401  (keeps item_states with every flush)
from tracker.items.models import (  # noqa: F401
    CarryOver,
    Category,
    Evidence,
    ExtensionRequest,
    Item,
    ItemCategory,
    ItemEvent,
    ItemState,
    Report,
)
from tracker.org.models import (  # noqa: F401
    ApiToken,  # noqa: F401
    Role,
    Unit,
    User,
)
from tracker.reminders import events  # noqa: F401  (tells people what happened to their items)
from tracker.reminders.models import (  # noqa: F401
    CalendarDay,
    ChatRobot,
    DeliveryAttempt,
    Notification,
    OutboxMessage,
    ReminderPass,
    ReminderSettings,
)
from tracker.rollover.models import RolloverRun  # noqa: F401
from tracker.stats.cells import RollupRun, cells  # noqa: F401
from tracker.urging.models import Urge, UrgeCounter, UrgeRule  # noqa: F401

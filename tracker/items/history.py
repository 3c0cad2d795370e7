"""Writing and describing history rows. Every change to an item goes through :func:`record`."""

from datetime import date, datetime
from typing import Any

from blinker import Namespace

from tracker.extensions import db
from tracker.formats import chinese_date
from tracker.items.models import EventAction, Item, ItemEvent, MeasureType
from tracker.org.models import User

FIELD_TITLES = {
    "title": "标题",
    "text": "问题描述",
    "measures": "整改措施",
    "deadline": "整改时限",
    "owner": "责任人",
    "categories": "问题类别",
    "unit": "责任单位",
    "leader": "责任领导",
    "co_units": "配合单位",
    "measure_type": "整改类型",
    "review_every_days": "进展报送周期（天）",
}


signals = Namespace()
# Sent with each history row as it is recorded, in its transaction: the domains above items
# (reminders: event notifications) tell people what happened, without items knowing of them.
recorded = signals.signal("item-recorded")


def record(
    item: Item,
    actor: User | None,
    action: EventAction,
    *,
    now: datetime,
    comment: str = "",
    details: dict[str, Any] | None = None,
) -> ItemEvent:
    event = ItemEvent(
        item=item,
        actor_id=actor.id if actor else None,
        action=action,
        at=now,
        comment=comment,
        details=details or {},
    )
    db.session.add(event)
    recorded.send(event, item=item, actor=actor)
    return event


def action_title(action: EventAction) -> str:
    return action.title


def describe(event: ItemEvent) -> list[str]:
    """Readable lines for an event's details, e.g. "整改时限：2024-06-30 → 2024-09-30"."""
    details = event.details or {}
    lines = []
    if event.action is EventAction.edit:
        for field, change in details.items():
            old, new = change.get("old_name", change.get("old")), change.get("new_name", change.get("new"))
            if field == "deadline":
                old, new = _date(old), _date(new)
            if field == "measure_type":
                old, new = _measure_title(old), _measure_title(new)
            if field in ("text", "measures") and (len(old or "") > 40 or len(new or "") > 40):
                lines.append(f"{FIELD_TITLES.get(field, field)}：已修改")
            else:
                lines.append(f"{FIELD_TITLES.get(field, field)}：{_show(old)} → {_show(new)}")
    elif event.action is EventAction.request_extension:
        lines.append(f"申请将整改时限由{_date(details.get('old_deadline'))}延至{_date(details.get('new_deadline'))}")
    elif event.action is EventAction.approve_extension:
        lines.append(f"整改时限：{_date(details.get('old_deadline'))} → {_date(details.get('new_deadline'))}")
    elif event.action is EventAction.reject_extension:
        lines.append(f"申请延至{_date(details.get('new_deadline'))}未获批准，整改时限仍为{_date(details.get('old_deadline'))}")
    if details.get("extension_withdrawn"):
        lines.append(f"待审批的延期申请（延至{details['extension_withdrawn']}）随销号自动撤销")
    if event.action is EventAction.submit and details.get("summary"):
        lines.append(f"整改完成情况：{details['summary']}")
    if event.action is EventAction.carry_over:
        lines.append(f"未在{details.get('from_year')}年度完成，结转至{details.get('to_year')}年度继续整改（上年度遗留）")
    if event.action in (EventAction.evidence_added, EventAction.evidence_removed) and details.get("filename"):
        lines.append(f"文件：{details['filename']}")
    return lines


def _date(value: str | None) -> str:
    """"2024-06-30" → "2024年6月30日"."""
    if not value:
        return "（未定）"
    return chinese_date(date.fromisoformat(value))


def _measure_title(value) -> str:
    try:
        return MeasureType(value).title
    except ValueError:
        return value


def _show(value) -> str:
    if value is None or value == "" or value == []:
        return "（空）"
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)

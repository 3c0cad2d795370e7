"""The item state machine (CONTRACT.md): the only code that changes ``Item.status``.

Every door (pages, API, CLI) calls :func:`perform`; templates ask :func:`available_actions`.
"""

import enum
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from tracker import clock
from tracker.errors import Conflict, Forbidden, Invalid
from tracker.extensions import db
from tracker.formats import iso
from tracker.items import permissions
from tracker.items.history import record
from tracker.items.models import (
    EventAction,
    Evidence,
    ExtensionRequest,
    ExtensionStatus,
    Item,
    ItemEvent,
    ReviewStage,
    Status,
    lock_item,
)
from tracker.org.models import User
from tracker.org.queries import two_level_review


class Action(enum.Enum):
    start = "start"
    submit = "submit"
    approve_first = "approve_first"
    approve = "approve"
    return_ = "return"
    reopen = "reopen"
    withdraw = "withdraw"
    request_extension = "request_extension"
    approve_extension = "approve_extension"
    reject_extension = "reject_extension"

    @property
    def title(self) -> str:
        return TRANSITIONS[self].title


class Who(enum.Enum):
    owner = "owner"
    reviewer = "reviewer"  # a supervisor over the item's unit who is not its owner


ALL_BUT_CLOSED = frozenset({Status.open, Status.in_progress, Status.pending_review})


@dataclass(frozen=True)
class Transition:
    """One row of the state machine, with the words and looks of its form on the item page."""

    title: str  # the button, and "已…" after it: the history's title of the action
    sources: frozenset[Status]
    target: Status | None  # None: the status does not change
    who: Who
    needs_comment: bool = False
    needs_summary: bool = False  # and at least one piece of evidence
    needs_deadline: bool = False
    needs_pending_extension: bool = False
    button: str = "btn-outline-primary"  # Bootstrap classes of the button
    comment_label: str | None = "意见（可选）"  # None: no comment box
    comment_needed: str = ""  # the sentence when a needed comment is missing
    confirm: str | None = None  # asked in the browser before the form is sent
    folded: bool = False  # the form stays closed under its title until opened
    stages: frozenset[ReviewStage] | None = None  # the review stages it is taken at (None: any)


GO, STOP = "btn-success", "btn-outline-danger"

TRANSITIONS: dict[Action, Transition] = {
    Action.start: Transition(EventAction.start.title, frozenset({Status.open}), Status.in_progress, Who.owner, button=GO,
                             comment_label=None),
    Action.submit: Transition(
        EventAction.submit.title, frozenset({Status.in_progress}), Status.pending_review, Who.owner,
        needs_summary=True, button=GO, comment_label=None,
    ),
    Action.approve_first: Transition(
        EventAction.approve_first.title, frozenset({Status.pending_review}), Status.pending_review, Who.reviewer,
        button=GO, confirm="确认佐证材料已核实，初审通过并报上级单位复审？", stages=frozenset({ReviewStage.first}),
    ),
    Action.approve: Transition(
        EventAction.approve.title, frozenset({Status.pending_review}), Status.closed, Who.reviewer, button=GO,
        confirm="确认佐证材料已核实，审核通过并销号？", stages=frozenset({ReviewStage.single, ReviewStage.second}),
    ),
    Action.return_: Transition(
        EventAction.return_.title, frozenset({Status.pending_review}), Status.in_progress, Who.reviewer,
        needs_comment=True, button=STOP, comment_label="退回意见（必填）", comment_needed="请填写退回意见。",
    ),
    Action.withdraw: Transition(
        EventAction.withdraw.title, frozenset({Status.pending_review}), Status.in_progress, Who.owner,
        comment_label="撤回理由（可选）", confirm="确认撤回销号申请？撤回后可继续整改、补充材料后再提交。", folded=True,
    ),
    Action.reopen: Transition(
        EventAction.reopen.title, frozenset({Status.closed}), Status.in_progress, Who.reviewer, needs_comment=True,
        comment_label="重新打开的理由（必填）", comment_needed="请填写重新打开的理由。",
    ),
    Action.request_extension: Transition(
        EventAction.request_extension.title, ALL_BUT_CLOSED, None, Who.owner, needs_comment=True, needs_deadline=True,
        comment_label="延期理由（必填）", comment_needed="请填写延期理由。", folded=True,
    ),
    Action.approve_extension: Transition(
        EventAction.approve_extension.title, ALL_BUT_CLOSED, None, Who.reviewer, needs_pending_extension=True, button=GO,
    ),
    Action.reject_extension: Transition(
        EventAction.reject_extension.title, ALL_BUT_CLOSED, None, Who.reviewer, needs_pending_extension=True, button=STOP,
    ),
}

COMMENT_MAX = 2000


def parse_action(value: str) -> Action:
    try:
        return Action(value)
    except ValueError:
        raise Invalid("未知的操作。", field="action") from None


def pending_extension(item: Item) -> ExtensionRequest | None:
    return db.session.scalar(
        select(ExtensionRequest).where(
            ExtensionRequest.item_id == item.id,
            ExtensionRequest.status == ExtensionStatus.pending,
        )
    )


# Under 两级审核 the second review (approve or return) is the upper level's alone.
SECOND_REVIEW = frozenset({Action.approve, Action.return_})


def _actor_allowed(user: User, item: Item, action: Action) -> bool:
    if TRANSITIONS[action].who is Who.owner:
        return permissions.is_owner(user, item)
    if action in SECOND_REVIEW and item.review_stage == ReviewStage.second:
        return permissions.can_review_second(user, item)
    return permissions.can_review_item(user, item)


def _at_stage(item: Item, rule: Transition) -> bool:
    return rule.stages is None or item.status is not Status.pending_review or ReviewStage(item.review_stage) in rule.stages


def available_actions(user: User, item: Item, pending: ExtensionRequest | None) -> list[Action]:
    """The actions ``user`` may take on ``item`` now; ``pending`` is its open extension request."""
    actions = []
    for action, rule in TRANSITIONS.items():
        if item.status not in rule.sources or not _at_stage(item, rule) or not _actor_allowed(user, item, action):
            continue
        if rule.needs_pending_extension and pending is None:
            continue
        if action is Action.request_extension and pending is not None:
            continue
        actions.append(action)
    return actions


def perform(
    item: Item,
    action: Action,
    actor: User,
    *,
    now: datetime,
    today: date,
    comment: str = "",
    summary: str = "",
    deadline: date | None = None,
    expected_version: int | None = None,
) -> ItemEvent:
    """Apply ``action`` to ``item`` as ``actor`` and record it in the history.

    Raises Forbidden (the actor may not take it), Conflict (not allowed in this status, or the
    item changed since the actor read version ``expected_version``) or Invalid (a missing or
    wrong input, with the field named). Nothing is changed when it raises. Flushes, never commits.
    """
    rule = TRANSITIONS[action]
    comment = (comment or "").strip()
    summary = (summary or "").strip()
    lock_item(item)  # the status, version and evidence checked below stay as read until commit

    if not _actor_allowed(actor, item, action):
        if rule.who is Who.owner:
            raise Forbidden("只有该事项的责任人才能执行此操作。")
        if permissions.is_owner(actor, item) and permissions.can_supervise_item(actor, item):
            raise Forbidden("责任人不能审核自己的事项。")
        if item.first_approver_id == actor.id:
            raise Forbidden("您已做过初审，复审须由上级单位的督办人进行。")
        if permissions.can_review_item(actor, item):
            raise Forbidden("复审须由初审单位的上级单位督办人进行。")
        raise Forbidden("只有上级督办人才能执行此操作。")
    if expected_version is not None and expected_version != item.version:
        raise Conflict("该事项在您打开页面后已有变动，请刷新页面后重试。")
    if item.status not in rule.sources:
        raise Conflict(f"事项当前状态为“{item.status.title}”，不能{rule.title}。")
    if not _at_stage(item, rule):
        raise Conflict(f"该事项{ReviewStage(item.review_stage).title or '只需一级审核'}，不能{rule.title}。")
    if len(comment) > COMMENT_MAX or len(summary) > COMMENT_MAX:
        raise Invalid(f"说明不能超过{COMMENT_MAX}字。", field="summary" if len(summary) > COMMENT_MAX else "comment")
    if rule.needs_comment and not comment:
        raise Invalid(rule.comment_needed, field="comment")
    if rule.needs_summary:
        if not summary:
            raise Invalid("请填写整改完成情况。", field="summary")
        evidence_count = db.session.scalar(
            select(func.count(Evidence.id)).where(
                Evidence.item_id == item.id, Evidence.removed_at.is_(None)
            )
        )
        if not evidence_count:
            raise Invalid("请先上传至少一份佐证材料，再提交销号申请。", field="evidence")

    details: dict = {}
    pending = pending_extension(item) if action in _EXTENSION_ACTIONS or action is Action.approve else None

    if action is Action.request_extension:
        if pending is not None:
            raise Conflict("已有一项延期申请等待审批。")
        _check_new_deadline(item, deadline, today)
        db.session.add(
            ExtensionRequest(
                item=item, requested_by_id=actor.id, requested_at=now,
                old_deadline=item.deadline, new_deadline=deadline, reason=comment,
            )
        )
        details = {"old_deadline": iso(item.deadline), "new_deadline": iso(deadline)}
    elif action in (Action.approve_extension, Action.reject_extension):
        if pending is None:
            raise Conflict("没有等待审批的延期申请。")
        approved = action is Action.approve_extension
        pending.status = ExtensionStatus.approved if approved else ExtensionStatus.rejected
        pending.decided_by_id = actor.id
        pending.decided_at = now
        pending.decision_comment = comment
        details = {"old_deadline": iso(item.deadline), "new_deadline": iso(pending.new_deadline)}
        if approved:
            item.deadline = pending.new_deadline
    elif action is Action.submit:
        item.summary = summary
        item.returned_comment = item.returned_at = None  # resubmitted: no longer 已退回
        item.review_stage = ReviewStage.first if two_level_review(item.unit) else ReviewStage.single
        details = {"summary": summary}
    elif action is Action.approve_first:
        item.review_stage, item.first_approver_id, item.first_review_unit_id = ReviewStage.second, actor.id, actor.unit_id
    elif action is Action.return_:
        item.returned_comment, item.returned_at = comment, now
    elif action is Action.approve:
        item.closed_at, item.closed_on, item.closed_deadline = now, today, item.deadline
        if pending is not None:  # a closed item needs no later deadline
            pending.status = ExtensionStatus.withdrawn
            pending.decided_by_id = actor.id
            pending.decided_at = now
            pending.decision_comment = "事项已销号，延期申请自动撤销。"
            details = {"extension_withdrawn": iso(pending.new_deadline)}
    elif action is Action.reopen:
        item.closed_at = item.closed_on = item.closed_deadline = None
    if action is Action.approve:
        item.returned_comment = item.returned_at = None
    if action in (Action.approve, Action.return_, Action.withdraw):  # the review is over
        item.review_stage, item.first_approver_id, item.first_review_unit_id = ReviewStage.single, None, None

    if rule.target is not None:
        details = {"from": item.status.value, "to": rule.target.value, **details}
        item.status = rule.target
    item.updated_at = now
    event = record(item, actor, EventAction(action.value), now=now, comment=comment, details=details)
    db.session.flush()
    return event


def start_on_work(item: Item, actor: User, *, now: datetime) -> ItemEvent | None:
    """The owner's first progress note or evidence file starts an open item (开始整改), as the
    start button would, with its own history row; None when there is nothing to start."""
    if item.status is not Status.open or not permissions.is_owner(actor, item):
        return None
    return perform(item, Action.start, actor, now=now, today=clock.to_local(now).date())


def as_brought_in(item: Item, status: Status, actor: User | None, *, now: datetime, closed_on: date | None = None
                  ) -> ItemEvent | None:
    """The status a problem already had in the ledger an office brought in (导入台账): 整改中, or
    已销号 on the day the ledger says (else the import's). It is a new item's first status, not
    a step of the review loop, and the history says it was brought in. None for 待整改."""
    if item.status is not Status.open or status is Status.open:
        return None
    if status is Status.closed:
        day = closed_on or clock.to_local(now).date()
        item.closed_at, item.closed_on, item.closed_deadline = clock.day_start(day), day, item.deadline
        action = EventAction.approve
    elif status is Status.in_progress:
        action = EventAction.start
    else:
        raise Invalid("导入的事项只能是待整改、整改中或已销号。", field="status")
    details = {"from": item.status.value, "to": status.value, "imported": True}
    item.status, item.updated_at = status, now
    event = record(item, actor, action, now=now, comment="导入台账时的状态", details=details)
    db.session.flush()
    return event


_EXTENSION_ACTIONS = frozenset({Action.request_extension, Action.approve_extension, Action.reject_extension})


def _check_new_deadline(item: Item, deadline: date | None, today: date) -> None:
    if deadline is None:
        raise Invalid("请填写申请延期到的日期。", field="deadline")
    if deadline < today:
        raise Invalid("延期后的整改时限不能早于今天。", field="deadline")
    if item.deadline is not None and deadline <= item.deadline:
        raise Invalid("延期后的整改时限必须晚于当前整改时限。", field="deadline")



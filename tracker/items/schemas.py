"""Items, evidence and history as the JSON API gives and takes them (CONTRACT.md), one pydantic
model per resource: ``dump`` builds the answer, ``parse`` checks a request body, and the OpenAPI
components (``tracker.api.openapi``) are generated from the same classes, with the enums' values
taken from the Python enums.

Request fields are read with ``tracker.web.params``: a bad value raises ``Invalid`` with the
field's name and one Chinese sentence (pydantic lets a validator's own exception through)."""

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationError

from tracker.errors import Invalid
from tracker.items.models import EventAction, Evidence, Item, ItemEvent, Light, MeasureType, Status
from tracker.items.workflow import Action, parse_action
from tracker.web import params

# Dates and moments as Python writes them (2024-06-30, 2024-06-30T08:00:00+00:00), as always.
Day = Annotated[date, PlainSerializer(date.isoformat, return_type=str)]
Moment = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str)]


class Schema(BaseModel):
    model_config = ConfigDict(use_enum_values=False, extra="ignore")

    def dump(self) -> dict:
        return self.model_dump(mode="json")


class ItemSchema(Schema):
    model_config = ConfigDict(title="Item")

    id: int
    title: str
    text: str
    categories: list[str] = Field(description="问题类别代码，第一个为主类别")
    unit: str
    owner: str | None = Field(description="责任人用户名")
    deadline: Day | None
    status: Status
    overdue: bool
    light: Light
    measures: str
    measure_type: MeasureType = Field(description="整改类型：immediate 立行立改，deadline 限期整改，long_term 长期坚持")
    leader: str = Field(description="责任领导（姓名）；未填时为空字符串")
    co_units: list[str] = Field(description="配合单位的名称")
    review_every_days: int | None = Field(description="长期坚持事项的进展报送周期（天）；null 为默认周期（90天）")
    summary: str
    report_id: int | None
    year: int
    carried_over_from_year: int | None
    carry_count: int
    closed_at: Moment | None
    closed_on_time: bool | None = Field(description="是否在销号时有效的整改时限内销号；未销号或无时限时为 null")
    returned: str | None = Field(description="已退回：审核人的退回意见，直到再次提交销号申请；未退回时为 null")
    review: Literal["first", "second"] | None = Field(
        description="两级审核中待审核的一级：first 待初审，second 待复审（初审已通过）；不在两级审核中时为 null")
    version: int = Field(description="乐观锁版本：PATCH/transition 时以 If-Match 或 version 回传")
    created_at: Moment
    updated_at: Moment

    @classmethod
    def of(cls, item: Item, today: date) -> "ItemSchema":
        return cls(
            id=item.id, title=item.title, text=item.text, categories=[c.code for c in item.categories],
            unit=item.unit.name, owner=item.owner.username if item.owner else None, deadline=item.deadline,
            status=item.status, overdue=item.is_overdue(today), light=item.light(today), measures=item.measures,
            measure_type=item.measure_type, leader=item.leader, co_units=[u.name for u in item.co_units],
            review_every_days=item.review_every_days, summary=item.summary, report_id=item.report_id, year=item.year,
            carried_over_from_year=item.carried_over_from_year, carry_count=item.carry_count,
            closed_at=item.closed_at, closed_on_time=item.closed_on_time, returned=item.returned_comment,
            review=item.review_waiting.name if item.review_waiting else None,
            version=item.version,
            created_at=item.created_at, updated_at=item.updated_at,
        )


class EvidenceSchema(Schema):
    model_config = ConfigDict(title="Evidence")

    id: int
    filename: str
    size: int
    sha256: str
    content_type: str
    description: str
    uploaded_at: Moment
    uploaded_by: str

    @classmethod
    def of(cls, evidence: Evidence) -> "EvidenceSchema":
        return cls(
            id=evidence.id, filename=evidence.filename, size=evidence.size, sha256=evidence.sha256,
            content_type=evidence.content_type, description=evidence.description,
            uploaded_at=evidence.uploaded_at, uploaded_by=evidence.uploaded_by.username,
        )


class EventSchema(Schema):
    model_config = ConfigDict(title="Event")

    at: Moment
    actor: str | None
    action: EventAction
    details: dict[str, Any] = Field(description="所改字段的新旧值、延期的日期等；有意见时含 comment")

    @classmethod
    def of(cls, event: ItemEvent) -> "EventSchema":
        details = dict(event.details or {})
        if event.comment:
            details["comment"] = event.comment
        return cls(at=event.at, actor=event.actor.username if event.actor else None, action=event.action,
                   details=details)


class ItemDetailSchema(ItemSchema):
    model_config = ConfigDict(title="ItemDetail")

    evidence: list[EvidenceSchema]
    history: list[EventSchema]


class ItemPageSchema(Schema):
    model_config = ConfigDict(title="ItemPage")

    items: list[ItemSchema]
    page: int
    per_page: int
    total: int


def _text(name: str):
    return BeforeValidator(lambda value: params.text(value, name))


def _day(name: str):
    return BeforeValidator(lambda value: None if value is None else params.day(value, name))


def _username(value):
    if not isinstance(value, str):
        raise Invalid("owner 应为用户名。", field="owner")
    return value


def _codes(value):
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise Invalid("categories 应为类别代码的列表。", field="categories")
    return value


class Body(Schema):
    """A request body. ``version`` is documented here but read with the If-Match header by the
    door (``api.views._expected_version``), which takes the header first."""

    allow_unknown: ClassVar[bool] = False

    @classmethod
    def parse(cls, body: dict):
        unknown = set(body) - set(cls.model_fields)
        if unknown and not cls.allow_unknown:
            raise Invalid(f"不能修改的字段：{'、'.join(sorted(unknown))}。", field=sorted(unknown)[0])
        fields = {name: value for name, value in body.items() if name in cls.model_fields and name != "version"}
        for name, info in cls.model_fields.items():  # a missing required field: its validator says so
            if info.is_required():
                fields.setdefault(name, "")
        try:
            return cls.model_validate(fields)
        except ValidationError as error:  # a type the field validators let through: still one sentence
            field = str(error.errors()[0]["loc"][0]) if error.errors() and error.errors()[0]["loc"] else ""
            raise Invalid(f"{field} 的值无效。", field=field or None) from None


def _names(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise Invalid("co_units 应为单位名称的列表。", field="co_units")
    return [name.strip() for name in value if name.strip()]


def _review_days(value):
    from tracker.items.services import check_review_days

    return check_review_days(value)


def _measure_type(value):
    from tracker.items.services import parse_measure_type

    return parse_measure_type(value)


class ItemPatchSchema(Body):
    """PATCH /items/<id>: the fields sent are changed (a supervisor any, the owner the measures)."""

    model_config = ConfigDict(title="ItemPatch")

    measures: Annotated[str | None, _text("measures")] = None
    title: Annotated[str | None, _text("title")] = None
    text: Annotated[str | None, _text("text")] = None
    deadline: Annotated[Day | None, _day("deadline")] = None
    owner: Annotated[str | None, BeforeValidator(_username)] = Field(None, description="用户名")
    categories: Annotated[list[str] | None, BeforeValidator(_codes)] = None
    unit: Annotated[str | None, _text("unit")] = Field(None, description="责任单位的名称（同名时用路径）：移到您督办的另一单位")
    leader: Annotated[str | None, _text("leader")] = Field(None, description="责任领导（姓名）")
    co_units: Annotated[list[str] | None, BeforeValidator(_names)] = Field(None, description="配合单位的名称（同名时用路径）")
    measure_type: Annotated[MeasureType | None, BeforeValidator(_measure_type)] = None
    review_every_days: Annotated[int | None, BeforeValidator(_review_days)] = Field(
        None, description="长期坚持事项的进展报送周期（天，1–366）；null 为默认周期")
    version: int | None = None


class TransitionSchema(Body):
    """POST /items/<id>/transition (CONTRACT.md: {action, comment, deadline})."""

    model_config = ConfigDict(title="Transition")
    allow_unknown: ClassVar[bool] = True

    action: Annotated[Action, BeforeValidator(lambda value: parse_action(params.text(value, "action")))]
    deadline: Annotated[Day | None, BeforeValidator(lambda value: params.day(value, "deadline") if value else None)] = None
    comment: Annotated[str, _text("comment")] = Field("", description="意见；submit 时为整改完成情况（未给 summary 时）")
    summary: Annotated[str, _text("summary")] = ""
    version: int | None = None


class ProgressSchema(Body):
    """POST /items/<id>/progress."""

    model_config = ConfigDict(title="Progress")

    allow_unknown: ClassVar[bool] = True

    note: Annotated[str, _text("note")] = ""

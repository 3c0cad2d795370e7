"""The roll-up as ``GET /stats`` gives it (CONTRACT.md); the OpenAPI components come from here."""

from pydantic import ConfigDict, Field

from tracker.items.schemas import Day, Schema
from tracker.stats.rollup import Rollup, Totals


class TotalsSchema(Schema):
    model_config = ConfigDict(title="Totals")

    items: int
    open: int
    in_progress: int
    pending_review: int
    closed: int
    overdue: int
    red: int
    yellow: int
    green: int
    closed_on_time: int
    completion_rate: float = Field(description="完成率：closed / items，无事项时为 0")
    on_time_rate: float = Field(description="按期完成率：closed_on_time / closed，无销号时为 0")

    @classmethod
    def of(cls, totals: Totals) -> "TotalsSchema":
        return cls(**{name: getattr(totals, name) for name in cls.model_fields})


class UnitRef(Schema):
    model_config = ConfigDict(title="UnitRef")

    id: int
    name: str


class UnitTotalsSchema(Schema):
    model_config = ConfigDict(title="UnitTotals")

    id: int
    name: str
    own: bool = Field(description="true：本级（该单位自身的事项）；false：一个直属下级单位及其全部下级")
    totals: TotalsSchema
    rank_by_completion_rate: int | None = Field(description="下级单位按完成率的排名（1 为最高），本级为 null")
    rank_by_overdue: int | None = Field(description="下级单位按逾期数的排名（1 为最少），本级为 null")


class CategoryTotalsSchema(Schema):
    """Each item counts once, under its primary (first) category: the rows add up to the totals."""

    model_config = ConfigDict(title="CategoryTotals")

    code: str
    name: str
    totals: TotalsSchema


class MonthSchema(Schema):
    model_config = ConfigDict(title="Month")

    month: str = Field(description="YYYY-MM")
    created: int = Field(description="当月新增（截至 as_of 仍存在的事项）")
    closed: int = Field(description="当月销号（截至 as_of 仍为已销号）")
    overdue: int = Field(description="月末（本月为 as_of 当日）逾期未销号的事项数")


class StatsSchema(Schema):
    model_config = ConfigDict(title="Stats")

    unit: UnitRef
    as_of: Day
    year: int | None
    category: str | None
    totals: TotalsSchema
    pending_extensions: int = Field(description="截至 as_of 待审批的延期申请")
    units: list[UnitTotalsSchema]
    categories: list[CategoryTotalsSchema]
    months: list[MonthSchema]

    @classmethod
    def of(cls, rollup: Rollup) -> "StatsSchema":
        return cls(
            unit=UnitRef(id=rollup.unit.id, name=rollup.unit.name), as_of=rollup.as_of, year=rollup.year,
            category=rollup.category.code if rollup.category else None, totals=TotalsSchema.of(rollup.totals),
            pending_extensions=rollup.pending_extensions,
            units=[UnitTotalsSchema(id=row.unit.id, name=row.unit.name, own=row.own, totals=TotalsSchema.of(row.totals),
                                    rank_by_completion_rate=row.rank_by_rate, rank_by_overdue=row.rank_by_overdue)
                   for row in rollup.rows],
            categories=[CategoryTotalsSchema(code=row.category.code, name=row.category.name,
                                             totals=TotalsSchema.of(row.totals)) for row in rollup.categories],
            months=[MonthSchema(month=row.label, created=row.created, closed=row.closed, overdue=row.overdue)
                    for row in rollup.months],
        )

"""Reports as the JSON API gives them: a report with the items its page lists (see items.schemas)."""

from datetime import date

from pydantic import ConfigDict, Field

from tracker.items.models import Report
from tracker.items.schemas import ItemSchema, Moment, Schema


class ReportSchema(Schema):
    model_config = ConfigDict(title="Report")

    id: int
    unit: str
    year: int
    title: str
    source_filename: str | None
    sha256: str | None
    created_at: Moment
    items: list[ItemSchema] = Field(description="the report's items, by id: those of `items_page` (each "
                                                "report's first `items_per_report` in the list of reports)")
    items_total: int = Field(description="how many items the report lists in all (that the caller may see)")
    items_page: int
    items_per_page: int

    @classmethod
    def of(cls, report: Report, listed, today: date, *, page: int = 1, per_page: int) -> "ReportSchema":
        return cls(
            id=report.id, unit=report.unit.name, year=report.year, title=report.title,
            source_filename=report.source_filename, sha256=report.sha256, created_at=report.created_at,
            items=[ItemSchema.of(item, today) for item in listed.items], items_total=listed.total,
            items_page=page, items_per_page=per_page,
        )


class ReportPageSchema(Schema):
    model_config = ConfigDict(title="ReportPage")

    reports: list[ReportSchema]
    page: int
    per_page: int
    total: int

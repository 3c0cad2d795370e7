"""Reports as the JSON API gives them: a report with the items its page lists (see items.schemas)."""

from datetime import date

from pydantic import ConfigDict

from tracker.items.models import Item, Report
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
    items: list[ItemSchema]

    @classmethod
    def of(cls, report: Report, items: list[Item], today: date) -> "ReportSchema":
        return cls(
            id=report.id, unit=report.unit.name, year=report.year, title=report.title,
            source_filename=report.source_filename, sha256=report.sha256, created_at=report.created_at,
            items=[ItemSchema.of(item, today) for item in items],
        )


class ReportPageSchema(Schema):
    model_config = ConfigDict(title="ReportPage")

    reports: list[ReportSchema]
    page: int
    per_page: int
    total: int

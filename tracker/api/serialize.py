"""Items, evidence, history and reports as the JSON API gives them (CONTRACT.md)."""

from datetime import date

from tracker.formats import iso
from tracker.items.models import Evidence, Item, ItemEvent, Report


def item_json(item: Item, today: date) -> dict:
    return {
        "id": item.id,
        "title": item.title,
        "text": item.text,
        "categories": [c.code for c in item.categories],
        "unit": item.unit.name,
        "owner": item.owner.username if item.owner else None,
        "deadline": iso(item.deadline),
        "status": item.status.value,
        "overdue": item.is_overdue(today),
        "light": item.light(today).value,
        "measures": item.measures,
        "summary": item.summary,
        "report_id": item.report_id,
        "year": item.year,
        "carried_over_from_year": item.carried_over_from_year,
        "carry_count": item.carry_count,
        "version": item.version,
        "created_at": iso(item.created_at),
        "updated_at": iso(item.updated_at),
    }


def evidence_json(evidence: Evidence) -> dict:
    return {
        "id": evidence.id,
        "filename": evidence.filename,
        "size": evidence.size,
        "sha256": evidence.sha256,
        "content_type": evidence.content_type,
        "description": evidence.description,
        "uploaded_at": iso(evidence.uploaded_at),
        "uploaded_by": evidence.uploaded_by.username,
    }


def event_json(event: ItemEvent) -> dict:
    details = dict(event.details or {})
    if event.comment:
        details["comment"] = event.comment
    return {
        "at": iso(event.at),
        "actor": event.actor.username if event.actor else None,
        "action": event.action.value,
        "details": details,
    }


def report_json(report: Report, items: list[Item], today: date) -> dict:
    return {
        "id": report.id,
        "unit": report.unit.name,
        "year": report.year,
        "title": report.title,
        "source_filename": report.source_filename,
        "sha256": report.sha256,
        "created_at": iso(report.created_at),
        "items": [item_json(item, today) for item in items],
    }

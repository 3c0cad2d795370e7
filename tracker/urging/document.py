"""The 督办通知单 (.docx), in the official-document layout of the report section."""

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from tracker import clock
from tracker.formats import chinese_date
from tracker.officedoc import BODY_FONT, SIZE_2, SIZE_3, TITLE_FONT, body, page_setup, paragraph
from tracker.urging.models import Urge


def urge_filename(urge: Urge) -> str:
    return f"督办通知单-{urge.number}.docx"


def urge_document(urge: Urge) -> bytes:
    item = urge.item
    document = Document()
    page_setup(document)
    paragraph(document, f"{urge.issuing_unit.name}", TITLE_FONT, SIZE_2, center=True)
    paragraph(document, f"整改{urge.level.title}通知单", TITLE_FONT, SIZE_2, center=True)
    paragraph(document, urge.number, BODY_FONT, SIZE_3, center=True)
    paragraph(document, "", BODY_FONT, SIZE_3)
    paragraph(document, f"{item.unit.name}：", BODY_FONT, SIZE_3)
    late = f"，已逾期{urge.days_overdue}天" if urge.days_overdue else ""
    deadline = chinese_date(urge.deadline) if urge.deadline else "未定"
    body(document, f"你单位负责的整改事项“{item.title}”（系统编号{item.id}），整改时限为{deadline}{late}，"
                   f"目前状态为“{item.status.title}”。现予以{urge.level.title}。")
    body(document, item.text or "（无）", label="问题描述：")
    if item.measures:
        body(document, item.measures, label="整改措施：")
    body(document, item.owner.display_name if item.owner else "未指定", label="责任人：")
    body(document, urge.comment, label="督办要求：")
    body(document, f"请于{chinese_date(urge.reply_by)}前将整改情况及佐证材料报送{urge.issuing_unit.name}，"
                   "并在整改跟踪系统中更新进展。")
    paragraph(document, "", BODY_FONT, SIZE_3)
    signature = paragraph(document, urge.issuing_unit.name, BODY_FONT, SIZE_3)
    signature.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    issued = paragraph(document, chinese_date(clock.to_local(urge.issued_at).date()), BODY_FONT, SIZE_3)
    issued.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

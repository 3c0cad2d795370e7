"""Official-document layout for the .docx tracker writes (GB/T 9704 as far as fonts allow):
title in 方正小标宋简体 二号, first-level headings in 黑体 三号, second-level in 楷体 三号, body in
仿宋 三号 with a two-character first-line indent and fixed 28-point lines, A4 with 37/35/28/26 mm
margins. Word substitutes a font the machine lacks."""

import re

from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
TITLE_FONT, HEADING_FONT, SUBHEADING_FONT, BODY_FONT = "方正小标宋简体", "黑体", "楷体", "仿宋"
SIZE_2, SIZE_3, SIZE_4 = Pt(22), Pt(16), Pt(14)
LINE = Pt(28)
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters a .docx cannot hold


def page_setup(document) -> None:
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = document.styles["Normal"]
    normal.font.size = SIZE_3
    set_font(normal.element, BODY_FONT)
    page_numbers(section)


def page_numbers(section) -> None:
    """The page number at the foot of each page as official documents write it: "— 1 —", 宋体 四号
    (a PAGE field, so Word and WPS count the pages themselves)."""
    footer = section.footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _dash(footer, "— ")
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    number, text = OxmlElement("w:r"), OxmlElement("w:t")
    text.text = "1"
    number.append(text)
    field.append(number)
    footer._p.append(field)
    _dash(footer, " —")


def _dash(paragraph, text: str) -> None:
    run = paragraph.add_run(text)
    run.font.size = SIZE_4
    set_font(run._element, "宋体")


def set_font(element, name: str) -> None:
    """Chinese text takes the East Asian font (w:eastAsia); digits and Latin, Times New Roman."""
    fonts = element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:ascii"), "Times New Roman")
    fonts.set(qn("w:hAnsi"), "Times New Roman")
    fonts.set(qn("w:eastAsia"), name)


def fmt(paragraph, *, center: bool = False, indent: bool = False) -> None:
    style = paragraph.paragraph_format
    style.line_spacing_rule, style.line_spacing = WD_LINE_SPACING.EXACTLY, LINE
    style.space_before = style.space_after = Pt(0)
    if center:
        style.alignment = WD_ALIGN_PARAGRAPH.CENTER
    else:
        style.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if indent:
        style.first_line_indent = Pt(32)  # two characters of 三号


def paragraph(document, text: str, font: str, size, *, center: bool = False, indent: bool = False):
    paragraph = document.add_paragraph()
    fmt(paragraph, center=center, indent=indent)
    run = paragraph.add_run(NOT_XML.sub("", text))
    run.font.size = size
    set_font(run._element, font)
    return paragraph


def body(document, text: str, *, label: str = "") -> None:
    """A body paragraph in 仿宋; ``label`` (e.g. "整改措施：") leads it in bold."""
    paragraph = document.add_paragraph()
    fmt(paragraph, indent=True)
    if label:
        run = paragraph.add_run(label)
        run.font.size, run.bold = SIZE_3, True
        set_font(run._element, BODY_FONT)
    run = paragraph.add_run(NOT_XML.sub("", text))
    run.font.size = SIZE_3
    set_font(run._element, BODY_FONT)

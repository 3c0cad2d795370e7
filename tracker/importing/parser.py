"""Reading a report's structure: who wrote it, for which year, its problems and its plans.

Reports follow the shape of 法治政府建设年度报告 and 述职报告: a title, an opening, the work done,
then a section of problems ("存在的问题和不足", "存在的困难和问题", "…存在的不足", "短板", …)
and a section of plans ("下一步工作打算", "2024年度工作安排", "工作思路", …). Numbering differs
from report to report (（一） (一) 一、 1. 1、 (1) ① 一是), so headings are found by what they say
and items by the numbering style that the section itself uses.
"""

import hashlib
import re
from dataclasses import dataclass, field

from tracker.importing.chinese import Lines
from tracker.importing.cleaning import CN_DIGITS, MARKER, NUMBERING_STYLES, clean_lines
from tracker.importing.readers import ImportFailed

# "…：一是A；二是B，三是C。" inside one line: where the points begin
INLINE_POINT = re.compile(rf"(?<=[。；;：:，,])\s*(?=[{CN_DIGITS}]{{1,2}}是)")
# Lines of an unnumbered section that are not problems: its lead-in, its closing, a signature.
LEAD_IN = re.compile(r"(?:存在|还有|仍有|也有)(?:一些|以下|如下|不少|几个|若干)|(?:以下|如下|几个方面)[:：。]?$|主要(?:是|表现)[:：]")
CLOSING = re.compile(r"^(?:今后|下一步|下步|下阶段|我们将|我局将|我单位将|针对上述)")
CAUSES = re.compile(r"^(?:主要|产生的?|存在问题的)?原因(?:分析)?$")

_KEY = r"(?:问题|困难|不足|短板|差距|弱项|薄弱环节|挑战)"
_TAIL = (
    r"(?:[和与及、](?:问题|困难|不足|短板|差距|弱项|挑战|原因分析|原因|建议|改进措施|整改措施"
    r"|下一步工作打算|下一步打算|下步打算|打算))*(?:之处)?"
)
# What frames a heading as the list of shortcomings: "存在的…", "面临的…", "工作中还存在一些…",
# "对照检查发现的…", "法治政府建设中的…"; a bare "问题和不足" or "短板" also stands alone.
_FRAME = r"(?:存在|面临|当前|目前|主要|突出|工作中|查摆|发现|对照|自查|还有|仍有|一些|建设中|方面|中的)"
PROBLEMS_HEADING = re.compile(
    rf"^(?:.{{0,24}}?{_FRAME}.{{0,8}}?)?(?:主要|突出)?的?{_KEY}{_TAIL}[:：。]?$"
)
# Work-section headings about problems being solved are not the problems section.
WORK_VERBS = re.compile(r"(?:解决|整治|化解|查处|着力|专项|行动|排查|整改情况|破解)")
_PLAN_WORDS = r"(?:打算|安排|思路|计划|重点|措施|举措|方向|工作|建议)"
PLANS_HEADING = re.compile(
    rf"^(?:(?:下一步|下步|下阶段|下一阶段|今后|明年|来年|\d{{4}}年度?).{{0,20}}?{_PLAN_WORDS}"
    r"|.{0,20}?(?:工作打算|工作安排|工作思路|工作计划|工作重点|工作措施|工作举措|努力方向|整改措施|改进措施"
    r"|意见建议|重点工作|工作建议))"
    r"(?:[和与及、].{0,10})?[:：。]?$"
)
# The head noun that ends an organisation's name: an office (局, 厅, 委员会, 办公室 …), a force
# (总队, 支队, 大队), a level of government (人民政府, 乡, 镇, 街道办事处), a body (联合会, 残联,
# 党组), an enterprise or an institution (公司, 集团, 学校, 医院 …). A name is a place, some words
# and one of these; which words come after it in a title does not matter (see _name_at_start).
ORG_SUFFIX = (
    r"(?:人民政府办公室|人民政府|街道办事处|办事处|街道|委员会|联合会|残联|党工委|党组|党委|局|厅|委|办公室|办|院|署"
    r"|中心|总队|支队|大队|中队|分局|政府|公司|集团|管理处|处|所|站|乡|镇|学校|学院|大学|中学|小学|医院|社区|馆|监狱)"
)
NAME = rf"[{CN_DIGITS}\u4e00-\u9fff*＊Xx×○]{{2,24}}?{ORG_SUFFIX}"  # X, ×, ○ and * mask names
# Bodies a report cites but is not written by: party committees, governments, courts, ministries.
NOT_THE_AUTHOR = re.compile(
    r"(?:党委|市委|县委|区委|省委|地委|纪委|监委|人民政府|国务院|中央|依法治|交通运输部|公安|法院|检察院|人大|政协)"
)
# Words of a sentence, not of an organisation's name ("…职责成立了以市局").
NOT_A_NAME = re.compile(r"[了的以在对把将是为与及等从]")
PLACE = re.compile(r"(?:\*|＊|X|×|○|省|市|县|区|州|旗|盟|镇|乡|街道)")
HEADLINE_MAX = 40
CLAUSE_AFTER = 30  # a first sentence longer than this is shortened to its first clause
GENERIC_HEADING_MAX = 8


@dataclass
class Section:
    title: str
    text: str
    categories: list[str] = field(default_factory=list)
    measures: str = ""  # its own 整改措施 (rectification reports); else proposed from the plans
    progress: str = ""  # its 整改情况 so far (rectification reports): the item's first progress note


@dataclass
class ParsedReport:
    unit: str | None
    year: int | None
    title: str
    problems: list[Section]
    plans: list[Section]
    kind: str = "rule_of_law"  # CONTRACT.md: rule_of_law, inspection, audit, self_check, other
    ocr: bool = False  # its text was read from page images by OCR: it may need correcting
    fingerprint: str = ""  # SHA-256 of its words (simplified, without spaces, marks or layout): the same
    # report from another file (its .pdf after its .docx) has the same


# What kind of report it is, by its title and opening (CONTRACT.md's kinds).
_KINDS = (
    ("inspection", re.compile(r"(?:巡察|巡视|督察).{0,30}?整改|整改.{0,30}?(?:巡察|巡视|督察)")),
    ("audit", re.compile(r"审计.{0,30}?整改|整改.{0,30}?审计")),
    ("self_check", re.compile(r"自查|自评")),
    ("rule_of_law", re.compile(r"法治|依法|述职|述法|法制")),
)


def detect_kind(lines: list[str]) -> str:
    """rule_of_law (法治政府建设年度报告, 述职述法), inspection (巡察/巡视/督察整改), audit (审计整改),
    self_check (自查), else other: by the title first, then the opening."""
    title = "".join(_title_lines(lines))
    for text in (title, "\n".join(lines[:6])):
        for kind, pattern in _KINDS:
            if pattern.search(text):
                return kind
    return "other"


def style_of(line: str) -> tuple[str, int] | None:
    """The numbering style at the start of ``line`` and its number, or None."""
    for name, pattern in NUMBERING_STYLES:
        match = pattern.match(line)
        if match:
            return name, _number(match.group(1))
    return None


def _number(token: str) -> int:
    if token.isascii() and token.isdigit():
        return int(token)
    if "①" <= token <= "⑳":
        return ord(token) - ord("①") + 1
    if "十" in token:  # 十, 十一, 二十, 二十三
        tens, _, ones = token.partition("十")
        return (CN_DIGITS.index(tens) + 1 if tens else 1) * 10 + (CN_DIGITS.index(ones) + 1 if ones else 0)
    return CN_DIGITS.index(token) + 1


def strip_marker(line: str) -> str:
    match = MARKER.match(line)
    return line[match.end():].strip() if match else line


def _heading_text(line: str) -> str:
    return strip_marker(line).strip().rstrip("：:。")


def _is_heading(line: str, pattern: re.Pattern) -> bool:
    text = _heading_text(line)
    return 2 <= len(text) <= 40 and bool(pattern.match(text)) and not WORK_VERBS.search(text)


def parse_report(text: str) -> ParsedReport:
    """Parse a report's text. Raises ImportFailed when it holds no problems section. A report in
    traditional characters is read in simplified ones, and what is found given back as written
    (the unit's name stays simplified, to be matched against the system's units)."""
    lines = Lines(clean_lines(text))
    report = _parse(lines.lines)
    words = re.sub(r"[^\w]|_", "", "".join(lines.lines))
    report.fingerprint = hashlib.sha256(words.encode("utf-8")).hexdigest()
    if lines.changed:
        report.title = lines.restore(report.title)
        for section in (*report.problems, *report.plans):
            for name in ("title", "text", "measures", "progress"):
                setattr(section, name, lines.restore(getattr(section, name)))
    return report


def _parse(cleaned: list[str]) -> ParsedReport:
    lines = _split_inline_headings(cleaned)
    if not lines:
        raise ImportFailed("报告中没有文字。")
    kind = detect_kind(lines)
    # A rectification report is read problem by problem; another report only when it has no
    # section of problems (an annual report's sub-section on last year's 督察 problems is not it).
    fed_back = _rectification(lines, kind) if kind in ("inspection", "audit") else None
    if fed_back is not None:
        return fed_back
    start = next((i for i, line in enumerate(lines) if _is_heading(line, PROBLEMS_HEADING)), None)
    if start is None:
        fed_back = _rectification(lines, kind)
        if fed_back is not None:
            return fed_back
        raise ImportFailed("没有找到“存在的问题”一类的章节，无法识别问题清单；请检查报告，或直接粘贴问题部分。")
    plans_start = next(
        (i for i in range(start + 1, len(lines)) if _is_heading(lines[i], PLANS_HEADING)), None
    )
    end = plans_start if plans_start is not None else _section_end(lines, start, style_of(lines[start]))
    # "三、存在的问题及原因分析" over "（一）存在问题 … （二）原因分析": the problems are under the inner heading.
    inner = next((i for i in range(start + 1, end) if style_of(lines[i]) and _is_generic_heading(lines[i])), None)
    if inner is not None:
        start, end = inner, min(end, _section_end(lines, inner, style_of(lines[inner])))
    body = lines[start + 1:end]
    cut = next((i for i, line in enumerate(body) if i and _ends_problems(body, i)), len(body))
    problems = split_items(body[:cut], style_of(lines[start]))
    if not problems:
        raise ImportFailed("找到了问题章节，但其中没有列出具体问题。")
    plans: list[Section] = []
    if plans_start is not None:
        plans_style = style_of(lines[plans_start])
        plans_end = _section_end(lines, plans_start, plans_style)
        plans = split_items(lines[plans_start + 1:plans_end], plans_style)
    elif cut < len(body) and PLANS_LEAD.match(body[cut]):  # "下一步，我局将……": the plans, unnumbered
        plans = _closing_plans(body[cut:])
    unit = detect_unit(lines)
    return ParsedReport(
        unit=unit,
        year=detect_year(lines),
        title=detect_title(lines, unit),
        problems=problems,
        plans=plans,
        kind=kind,
    )


def _rectification(lines: list[str], kind: str) -> ParsedReport | None:
    """A report that goes through problems fed back one by one (see ``rectification``), or None."""
    from tracker.importing import rectification

    if not rectification.is_rectification(lines):
        return None
    start = next(i for i, line in enumerate(lines) if rectification.problem_title(line)
                 or rectification.is_group_heading(line))
    plans_start = next((i for i in range(start + 1, len(lines)) if _is_heading(lines[i], PLANS_HEADING)), None)

    signed = next((i for i in range(start, len(lines)) if _signs_off(lines, i)), len(lines))

    def is_end(line: str) -> bool:
        return _is_closing(line) or _is_heading(line, PLANS_HEADING)

    problems = rectification.split_problems(lines[start:signed], is_end)
    if not problems:
        return None
    plans: list[Section] = []
    if plans_start is not None:
        plans_style = style_of(lines[plans_start])
        plans = split_items(lines[plans_start + 1:_section_end(lines, plans_start, plans_style)], plans_style)
    unit = detect_unit(lines)
    return ParsedReport(unit=unit, year=detect_year(lines), title=detect_title(lines, unit), problems=problems,
                        plans=plans, kind=kind if kind in ("inspection", "audit") else "inspection")


# A closing paragraph that is the plans ("下一步，我局将…"), not a closing wish ("针对上述问题，…").
PLANS_LEAD = re.compile(r"^(?:下一步|下步|下阶段|今后|明年|\d{4}年)")
# The section after the problems that says why they arose: "（三）法治建设不足的原因", "原因分析".
CAUSE_HEADING = re.compile(r"^.{0,20}?原因(?:分析|剖析)?$")


def _ends_problems(lines: list[str], index: int) -> bool:
    """A line where the problems are over although no heading of theirs says so: a section of
    causes, the closing paragraph of plans ("下一步，我局将……"), the signature."""
    line = lines[index]
    text = _heading_text(line)
    if CAUSE_HEADING.match(text) and (style_of(line) or len(text) <= 20):
        return True
    if not style_of(line) and CLOSING.match(line):
        return True
    return _signs_off(lines, index)


def _closing_plans(lines: list[str]) -> list[Section]:
    """Plans written as the closing paragraph(s), counted (一是…二是…) or not: one plan a point."""
    plans = []
    for line in lines:
        if _is_closing(line) or re.fullmatch(NAME, _clean_name(line)):
            break
        points = _counted_points(line)
        for point in points:
            point = re.sub(r"^(?:下一步|下步|下阶段|今后)[，,]?(?:我局|我们|我单位|我委|我办)?将?", "", point).strip()
            if len(points) == 1 and re.search(r"上述问题|以上问题|存在的问题", point):
                continue  # "今后，我局将针对上述问题，认真加以整改": a closing wish, no plan
            if len(point) >= 6:
                plans.append(_section([strip_marker(point)]))
    return plans


def _is_generic_heading(line: str) -> bool:
    """A short heading that names the section rather than a problem: "存在问题", "存在的不足".
    ("农村普法存在“最后一公里”问题" is a problem's own headline.)"""
    return len(_heading_text(line)) <= GENERIC_HEADING_MAX and _is_heading(line, PROBLEMS_HEADING)


def _split_inline_headings(lines: list[str]) -> list[str]:
    """"（八）存在的不足。卫健系统……" → the heading, then its text on a line of its own."""
    result = []
    for line in lines:
        head, dot, rest = line.partition("。")
        if dot and rest.strip() and style_of(line) and (
            _is_generic_heading(head) or _is_heading(head, PLANS_HEADING)
        ):
            result.extend([head, rest.strip()])
        else:
            result.append(line)
    return result


def _section_end(lines: list[str], start: int, heading_style) -> int:
    """Where a section ends: at the next heading of its own style, or at the closing lines."""
    for i in range(start + 1, len(lines)):
        style = style_of(lines[i])
        if heading_style and style and style[0] == heading_style[0]:
            return i
        if _is_closing(lines[i]) or _signs_off(lines, i):
            return i
    return len(lines)


def _is_closing(line: str) -> bool:
    """The date that ends a report ("2024年1月10日"), or an attachment list."""
    return bool(re.fullmatch(_SIGNED_ON, line) or re.match(r"^附件[:：\d]", line))


_SIGNED_ON = r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日"


def _signs_off(lines: list[str], index: int) -> bool:
    """Is ``lines[index]`` the signature: an organisation's name alone, over the date or last of
    all (a unit's name alone elsewhere is text: "XX县交通运输局执法大队" under 整改情况)?"""
    if not _is_signature(lines[index]):
        return False
    following = lines[index + 1] if index + 1 < len(lines) else ""
    return index == len(lines) - 1 or bool(re.fullmatch(_SIGNED_ON, following))


def _is_signature(line: str) -> bool:
    """A line that is only an organisation's name: the signature over the date."""
    name = _clean_name(line)
    return len(line) <= 30 and bool(re.fullmatch(NAME, name)) and _valid_name(name)


def split_items(lines: list[str], heading_style) -> list[Section]:
    """The numbered items of a section, each with the lines under it (its sub-points)."""
    # "①…。②…。" or "…：一是…；二是…" written on one line: one line per point
    lines = [
        part.strip()
        for line in lines if line
        for circled in re.split(r"(?<=[。；;])\s*(?=[②-⑳])", line)
        for counted in _counted_points(circled)
        for part in INLINE_POINT.split(counted)
        if part.strip()
    ]
    item_style = None
    for line in lines:
        style = style_of(line)
        if style and (heading_style is None or style[0] != heading_style[0]) and style[1] == 1:
            item_style = style[0]
            break
    if item_style is None:
        return _unnumbered(lines)
    items: list[list[str]] = []
    expected = 1
    for line in lines:
        style = style_of(line)
        if style and style[0] == item_style and style[1] == expected:
            items.append([strip_marker(line)])
            expected += 1
        elif items:
            items[-1].append(line)
    return [_section(body) for body in items if "".join(body).strip() and not CAUSES.match(_heading_text(body[0]))]


def _counted_points(line: str) -> list[str]:
    """"下一步，我局将一是加强…；二是开展…": the points counted 一是, 二是, … in order, even where no
    punctuation comes before the first; a short lead-in to them ("下一步，我局将") is dropped."""
    if "一是" not in line or "二是" not in line:
        return [line]
    cuts, position = [], 0
    for number in CN_DIGITS:
        found = line.find(f"{number}是", position)
        if found < 0:
            break
        cuts.append(found)
        position = found + 2
    if len(cuts) < 2:
        return [line]
    lead = line[: cuts[0]]
    parts = [line[start:end] for start, end in zip(cuts, [*cuts[1:], len(line)], strict=True)]
    dropped = len(lead) <= 12 and lead.rstrip().endswith(("将", "：", ":", "，", ","))
    return ([] if dropped or not lead.strip() else [lead]) + parts


def _unnumbered(lines: list[str]) -> list[Section]:
    """A section without numbered items: one problem a paragraph, without the section's lead-in
    ("…还存在一些薄弱环节："), its closing ("今后，我局将…") or a signature."""
    paragraphs = []
    for index, line in enumerate(lines):
        if CLOSING.match(line) or _is_closing(line) or re.fullmatch(NAME, _clean_name(line)):
            break
        if index == 0 and len(lines) > 1 and (LEAD_IN.search(line) or line.endswith(("：", ":"))):
            continue
        if len(line) >= 8 and not line.endswith(("：", ":")):
            paragraphs.append(line)
    return [_section([line]) for line in paragraphs]


def _section(body: list[str]) -> Section:
    # A heading line over its text: short, and no sentence ends inside it.
    first = body[0].rstrip("。；;")
    heading = len(body) > 1 and len(first) <= HEADLINE_MAX and not re.search(r"[。；;！？!?]", first)
    title = body[0].rstrip("。；;：:，,").strip()[:200] if heading else headline(body[0])
    return Section(title=title, text="\n".join(body).strip())


def headline(first_line: str) -> str:
    """A paragraph's short title: its first sentence, or that sentence's first clause when the
    sentence runs on ("执法装备落后，缺少无人机等科技手段。" → "执法装备落后")."""
    line = first_line.strip()
    sentence = re.split(r"[。；;！？!?]", line, maxsplit=1)[0].strip()
    if len(sentence) > CLAUSE_AFTER:
        clause = re.split(r"[，,：:]", sentence, maxsplit=1)[0].strip()
        if len(clause) >= 4:
            sentence = clause
    return sentence.rstrip("，,、：:")[:200] or line[:200]


# Lines above or under a title that are not part of it: attachment marks, the red head of an
# official document ("某局文件") and its number (〔2024〕3号), dates, classification marks.
_CN_YEAR = "[二][〇零○][〇零○一二三四五六七八九]{2}"
_DATE = rf"(?:\d{{4}}|{_CN_YEAR})\s*年\s*[\d一二三四五六七八九十]{{1,3}}\s*月\s*[\d一二三四五六七八九十]{{1,3}}\s*日"
NOT_TITLE = re.compile(
    rf"^(?:附件\s*\d*[:：]?|.{{2,30}}文件|.*〔\d{{4}}〕\s*\d+\s*号|[（(]?{_DATE}[）)]?|密级.*|签发人.*|（?此件.*）?)$"
)
# What follows a unit's name at the start of a title: a year, 关于, the office-holder, the genre, or
# the verb of a 自查/整改 report's title ("…气象局推进扩权强县工作自查报告").
_AFTER_NAME = re.compile(
    rf"^(?:$|\d|{_CN_YEAR}|关于|主要|党组|党委|局长|主任|书记|述职|述法|法治|年度|工作|上半年|下半年|年终|（|\(|\s"
    r"|推进|开展|落实|贯彻|履行|加强|深化|自查|自评|整改|对照|全面|依法|党建)")
# What cannot follow a whole name: more of a name ("…局局长" is 局's head, "…局属单位" its units).
# When nothing of _AFTER_NAME follows any name, anything else may.
_NOT_AFTER_NAME = re.compile(r"^(?:长|员|属|内设|机关|领导|班子|系统|下属|直属|各)")
_PARTY_BODY = re.compile(r"(?:委员会|党委|党组|党工委)$")


def _title_lines(lines: list[str]) -> list[str]:
    """The short lines at the top that make the title, without red heads, numbers and dates."""
    title: list[str] = []
    for line in lines[:8]:
        if NOT_TITLE.match(line):
            if title:
                break
            continue
        if len(line) > 60 or "，" in line or line.endswith(("。", "：", ":")) or style_of(line):
            break
        title.append(line)
    return title


def _without_header(title: list[str]) -> list[str]:
    """A site's or a superior's name alone on the first line ("重庆市气象局") over a title that
    names its own unit ("巫山县气象局2023年…报告") is a header, not the title."""
    second = _name_at_start(title[1], strict=True) if len(title) > 1 else None
    if second and _name_at_start(title[0]) == _clean_name(title[0].replace("中共", "", 1)) \
            and second != _name_at_start(title[0]) and not re.match(r"^(?:关于|\d|20)", title[1]):
        return title[1:]
    return title


def _clean_name(name: str) -> str:
    return re.sub(r"(?:党组|党委)$", "", re.sub(r"^中共", "", name))


def _valid_name(name: str) -> bool:
    return 3 <= len(name) <= 30 and bool(PLACE.search(name)) and not NOT_A_NAME.search(name) \
        and bool(re.fullmatch(rf"[{CN_DIGITS}\u4e00-\u9fff*＊Xx×○]+", name))


def _name_at_start(line: str, *, strict: bool = False) -> str | None:
    """The unit named at the start of a title line: the longest name that a year, 关于, an
    office-holder or the report's genre follows ("××县人民政府办公室2023年…"); else (unless
    ``strict``) the shortest that no more of a name follows ("…司法局推动…" → …司法局)."""
    head = re.sub(rf"^(?:(?:20\d{{2}}|{_CN_YEAR})\s*年度?|关于|中共)+", "", line)
    found = loose = None
    for match in re.finditer(ORG_SUFFIX, head[:36]):
        name, after = head[: match.end()], head[match.end():]
        if not _valid_name(_clean_name(name)) or "关于" in name:
            continue
        if _AFTER_NAME.match(after):
            found = _clean_name(name)
        elif loose is None and not strict and not _NOT_AFTER_NAME.match(after):
            loose = _clean_name(name)
    found = found or loose
    return _last_of_joint(found) if found else None


def _last_of_joint(name: str) -> str:
    """"大马营镇委员会大马营镇人民政府" (a joint report of the party committee and the government):
    the government's name, the last of the names run together."""
    for match in re.finditer(ORG_SUFFIX, name):
        rest = _clean_name(name[match.end():])
        if _PARTY_BODY.search(name[: match.end()]) and rest and _valid_name(rest) \
                and re.search(rf"{ORG_SUFFIX}$", rest) and PLACE.search(rest[:8]):
            return _last_of_joint(rest)
    return name


def detect_unit(lines: list[str]) -> str | None:
    """The reporting unit: named at the top, else signing at the bottom, else the unit that
    issues documents in the report."""
    for line in _without_header(_title_lines(lines)):
        if name := _name_at_start(line):
            return name
    for line in reversed(lines[-6:]):  # the signature above the closing date
        cleaned = _clean_name(line)
        if re.fullmatch(NAME, cleaned) and _valid_name(cleaned):
            return cleaned
    text = "\n".join(lines)
    scores: dict[str, int] = {}
    for pattern, weight in (
        (rf"《\d{{0,4}}年?度?({NAME})(?:关于|20\d\d|法治|年度)", 3),
        (rf"(?:^|[，。；、：\s“])({NAME})(?:关于|党组|20\d\d年)", 2),
    ):
        for match in re.finditer(pattern, text, re.M):
            name = re.sub(r"^(?:年度|年|关于|印发|我局|制定)", "", match.group(1))
            if len(name) >= 4 and _valid_name(name) and not NOT_THE_AUTHOR.search(name):
                scores[name] = scores.get(name, 0) + weight
    if scores:
        return max(scores.items(), key=lambda pair: (pair[1], len(pair[0])))[0]
    return None


def _arabic_years(text: str) -> str:
    """二〇二三年 → 2023年, so that years written in Chinese numerals are read too."""
    digits = str.maketrans("〇零○一二三四五六七八九", "000123456789")
    return re.sub(_CN_YEAR + r"(?=\s*年)", lambda m: m.group(0).translate(digits), text)


def detect_year(lines: list[str]) -> int | None:
    """The year the report covers: from the title, else the opening; never from a cited
    document (《…》), a period (2021—2025年), a document number (〔2022〕) or a date."""

    def years(line: str) -> list[int]:
        line = re.sub(rf"《[^》]*》|〔[^〕]*〕|\[[^\]]*\]|\d{{4}}\s*[—–-]\s*\d{{4}}\s*年|{_DATE}", "",
                      _arabic_years(line))
        return [int(y) for y in re.findall(r"(20\d{2})\s*年", line)]

    for line in _title_lines(lines):
        if found := years(line):
            return found[0]
    for line in lines[:8]:
        plain = re.sub(rf"《[^》]*》|〔[^〕]*〕|{_DATE}", "", _arabic_years(line))
        for pattern in (r"(?:现将|关于|^)\s*(20\d{2})\s*年", r"(20\d{2})\s*年度"):
            for match in re.finditer(pattern, plain):
                return int(match.group(1))
    for line in lines[:8]:
        if found := years(line):
            return found[0]
    return None


def detect_title(lines: list[str], unit: str | None) -> str:
    top = _without_header(_title_lines(lines))
    if top:
        return "".join(top)[:300]
    match = re.search(r"现将(.{4,80}?报告)如下", "\n".join(lines[:5]))
    if match:
        return match.group(1)
    return f"{unit or ''}年度报告"

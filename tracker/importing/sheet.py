"""Reading an existing 整改台账 (.xlsx) as offices keep it: the header row found by its words
wherever it is (below merged title rows, after blank rows, over two rows), merged cells read as
their value, empty rows skipped; and the values offices type — dates as dates or as words
("2025年6月30日", "2025.6.30", "6月底", "年底前", "长期坚持"), statuses in their own words.

Runs in the import sandbox (``tracker.importing.sandbox``): a hostile file costs a child process.
"""

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from tracker import filetypes
from tracker.importing.readers import ImportFailed, TooComplex, UnsupportedReport
from tracker.items.models import MeasureType, Status

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 20_000  # a unit's ledger has tens to hundreds of rows; a province's, a few thousand
MAX_COLUMNS = 60
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
HEADER_SCAN_ROWS = 30  # the header is found among the first rows of a sheet
MAX_SHEETS = 30

# The ledger's fields and the words offices head their columns with (审计整改 forms, "五个一",
# 巡察整改台账, tracker's own ledger). A header cell is read without spaces and brackets.
FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "description": ("问题描述", ("问题描述", "存在问题", "问题内容", "问题表现", "具体问题", "主要问题", "问题清单", "问题事项",
                                 "发现问题", "反馈问题", "问题名称", "问题")),
    "measures": ("整改措施", ("整改措施", "整改举措", "具体措施", "整改方案", "措施")),
    "unit": ("责任单位", ("责任单位", "牵头单位", "责任部门", "责任科室", "责任股室", "整改单位", "承办单位")),
    "owner": ("责任人", ("责任人", "具体责任人", "经办人", "联系人", "整改责任人")),
    "deadline": ("整改时限", ("整改时限", "完成时限", "完成时间", "整改期限", "时限要求", "整改时间", "时限")),
    "progress": ("整改进展", ("整改进展", "进展情况", "完成情况", "整改情况", "整改进度", "推进情况", "落实情况")),
    "category": ("问题类别", ("问题类别", "问题类型", "问题分类", "问题性质", "类别", "类型")),
    "leader": ("责任领导", ("责任领导", "分管领导", "牵头领导", "责任领导人", "包案领导", "领导")),
    "co_units": ("配合单位", ("配合单位", "协办单位", "协同单位", "配合部门", "协助单位")),
    "measure_type": ("整改类型", ("整改类型", "整改方式", "整改性质")),
    "status": ("整改状态", ("整改状态", "完成状态", "是否完成", "是否整改到位", "状态")),
    "closed_on": ("销号时间", ("销号时间", "销号日期", "办结时间", "实际完成时间")),
    "source": ("问题来源", ("问题来源", "来源", "问题出处")),
    "remarks": ("备注", ("备注", "说明")),
    "number": ("序号", ("序号", "编号", "问题编号", "问题序号")),
}
# Columns a ledger has that are worked out, not brought in (tracker's own ledger writes them).
IGNORED = ("事项编号", "是否逾期", "逾期天数", "佐证材料", "佐证", "发现问题时间", "发现时间")
_SYNONYMS = sorted(((word, key) for key, (_, words) in FIELDS.items() for word in words), key=lambda pair: -len(pair[0]))
_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_SPACES = re.compile(r"[\s*＊:：、]+")


@dataclass
class Column:
    index: int  # 0-based
    header: str  # as written
    field: str | None  # the key of FIELDS it was read as, None: not brought in


@dataclass
class Row:
    number: int  # the row's number in Excel (1-based), for sentences about it
    values: list  # by column index: str, date, number or None
    from_above: frozenset[int] = frozenset()  # columns whose value is a merged cell begun above


@dataclass
class Sheet:
    name: str
    title: str  # the text of the rows above the header (the ledger's title), joined
    header_row: int
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)

    def mapping(self) -> dict[str, int]:
        return {column.field: column.index for column in self.columns if column.field}


def normalise(header) -> str:
    """A header (or a short value) without spaces and bracketed notes; only its first 200 characters
    are looked at (a header is short, and a cell of brackets is no work for the pattern)."""
    return _SPACES.sub("", _BRACKETS.sub("", str(header or "")[:200]))


def field_of(header, *, exact_only: bool = False) -> str | None:
    """The field a header cell names: its words exactly, else the longest known word it holds
    ("问题来源（报告/年度）" → source, "存在的主要问题" → description); a two-character word only
    at the end ("发现的问题", but not "问题编号")."""
    text = normalise(header)
    if not text or len(text) > 20 or any(text.startswith(word) for word in IGNORED):
        return None
    for word, key in _SYNONYMS:
        if text == word:
            return key
    if exact_only:
        return None
    for word, key in _SYNONYMS:
        if (len(word) >= 3 and word in text) or (len(word) == 2 and text.endswith(word)):
            return key
    return None


def _fields_of(cells: list) -> dict[int, str]:
    """The fields a row of headers names: exact words first, then the rest for the fields left,
    so that "问题编号" beside "问题描述" does not take the description."""
    found: dict[int, str] = {}
    for exact_only in (True, False):
        for index, value in enumerate(cells):
            if index in found or not isinstance(value, str):
                continue
            key = field_of(value, exact_only=exact_only)
            if key and key not in found.values():
                found[index] = key
    return found


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The ledger in an .xlsx file's bytes: of its worksheets, the one whose header names the most
    fields (a 问题描述 column among them). Raises ImportFailed with one sentence."""
    check_workbook(data, filename)
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), data_only=True)  # not read-only: merged cells need the full sheet
    except Exception as error:  # openpyxl and zipfile raise many kinds on what is not a workbook
        raise ImportFailed("文件不是有效的 Excel（.xlsx）工作簿，可能已损坏或只是改了扩展名。") from error
    best, too_long = None, None
    for worksheet in book.worksheets[:MAX_SHEETS]:
        if worksheet.max_row > MAX_ROWS + HEADER_SCAN_ROWS:  # a lookup sheet, or formats far down: not read
            too_long = too_long or worksheet.title
            continue
        found = _read_worksheet(worksheet)
        if found is not None and (best is None or len(found.mapping()) > len(best.mapping())):
            best = found
    if best is None and too_long is not None:
        raise TooComplex(f"工作表“{too_long}”超过 {MAX_ROWS:,} 行，不像是一份整改台账，请只保留台账所在的行后再导入。")
    if best is None:
        raise ImportFailed("没有找到台账的表头：请确认表头中有“问题描述”（或“存在问题”“问题内容”）一列，"
                           "以及“整改措施”“责任单位”“整改时限”等列。")
    if not best.rows:
        raise ImportFailed(f"工作表“{best.name}”的表头下没有任何事项。")
    return best


def check_workbook(data: bytes, filename: str) -> None:
    """Refuse what is not an .xlsx, with the sentence its user needs, before it is unpacked."""
    if len(data) > MAX_BYTES:
        raise TooComplex(f"台账文件超过 {MAX_BYTES // 1024 // 1024} MB，不像是一份整改台账。")
    if filetypes.is_kind("ole2", data):  # Excel 97–2003 (.xls) or WPS (.et)
        raise UnsupportedReport("这是旧版 Excel（.xls）文件，请在 Excel 或 WPS 中打开，“另存为” .xlsx 格式后再导入。")
    if not filetypes.is_kind("zip", data):
        name = filename.lower()
        if name.endswith(".csv"):
            raise UnsupportedReport("请将 .csv 文件在 Excel 或 WPS 中“另存为” .xlsx 格式后再导入。")
        raise UnsupportedReport("请上传 Excel 工作簿（.xlsx）：这个文件不是 .xlsx 格式。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if not any(member.filename.startswith("xl/") for member in members):
                raise UnsupportedReport("请上传 Excel 工作簿（.xlsx）：这个文件是别的压缩文件（如 Word 文档）。")
            if len(members) > 2000 or sum(member.file_size for member in members) > MAX_UNPACKED_BYTES:
                raise TooComplex("台账文件解压后过大，不像是一份整改台账，请只保留台账所在的工作表后再导入。")
    except zipfile.BadZipFile:
        raise ImportFailed("文件不是有效的 Excel（.xlsx）工作簿，可能已损坏或只是改了扩展名。") from None


def _read_worksheet(worksheet) -> Sheet | None:
    merged = {}  # (row, column) → (value, the merge's first row), 1-based
    for cells in worksheet.merged_cells.ranges:
        value = worksheet.cell(cells.min_row, cells.min_col).value
        for row in range(cells.min_row, min(cells.max_row, worksheet.max_row) + 1):
            for column in range(cells.min_col, min(cells.max_col, MAX_COLUMNS) + 1):
                merged[(row, column)] = (value, cells.min_row)
    width = min(worksheet.max_column or 0, MAX_COLUMNS)

    def line(number: int, raw) -> tuple[list, set[int]]:
        values, above = [], set()
        for index in range(width):
            value = raw[index] if index < len(raw) else None
            if (number, index + 1) in merged:
                value, first = merged[(number, index + 1)]
                if first < number:
                    above.add(index)
            values.append(_clean(value))
        return values, above

    lines = []
    header_at = None
    for number, raw in enumerate(worksheet.iter_rows(values_only=True, max_col=width), start=1):
        values, above = line(number, raw)
        lines.append((number, values, above))
        if header_at is None and number >= HEADER_SCAN_ROWS:
            header_at = _find_header(lines)
            if header_at is None:
                return None
    if header_at is None:
        header_at = _find_header(lines)
        if header_at is None:
            return None
    start, depth, found = header_at
    rows_of_header = [lines[start + offset][1] for offset in range(depth)]
    headers = []
    for index in range(width):
        texts = [str(values[index]).strip() for values in reversed(rows_of_header) if values[index] not in (None, "")]
        named = [text for text in texts if field_of(text) == found.get(index)]
        headers.append((named or texts or [""])[0])
    columns = [Column(index, headers[index], found.get(index)) for index in range(width) if headers[index] or index in found]
    above = [" ".join(dict.fromkeys(str(value).strip() for value in values if value not in (None, "")))
             for _, values, _ in lines[:start]]
    title = next((text for text in above if text), "")  # the first line above the header: the ledger's title
    sheet = Sheet(worksheet.title, title[:300], lines[start][0], columns)
    for number, values, above in lines[start + depth:]:
        if all(values[index] in (None, "") or index in above for index in range(width)):
            continue  # an empty row (or one holding only the merged cells of rows above)
        if _is_total(values):
            continue
        sheet.rows.append(Row(number, values, frozenset(above)))
    return sheet


def _find_header(lines: list) -> tuple[int, int, dict[int, str]] | None:
    """The header among the lines read: (its index in ``lines``, 1 or 2 rows deep, the fields by
    column). A two-row header ("责任主体" over "责任领导|责任单位|责任人") reads the lower row
    where it names a field."""
    best = None
    for position, (_, values, _) in enumerate(lines[:HEADER_SCAN_ROWS]):
        found = _fields_of(values)
        depth = 1
        if position + 1 < len(lines):
            below = _fields_of(lines[position + 1][1])
            if len(found) >= 2 and len(below) >= 2:  # the upper row heads some columns itself
                combined = dict(found)
                for index, key in below.items():
                    if key not in combined.values() or combined.get(index) == key:
                        combined[index] = key
                if len(set(combined.values())) > len(set(found.values())):
                    found, depth = _unique(combined), 2
        if "description" in found.values() and len(found) >= 3 and (best is None or len(found) > len(best[2])):
            best = (position, depth, found)
    return best


def _unique(found: dict[int, str]) -> dict[int, str]:
    seen, kept = set(), {}
    for index in sorted(found):
        if found[index] not in seen:
            seen.add(found[index])
            kept[index] = found[index]
    return kept


def _is_total(values: list) -> bool:
    first = next((str(value).strip() for value in values if value not in (None, "")), "")
    return first.startswith(("合计", "总计", "小计")) and len(first) < 60


def _clean(value):
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, str):
        value = value.replace("\r\n", "\n").replace("\r", "\n").strip()
        return value or None
    return value


# Values as offices type them -----------------------------------------------------------------

_CN_MONTHS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11,
              "十二": 12, "元": 1}
_FULL = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})\s*[月./\-]\s*(\d{1,2})\s*日?")
_COMPACT = re.compile(r"(?<!\d)(20\d{2})(\d{2})(\d{2})(?!\d)")
_YEAR_MONTH = re.compile(r"(\d{4})\s*[年./\-]\s*(\d{1,2})(?:\s*月)?(?:\s*份)?\s*(底|末|前|$)")
_A_YEAR = re.compile(r"(20\d{2})\s*年")
_YEAR_END = re.compile(r"(\d{4})\s*年\s*(?:年)?(底|末|内|年底|年末)")
_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_MONTH_END = re.compile(r"(?<![\d年])(\d{1,2}|[一二三四五六七八九十元]{1,2})\s*月(?:\s*份)?\s*(底|末|前|$)")
_QUARTERS = {"一季度": (3, 31), "二季度": (6, 30), "三季度": (9, 30), "四季度": (12, 31), "上半年": (6, 30),
             "下半年": (12, 31), "年底": (12, 31), "年末": (12, 31), "年内": (12, 31)}
LONG_TERM_WORDS = ("长期坚持", "长期", "持续推进", "持续整改", "常态化")
IMMEDIATE_WORDS = ("立行立改", "立即整改", "立即", "即知即改", "即时")


@dataclass(frozen=True)
class Day:
    """A deadline cell read: the day (None: none given, or words for a kind of measure), what the
    words say of the measure, and whether the text could be read at all."""

    day: date | None
    measure_type: MeasureType | None = None
    readable: bool = True


def _end_of_month(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))


def read_day(value, year: int) -> Day:
    """A date as typed: a date cell, an Excel serial, "2025年6月30日", "2025.6.30", "20250630",
    "2025年6月", "2025年底", "6月底", "六月底", "年底前", "上半年" (these last ones in ``year``),
    "长期坚持", "立行立改"."""
    if value is None or value == "":
        return Day(None)
    if isinstance(value, datetime):
        return Day(value.date())
    if isinstance(value, date):
        return Day(value)
    if isinstance(value, int | float):
        if not math.isfinite(value):  # a number cell of 1E999
            return Day(None, readable=False)
        if 20000 < value < 80000:  # an Excel serial day number (1954–2119)
            return Day(date(1899, 12, 30) + timedelta(days=int(value)))
        value = str(int(value))
    text = " ".join(str(value).split())[:60]  # a date is short; a cell of spaces is no work for the patterns
    if found := _A_YEAR.search(text):  # "2025年3月至6月底": the year written is the year of the rest
        year = int(found.group(1))
    try:
        day = _day_in_words(text, year)
    except ValueError:  # 2025年2月30日
        return Day(None, readable=False)
    kind = (MeasureType.long_term if any(word in text for word in LONG_TERM_WORDS)
            else MeasureType.immediate if any(word in text for word in IMMEDIATE_WORDS) else None)
    if day is None and kind is None:
        return Day(None, readable=False)
    return Day(day, kind)


def _day_in_words(text: str, year: int) -> date | None:
    if match := _FULL.search(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _COMPACT.search(text):
        return date(int(match[1]), int(match[2]), int(match[3]))
    if match := _YEAR_END.search(text):
        return date(int(match[1]), 12, 31)
    if match := _YEAR_MONTH.search(text):
        return _end_of_month(int(match[1]), _month(match[2]))
    if match := _MONTH_DAY.search(text):
        return date(year, int(match[1]), int(match[2]))
    if match := _MONTH_END.search(text):
        return _end_of_month(year, _month(match[1]))
    for words, (month, day) in _QUARTERS.items():
        if words in text:
            return date(year, month, day)
    return None


def _month(text: str) -> int:
    month = int(text) if text.isdigit() else _CN_MONTHS.get(text, 0)
    if not 1 <= month <= 12:
        raise ValueError(text)
    return month


_CLOSED = ("已销号", "已完成", "完成整改", "整改完成", "已整改", "已办结", "已落实", "完成", "销号", "办结", "是")
_WORKING = ("整改中", "推进中", "正在", "进行中", "持续", "部分", "基本完成", "未完成", "未按期", "未销号", "%", "％",
            "长期坚持", "落实中", "推进")
_WAITING = ("待审核", "待销号", "申请销号", "审核中")
_OPEN = ("待整改", "未整改", "未开始", "尚未", "未启动", "否")


def read_status(value) -> tuple[Status | None, bool]:
    """The status a ledger's words give (None: none given) and whether the words were understood.
    待审核 is brought in as 整改中: the owner submits again in the system, with evidence."""
    text = "".join(str(value or "").split())[:40]  # brackets kept: "整改完成（未销号）" is not closed
    if not text:
        return None, True
    for words, status in ((_OPEN, Status.open), (_WAITING, Status.in_progress), (_WORKING, Status.in_progress),
                          (_CLOSED, Status.closed)):
        if any(word == text or ((len(word) > 1 or word in "%％") and word in text) for word in words):
            return status, True
    return None, False


def read_measure_type(value) -> MeasureType | None:
    text = normalise(value)
    for member in MeasureType:
        if member.title in text:
            return member
    if any(word in text for word in LONG_TERM_WORDS):
        return MeasureType.long_term
    if any(word in text for word in IMMEDIATE_WORDS):
        return MeasureType.immediate
    return None


def text_of(value) -> str:
    """A cell as text: a date as 2025-06-30, a whole number without ".0"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()

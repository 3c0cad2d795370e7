"""Cleaning what conversion leaves behind, before the report's structure is read."""

import re
import unicodedata

# Word's bookmarks as text exporters write them, e.g. "[bookmark: _GoBack]".
BOOKMARK = re.compile(r"\[bookmark:[^\]]*\]")
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
CJK = r"\u3400-\u9fff\uf900-\ufaff"
_CJK_OR_MARK = re.compile(rf"[{CJK}，。、；：！？“”‘’（）《》【】]")
SPACES = re.compile(r"[ \t\u3000]+")
TERMINAL = "。！？；：…”’」』）)】]!?;:"
CN_DIGITS = "一二三四五六七八九十"
# How Chinese documents number their points, each with the number as its group: （一） 一、 （1） 1、 ① 一是 第一，
_NUMBERINGS = [
    ("paren_cn", rf"[（(]([{CN_DIGITS}]{{1,3}})[）)]"),
    ("cn", rf"([{CN_DIGITS}]{{1,3}})[、．.]"),
    ("paren_ar", r"[（(](\d{1,2})[）)]"),
    ("ar", r"(\d{1,2})[、．.](?!\d)"),
    ("circled", r"([①-⑳])"),
    ("shi", rf"([{CN_DIGITS}]{{1,3}})是"),
    ("di", rf"第([{CN_DIGITS}]{{1,3}})[，,、]"),
]
NUMBERING_STYLES = [(name, re.compile("^" + pattern)) for name, pattern in _NUMBERINGS]
# Any of them at the start of a line (a bracketed number may also mix the two kinds of digit).
MARKER = re.compile("^(?:" + "|".join([rf"[（(][{CN_DIGITS}\d]{{1,3}}[）)]", *(pattern for _, pattern in _NUMBERINGS)]) + ")")
# A labelled part under a heading ("整改措施：…", "问题表现：…") starts a line of its own, as does a
# short line ending in a colon (the addressee, "县委巡察办：").
LABEL = re.compile(r"^(?:整改|问题|具体|主要|进展|完成|落实|责任|牵头|配合|反馈)[\u4e00-\u9fff]{0,4}[:：]")
# Page numbers a PDF's footer leaves between the lines of a paragraph: "— 3 —", "-3-", "第3页 共9页".
FOOTER = re.compile(r"^(?:[-—－–\s]*\d{1,3}[-—－–\s]*|第\s*\d+\s*页(?:\s*[，,]?\s*共\s*\d+\s*页)?|\d+\s*/\s*\d+)$")


# Radicals-supplement code points that some PDF fonts map whole characters to (⻓ for 长);
# NFKC has no mapping for these, so they are listed: only those that stand as a character.
RADICAL_SUPPLEMENT = str.maketrans(
    "⺠⺟⻄⻅⻆⻉⻋⻓⻔⻘⻙⻚⻛⻜⻝⻢⻣⻥⻦⻧⻨⻩⻪⻬⻮⻰⻳",
    "民母西见角贝车长门青韦页风飞食马骨鱼鸟卤麦黄黾齐齿龙龟",
)


def _fold_char(ch: str) -> str:
    code = ord(ch)
    if 0x2E80 <= code <= 0x2EFF:
        return ch.translate(RADICAL_SUPPLEMENT)
    # Kangxi radicals and CJK compatibility forms that PDF fonts map to: ⼒ → 力
    if 0x2F00 <= code <= 0x2FDF or 0xF900 <= code <= 0xFAFF:
        return unicodedata.normalize("NFKC", ch)
    # Enclosed numbers ㈠ → (一); circled ① stay, the parser reads them.
    if 0x3220 <= code <= 0x3243:
        return unicodedata.normalize("NFKC", ch)
    # Full-width digits and Latin letters → half-width; Chinese punctuation is kept.
    if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
        return chr(code - 0xFEE0)
    if ch == "\u3000":
        return " "
    return ch


def drop_spaces_beside_cjk(line: str) -> str:
    """Chinese puts no spaces between words: a run of spaces beside a Chinese character or mark is
    debris (PDF extraction writes "《 ** 市交通运输局", "2022 年"; Word exports "存 在 问 题").

    Each run is looked at once, with the characters on either side of it: linear in the line's
    length. (A look-ahead regex rescanned the rest of the run at every space: 40,000 spaces took
    ten seconds.)"""

    def keep(run: re.Match) -> str:
        before = line[run.start() - 1] if run.start() else ""
        after = line[run.end()] if run.end() < len(line) else ""
        beside_cjk = (before and _CJK_OR_MARK.match(before)) or (after and _CJK_OR_MARK.match(after))
        return "" if beside_cjk else run.group(0)

    return SPACES.sub(keep, line)


def clean_lines(text: str) -> list[str]:
    """Lines of the report, cleaned: bookmarks, zero-width marks, width variants, stray spaces
    and hard line breaks inside paragraphs removed. Masked figures (``**``) stay as written."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    text = BOOKMARK.sub("", ZERO_WIDTH.sub("", text))
    text = "".join(_fold_char(ch) for ch in text)
    lines = []
    for raw in text.split("\n"):
        line = drop_spaces_beside_cjk(raw.replace("\t", " ").strip())
        line = re.sub(r" {2,}", " ", line)
        # "1、 主要工作情况" → "1、主要工作情况"
        marker = MARKER.match(line)
        if marker:
            line = marker.group(0) + line[marker.end():].lstrip()
        if not FOOTER.match(line):
            lines.append(line)
    return _join_wrapped(lines)


def _join_wrapped(lines: list[str]) -> list[str]:
    """Join lines broken inside paragraphs (text from PDF pages, or page breaks), but only when
    the document looks hard-wrapped: many long lines stopping without punctuation."""
    long_lines = [line for line in lines if len(line) >= 20]
    open_ended = [line for line in long_lines if line[-1] not in TERMINAL]
    wrapped = len(long_lines) >= 4 and len(open_ended) / len(long_lines) > 0.3
    if not wrapped:
        return [line for line in lines if line]
    widths = sorted(len(line) for line in open_ended)
    width = widths[len(widths) // 2]  # the usual width of a full line on the page
    joined: list[str] = []
    last = ""  # the previous physical line: a short one ended its paragraph or heading
    for line in lines:
        if not line:
            continue
        if joined and last and last[-1] not in TERMINAL and len(last) >= width * 0.8 and not MARKER.match(line) \
                and not LABEL.match(line) and not (len(joined) <= 2 and len(line) <= 30 and line.endswith(("：", ":"))):
            joined[-1] += line
        else:
            joined.append(line)
        last = line
    return joined

"""Reports on the rectification of problems someone else found: 巡察/巡视整改, 审计整改, 督察反馈整改.

They do not have a section of problems and one of plans: they go through the problems fed back,
each under a heading of its own, with its measures and its progress written under it:

    （一）在“贯彻落实……”方面                     ← a group of problems (or one, if nothing is under it)
    1.关于“学习贯彻……不够深入”问题的整改情况       ← a problem
    整改措施：一是……二是……                        ← its measures
    整改情况：已开展专题学习4次……                  ← its progress so far

    问题一：部分专项资金未按规定用途使用。          ← 审计整改
    （一）反馈问题：部分企业环境违法行为查处不及时。 ← 督察反馈整改

Each problem becomes one item; its 整改措施 the item's measures, its 整改情况 a first progress note.
"""

import re

from tracker.importing.cleaning import CN_DIGITS
from tracker.importing.parser import Section, headline, strip_marker, style_of

# 1.关于“…”问题的整改情况 / 关于…的问题整改落实情况
_ABOUT = re.compile(r"^关于[“\"]?(?P<title>.+?)[”\"]?(?:的)?问题(?:的)?(?:整改|落实)(?:落实|进展|完成)?情况[:：。]?$")
# 问题一：… / 问题1. …
_NUMBERED = re.compile(rf"^问题[{CN_DIGITS}\d]{{1,3}}[:：、.．]\s*(?P<title>.+)$")
# （一）反馈问题：… / 巡察发现问题：… / 存在问题：…
_FED_BACK = re.compile(r"^(?:反馈|发现|巡察|巡视|督察|审计|检查)(?:发现的?)?问题[:：]\s*(?P<title>.+)$")
# （一）在“…”方面 (存在的问题)
_GROUP = re.compile(r"^在?[“\"].+?[”\"]方面")
# The parts under a problem, by their labels.
_LABEL = re.compile(
    r"^(?P<label>整改措施|整改举措|具体措施|主要措施|整改情况|整改进展|进展情况|完成情况|整改结果|整改成效|落实情况"
    r"|问题表现|具体表现|存在问题|问题描述|主要表现|整改目标|整改时限|完成时限|责任单位|责任领导|责任人|牵头单位|配合单位)"
    r"[:：]\s*(?P<rest>.*)$"
)
MEASURES = {"整改措施", "整改举措", "具体措施", "主要措施"}
PROGRESS = {"整改情况", "整改进展", "进展情况", "完成情况", "整改结果", "整改成效", "落实情况"}
DESCRIPTION = {"问题表现", "具体表现", "存在问题", "问题描述", "主要表现"}
TARGET = {"整改目标"}


def problem_title(line: str) -> str | None:
    """The problem a line heads, or None: "1.关于“…”问题的整改情况", "问题一：…", "反馈问题：…"."""
    text = strip_marker(line).strip()
    for pattern in (_ABOUT, _NUMBERED, _FED_BACK):
        match = pattern.match(text)
        if match:
            return match.group("title").strip().rstrip("。；;")
    return None


def is_group_heading(line: str) -> bool:
    """"（一）在“…”方面": a group of problems fed back."""
    return bool(style_of(line) and _GROUP.match(strip_marker(line)))


def is_rectification(lines: list[str]) -> bool:
    """Does the report go through problems one by one, each with its measures (at least two)?"""
    heads = sum(1 for line in lines if problem_title(line))
    labels = sum(1 for line in lines if (m := _LABEL.match(strip_marker(line))) and m.group("label") in MEASURES)
    return heads >= 2 and labels >= 2


def split_problems(lines: list[str], is_end) -> list[Section]:
    """The problems of a rectification report, each with its measures and progress. ``is_end``
    says where the list of problems is over (the plans, the signature)."""
    problems: list[Section] = []
    current: dict | None = None
    part = "text"

    def close() -> None:
        nonlocal current
        if current is not None:
            problems.append(_section(current))
        current = None

    for line in lines:
        if is_end(line):
            break
        title = problem_title(line)
        if title is not None:
            close()
            current, part = {"title": title, "text": [_rest_of_heading(line, title)], "measures": [],
                             "progress": [], "target": []}, "text"
            continue
        if is_group_heading(line):
            close()
            current = {"title": strip_marker(line).rstrip("：:。"), "text": [strip_marker(line)],
                       "measures": [], "progress": [], "target": [], "group": True}
            part = "text"
            continue
        if current is None:
            continue
        if style_of(line) and style_of(line)[0] == "cn":  # 三、下一步工作打算: a part of the report
            close()
            break
        label = _LABEL.match(strip_marker(line))
        if label:
            name, rest = label.group("label"), label.group("rest")
            if name in MEASURES:
                part = "measures"
            elif name in TARGET:
                part, rest = "target", f"整改目标：{rest}"
            elif name in PROGRESS:
                part = "progress"
            elif name in DESCRIPTION:
                part = "text"
            else:
                part = "skip"  # 责任单位, 时限: who and when, not what
            if rest and part != "skip":
                current[part].append(rest)
            continue
        if part != "skip":
            current[part].append(line)
    close()
    return [problem for problem in problems if problem is not None]


def _rest_of_heading(line: str, title: str) -> str:
    """The problem's own words on its heading line ("问题一：部分资金未按规定使用。")."""
    text = strip_marker(line).strip()
    return text.split("：", 1)[-1].split(":", 1)[-1].strip() if ("：" in text or ":" in text) else title


def _section(found: dict) -> Section | None:
    if found.get("group") and not (found["measures"] or found["progress"]):
        return None  # only the heading of the problems under it
    text = "\n".join(line for line in found["text"] if line).strip() or found["title"]
    title = found["title"] if len(found["title"]) <= 60 else headline(found["title"])
    return Section(title=title[:200], text=text, measures="\n".join(found["measures"] + found["target"]).strip(),
                   progress="\n".join(found["progress"]).strip())

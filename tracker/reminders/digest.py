"""A digest's words, per channel: plain text and HTML for email, markdown for WeCom and DingTalk,
text for Feishu and the bell, JSON for a generic webhook. Rendered from the outbox payload, so
what the send log shows is exactly what was sent."""

from flask import render_template

from tracker.formats import NO_DEADLINE
from tracker.items.models import Light

# WeCom's markdown message takes at most 4096 bytes; DingTalk's is larger but reads badly long.
MARKDOWN_MAX_BYTES = 3800


def item_url(base_url: str, item_id: int) -> str:
    return f"{base_url.rstrip('/')}/items/{item_id}"


def subject(recipient: str, day, sections: list[dict]) -> str:
    items = [i for s in sections if s.get("key") != "events" for i in s["items"]]
    told = sum(len(s["items"]) for s in sections if s.get("key") == "events")
    red = sum(1 for i in items if i["light"] == Light.red.value)
    tail = f"，其中{red}项已逾期" if red else ""
    news = f"{told}条整改动态" if told else ""
    if not items:
        return f"【整改提醒】{day.month}月{day.day}日：{recipient}，您有{news}"
    news = f"，另有{news}" if news else ""
    return f"【整改提醒】{day.month}月{day.day}日：{recipient}，您有{len(items)}项整改事项需要关注{tail}{news}"


def together(messages: list) -> tuple[str, dict]:
    """The subject and payload of one group post for a minute's event messages (the first's own
    when alone). A line several people were told of (a submission to three reviewers) is posted once."""
    if len(messages) == 1:
        return messages[0].subject, messages[0].payload
    sections: dict[str, list[dict]] = {}
    seen = set()
    for message in messages:
        for section in message.payload["sections"]:
            for item in section["items"]:
                if (section["title"], item["id"], item.get("reason")) not in seen:
                    seen.add((section["title"], item["id"], item.get("reason")))
                    sections.setdefault(section["title"], []).append(item)
    count = sum(len(items) for items in sections.values())
    subject = f"【整改动态】{count}条：" + "、".join(sections)
    return subject[:200], {"sections": [{"title": title, "items": items} for title, items in sections.items()]}


def _carried(item: dict) -> str:
    """【上年度遗留】 or 【连续N年未完成】 before a carried-over item (payloads before year end have none)."""
    return f"【{item['carried']}】" if item.get("carried") else ""


def _line(item: dict, base_url: str) -> str:
    owner = f"｜责任人：{item['owner'] or '未指定'}"
    deadline = item["deadline"] or NO_DEADLINE
    return (f"{Light(item['light']).tag}{_carried(item)}{item['title']}（{item['unit']}{owner}）"
            f"期限 {deadline}，{item['reason']}\n  {item_url(base_url, item['id'])}")


def text(payload: dict, subject_line: str, base_url: str) -> str:
    parts = [subject_line, ""]
    for section in payload["sections"]:
        parts.append(f"■ {section['title']}（{len(section['items'])}项）")
        parts.extend(_line(item, base_url) for item in section["items"])
        parts.append("")
    parts.append(f"请登录整改跟踪系统处理：{base_url}")
    return "\n".join(parts)


def html(payload: dict, subject_line: str, base_url: str) -> str:
    return render_template(
        "reminders/digest_email.html", payload=payload, subject=subject_line, base_url=base_url,
        item_url=item_url, Light=Light,
    )


# What makes markdown of plain words inside a line: brackets (links and images), emphasis, code,
# HTML (WeCom reads <font>). Square and angle brackets become their full-width forms, as Chinese
# text writes them anyway; emphasis and code marks are escaped. Headings, lists and tables need a
# line of their own, and user text never starts one: its line breaks are folded.
_MARKDOWN_WIDE = str.maketrans({"[": "［", "]": "］", "<": "＜", ">": "＞"})
_MARKDOWN_ESCAPED = "\\`*_~"


def escape_markdown(text: str) -> str:
    """User-written text (a title, a name) as plain words inside robot markdown: it can make no
    link, heading, list, emphasis or HTML, and stays on its line."""
    text = " ".join(str(text or "").split()).translate(_MARKDOWN_WIDE)
    return "".join("\\" + ch if ch in _MARKDOWN_ESCAPED else ch for ch in text)


def markdown(payload: dict, subject_line: str, base_url: str) -> str:
    """Markdown for the chat robots, cut to the robots' size limit with a pointer to the rest.
    Everything user-written in it is escaped."""
    lines = [f"**{escape_markdown(subject_line)}**"]
    for section in payload["sections"]:
        lines.append(f"\n**{escape_markdown(section['title'])}（{len(section['items'])}项）**")
        for item in section["items"]:
            owner = escape_markdown(item["owner"] or "未指定")
            lines.append(f"- {Light(item['light']).tag}{escape_markdown(_carried(item))}"
                         f"[{escape_markdown(item['title'])}]({item_url(base_url, item['id'])})"
                         f" {escape_markdown(item['unit'])}·{owner}，期限 {item['deadline'] or '未设'}，"
                         f"{escape_markdown(item['reason'])}")
    footer = f"\n[登录整改跟踪系统查看全部]({base_url})"
    out, size = [], len(footer.encode())
    for number, line in enumerate(lines):
        size += len(line.encode()) + 1
        if size > MARKDOWN_MAX_BYTES:
            out.append(f"\n……另有{len(lines) - number}行未列出")
            break
        out.append(line)
    return "\n".join(out) + footer

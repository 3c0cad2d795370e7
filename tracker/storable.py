"""Text a database can store: no NUL (PostgreSQL refuses it in text columns) and no lone UTF-16
surrogates (they cannot be encoded as UTF-8). SQLite would take both silently, and they would
break the moment the data moved to PostgreSQL, so every door refuses them, once."""

import re

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MESSAGE = "提交的内容含有无法保存的字符（空字符或残缺的编码），请删除后重试。"


def is_storable(text: str) -> bool:
    return UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """``text`` without the characters no database can store (for text read from files)."""
    return UNSTORABLE.sub("", text)

"""Assigning categories to a problem's text by the keyword rules in the database."""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from tracker.errors import Conflict, Invalid
from tracker.extensions import db
from tracker.importing.chinese import simplified
from tracker.importing.models import CategoryRule
from tracker.items.models import Category

TITLE_FACTOR = 3  # a keyword in the headline says more than one in the explanation
MIN_SCORE = 3
SHARE_OF_TOP = 0.3
MAX_CATEGORIES = 3

# The rules seeded by the migration that created the table (kept there verbatim as well).
# Wordings the first rules missed (业务技能 is 执法能力素质, 立法体系 and 法规 制度机制, 观念 学习贯彻与
# 法治观念); a migration adds them to databases seeded before.
ADDED = {
    "enforcement_competence": {"业务技能": 3, "专业能力": 2, "业务水平": 2, "不够熟练": 2, "本领": 2},
    "institutional_mechanism": {"立法体系": 3, "立法": 2, "法规": 2, "规章": 2, "制度体系": 2},
    "theory_study": {"观念": 2, "法治思维": 2, "思想认识": 2},
}
DEFAULT_RULES = {
    "legal_publicity": {"普法": 3, "宣传": 2, "谁执法谁普法": 4, "法治宣传": 3, "知晓率": 2, "以案释法": 3},
    "fine_instead_of_management": {"以罚代管": 6, "一罚了之": 5, "重处罚轻管理": 5, "只罚不管": 5},
    "case_file_quality": {"案卷": 4, "文书": 2, "调查取证": 3, "瑕疵": 3, "卷宗": 3, "证据": 2},
    "enforcement_capacity": {"执法力量": 4, "编制": 2, "人员不足": 3, "严重不足": 2, "人员减少": 3, "装备": 2,
                             "执法车辆": 2, "老龄化": 2, "年龄老化": 2, "保障": 2, "经费": 2, "队伍建设": 2},
    "enforcement_competence": {"素质": 3, "能力": 2, "业务能力": 2, "专业水平": 2, "执法技能": 2,
                               "知识结构": 2, "专业人才": 2, "培训": 1, **ADDED["enforcement_competence"]},
    "enforcement_methods": {"执法方式": 4, "方式方法": 3, "人海战术": 3, "非现场执法": 2, "科技手段": 2,
                            "柔性执法": 2, "执法手段": 2},
    "theory_study": {"习近平法治思想": 3, "学习": 1, "理论": 2, "学深悟透": 2, "法治观念": 2, "法治意识": 2,
                     "深学": 2, **ADDED["theory_study"]},
    "accountability": {"第一责任人": 3, "责任落实": 3, "主体责任": 2, "监督": 2, "巡察": 2, "问责": 2,
                       "压实": 2, "落实不到位": 2},
    "safety_supervision": {"安全生产": 5, "安全监管": 3, "隐患": 2},
    "institutional_mechanism": {"制度": 2, "机制": 2, "规范性文件": 2, "权责清单": 2, "法规体系": 2,
                                **ADDED["institutional_mechanism"]},
}


LEARNED_WEIGHT = 3  # a person's correction: as strong as a default keyword that names the category
LEARNED_MIN = 2


@dataclass(frozen=True)
class Rule:
    code: str
    keyword: str
    weight: int


def load_rules() -> list[Rule]:
    rows = db.session.scalars(select(CategoryRule).options(joinedload(CategoryRule.category)))
    return [Rule(r.category.code, r.keyword, r.weight) for r in rows]


def classify(title: str, text: str, rules: Iterable[Rule]) -> list[str]:
    """Category codes for a problem, best first: every category whose keywords weigh enough,
    at most three; ``other`` when none does. Traditional characters are read as simplified."""
    title, text = simplified(title), simplified(text)
    scores: dict[str, int] = {}
    for rule in rules:
        hits = TITLE_FACTOR * title.count(rule.keyword) + text.count(rule.keyword)
        if hits:
            scores[rule.code] = scores.get(rule.code, 0) + hits * rule.weight
    if not scores:
        return ["other"]
    top = max(scores.values())
    chosen = [code for code, score in sorted(scores.items(), key=lambda pair: -pair[1])
              if score >= MIN_SCORE and score >= top * SHARE_OF_TOP]
    return chosen[:MAX_CATEGORIES] or ["other"]


def bigrams(text: str) -> set[str]:
    chars = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {chars[i:i + 2] for i in range(len(chars) - 1)}


def add_rule(category: Category, keyword: str, weight: int) -> CategoryRule:
    keyword = (keyword or "").strip()
    if not keyword or len(keyword) > 50:
        raise Invalid("请填写关键词（不超过50字）。", field="keyword")
    if not 1 <= weight <= 10:
        raise Invalid("权重应在1至10之间。", field="weight")
    exists = db.session.scalar(
        select(CategoryRule.id).where(CategoryRule.category_id == category.id, CategoryRule.keyword == keyword)
    )
    if exists is not None:
        raise Conflict(f"类别“{category.name}”已有关键词“{keyword}”。", field="keyword")
    rule = CategoryRule(category=category, keyword=keyword, weight=weight)
    db.session.add(rule)
    db.session.flush()
    return rule


# What a problem's title says around its subject: "部分…", "…不够熟练", "…有待提高".
_LEAD = re.compile(r"^(?:部分|个别|一些|少数|有的|仍有|还有|存在)")
_VERDICT = re.compile(r"(?:不够|不足|不强|不高|不严|不到位|不规范|不完善|不健全|不深入|不充分|不明显|有待|仍需|亟待|较为|比较"
                      r"|较弱|薄弱|滞后|欠缺|缺乏|单一|落后|偏少|偏低|淡薄).*$")


def key_phrase(title: str) -> str:
    """The words of a problem's title a rule can learn: its subject, without "部分" before it or the
    verdict after it ("部分执法人员业务技能不够熟练" → "执法人员业务技能")."""
    first = re.split(r"[，,。；;：:]", title.strip(), maxsplit=1)[0]
    phrase = _VERDICT.sub("", _LEAD.sub("", first)).strip("的")
    return (phrase if len(phrase) >= 2 else first)[:12]


def learn(category: Category, keyword: str) -> CategoryRule | None:
    """A rule offered after a person corrected a problem's category on the preview: added with the
    usual weight (in simplified characters, as the rules are matched), or None when the category
    already has that keyword. A keyword of one character would match almost anything: refused."""
    keyword = simplified((keyword or "").strip())
    if len(keyword) < LEARNED_MIN:
        raise Invalid(f"关键词至少{LEARNED_MIN}个字。", field="keyword")
    exists = db.session.scalar(
        select(CategoryRule.id).where(CategoryRule.category_id == category.id, CategoryRule.keyword == keyword))
    return None if exists is not None else add_rule(category, keyword, LEARNED_WEIGHT)


def remove_rule(rule: CategoryRule) -> None:
    db.session.delete(rule)
    db.session.flush()


def rules_by_category() -> dict[int, list[CategoryRule]]:
    """Every keyword rule, by category id, heaviest first: one statement."""
    by_category: dict[int, list[CategoryRule]] = {}
    for rule in db.session.scalars(select(CategoryRule).order_by(CategoryRule.weight.desc(), CategoryRule.keyword)):
        by_category.setdefault(rule.category_id, []).append(rule)
    return by_category

"""Which of the system's units wrote a report: the name the parser read, matched against the tree.

Reports name their unit as their authors write it, not as the system does: with the province and
city in front ("重庆市南岸区交通局" for 南岸区交通局), without the 区 or 县 ("南岸交通局"), as the
party committee or the government of a 镇 ("中共大马营镇委员会", "大马营镇人民政府" for 大马营镇),
or under a newer name ("南岸区交通运输局" where the system still has 南岸区交通局). A match is
exact when the names agree once those differences are set aside; near when the place agrees and
the rest mostly does, which a person confirms; else there is none and a person chooses.
"""

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from tracker.org.models import Unit

# Place words that may be left out or added: 省 市 区 县 and the like, and masks (** XX).
_PLACE_CHARS = re.compile(r"[省市区县旗盟州]|自治")
# What a report may put before or after a unit's own name.
_PARTY = re.compile(r"^中共|^中国共产党|(?:党组|党委|党工委)$")
_GOVERNMENT = re.compile(r"(?:人民政府|政府|办事处|街道办)$")
# The place at the start of a name: up to the last place word among its first characters.
_PLACE = re.compile(r"^.{0,12}?(?:自治区|自治州|自治县|特别行政区|省|市|区|县|旗|盟|州|乡|镇|街道)")
NEAR_RATIO = 0.5


@dataclass
class UnitMatch:
    written: str | None  # as the report writes it
    unit: Unit | None = None  # the system's unit it is (exact)
    near: Unit | None = None  # or the one it is probably, to be confirmed

    @property
    def found(self) -> Unit | None:
        return self.unit or self.near


def _bare(name: str) -> str:
    """The name without spaces, masks' width, a party committee's or a government's words."""
    name = re.sub(r"\s+", "", name or "").replace("＊", "*")
    for _ in range(2):
        name = _PARTY.sub("", name)
    return name


def _loose(name: str) -> str:
    """Also without 省/市/区/县: "南岸交通局" and "南岸区交通局" are one name."""
    return _PLACE_CHARS.sub("", _GOVERNMENT.sub("", _bare(name)))


def _place(name: str) -> str:
    found = _PLACE.match(_bare(name))
    return _loose(found.group(0)) if found else ""


def _same(written: str, unit: Unit, parent: Unit | None) -> bool:
    """The written name is the unit's, maybe with places in front of it ("重庆市南岸区交通局"), or
    its parent's name before its own ("市交通运输局法制科")."""
    mine, theirs = _loose(written), _loose(unit.name)
    if len(theirs) < 2:
        return False
    if not _places_agree(written, unit.name):
        return False
    if mine == theirs or (parent is not None and mine == _loose(parent.name) + theirs):
        return True
    # Places in front only of a name that has its own ("市交通运输局" names no place: any
    # "某市某区交通运输局" would end like it).
    return bool(_place(unit.name)) and mine.endswith(theirs) and _only_places(written, mine[: len(mine) - len(theirs)])


_PLACES = re.compile(r"(?:[\u4e00-\u9fff*Xx×○]{1,8}?(?:自治区|自治州|特别行政区|省|市|州|盟|地区|区|县|旗))+")


_KIND = re.compile(r"(自治区|自治州|自治县|省|市|区|县|旗|盟|州|乡|镇)")


def _places_agree(written: str, own: str) -> bool:
    """The unit's own place, where the written name has it, is of the same kind: 朝阳区 is not
    朝阳县, 吉林省 not 吉林市 (a name may leave the kind out: "南岸交通局")."""
    found = _PLACE.match(_bare(own))
    if not found:
        return True
    place = found.group(0)
    kind = _KIND.search(place)
    if kind is None:
        return True
    stem = place[: kind.start()]
    bare = _bare(written)
    at = bare.rfind(stem) if stem else -1
    if at < 0:
        return True
    after = bare[at + len(stem):]
    other = _KIND.match(after)
    return other is None or other.group(1) == kind.group(1)


def _only_places(written: str, head: str) -> bool:
    """Is the part of ``written`` whose loose form is ``head`` nothing but place names?"""
    bare = _bare(written)
    for size in range(len(bare) + 1):
        if _loose(bare[:size]) == head:
            prefix = bare[:size]
            while size < len(bare) and _PLACE_CHARS.fullmatch(bare[size]):  # "南岸区" + 交通局: the 区 too
                size += 1
                prefix = bare[:size]
            return bool(_PLACES.fullmatch(prefix))
    return False


def match_unit(written: str | None, units: list[Unit]) -> UnitMatch:
    """The unit among ``units`` that the report's ``written`` name means (see the module)."""
    result = UnitMatch(written)
    if not written:
        return result
    by_id = {unit.id: unit for unit in units}
    exact = [unit for unit in units if _same(written, unit, by_id.get(unit.parent_id))]
    if exact:
        longest = max(len(_loose(unit.name)) for unit in exact)
        exact = [unit for unit in exact if len(_loose(unit.name)) == longest]
        if len(exact) > 1:  # "交通运输局" under several counties: the one whose county is named
            exact = [unit for unit in exact if unit.parent_id in by_id
                     and _loose(by_id[unit.parent_id].name)[:2] in _loose(written)] or exact
        if len(exact) == 1:
            result.unit = exact[0]
            return result
        result.near = exact[0]  # still several: a person says which
        return result
    best, score = None, 0.0
    for tail in _tails(written):  # "商丘市杞县交通局": also "杞县交通局"
        place = _place(tail)
        if not place:
            continue
        for unit in units:
            if _place(unit.name) != place:
                continue
            ratio = SequenceMatcher(None, _loose(tail)[len(place):], _loose(unit.name)[len(place):]).ratio()
            if ratio > score:
                best, score = unit, ratio
    if best is not None and score >= NEAR_RATIO:
        result.near = best
    return result


def _tails(written: str) -> list[str]:
    """The name, and what follows each place word near its start."""
    bare = _bare(written)
    return [bare] + [bare[end.end():] for end in re.finditer(r"(?:省|市|自治区|自治州|州|盟|地区)", bare[:12])]


def find_named(text: str, units: list[Unit]) -> Unit | None:
    """A unit of the system named in ``text`` (a report's first lines), the longest name first:
    for reports whose own words the parser could not read as a name."""
    loose = _loose(text)
    for unit in sorted(units, key=lambda unit: len(_loose(unit.name)), reverse=True):
        name = _loose(unit.name)
        if len(name) >= 4 and _place(unit.name) and name in loose:
            return unit
    return None

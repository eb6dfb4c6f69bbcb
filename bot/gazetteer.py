"""County gazetteer (地名库): load it and find the places a citizen mentions.

The gazetteer is the county profile's `gazetteer.yml` (schema documented in that file). Matching
is exact first, then by toneless pinyin so that ASR homophones ("建洋镇", "双和村") resolve to the
real name ("建阳镇", "双河村").
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from pypinyin import Style, lazy_pinyin

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROFILE_DIR = REPO_ROOT / "county" / "jianhu"

# Kinds of places, in the order they make an address more precise.
TOWN, VILLAGE, ESTATE, ROAD, LANDMARK = "town", "village", "estate", "road", "landmark"


@dataclass(frozen=True)
class Place:
    name: str  # canonical name
    kind: str  # TOWN | VILLAGE | ESTATE | ROAD | LANDMARK
    town: str | None  # canonical name of the town it belongs to (itself for a town)
    alias: str  # the form matched against the text


@dataclass(frozen=True)
class PlaceMention:
    place: Place
    start: int
    end: int
    said: str  # the text as the citizen said/typed it (may be a homophone)

    @property
    def exact(self) -> bool:
        return self.said == self.place.alias


# Generic address parts not in the gazetteer: 三组, 5号, 3栋2单元301室, 某某小区, 某某路.
_CN = "一二三四五六七八九十两零0-9"
GENERIC_DETAIL_RE = re.compile(
    rf"([\u4e00-\u9fa5]{{1,6}}(?:村|社区|小区|花园|家园|新村|花苑|公寓|大街|大道|路|街|巷|弄))?"
    rf"(?:[{_CN}]+(?:组|队)|[{_CN}]+号(?:楼)?|[{_CN}]+(?:栋|幢)(?:[{_CN}]+单元)?(?:[{_CN}]+室)?)"
)
NAMED_DETAIL_RE = re.compile(
    r"([\u4e00-\u9fa5]{2,6}(?:村|社区|小区|花园|家园|新村|花苑|公寓|大街|大道|路|街|巷|市场|学校|小学|中学|医院|卫生院|公园|广场))"
)
# Housing estates are named so distinctively that even inside a long description they are places.
ESTATE_RE = re.compile(
    r"([\u4e00-\u9fa5]{2,5}(?:小区|花园|家园|新村|花苑|公寓|社区)(?:[一二三四五六七八九十0-9]+(?:号楼|栋|幢|号))?)"
)
# Words that may precede a generic place name but are not part of it.
_LEADING_NOISE = re.compile(r"^(?:我们|我家|家里|家|我|在|住|就|的|是|那个|这个|那|这|他们|旁边|附近|门口|对面)+")


@dataclass
class Gazetteer:
    county: str
    county_aliases: list[str]
    places: list[Place] = field(default_factory=list)

    @property
    def towns(self) -> list[Place]:
        return [p for p in self.places if p.kind == TOWN and p.alias == p.name]

    def words(self) -> list[tuple[str, str]]:
        """(word, kind) for every name and alias: the jieba user dictionary and lookup tables."""
        seen: dict[str, str] = {}
        for name in [self.county, *self.county_aliases]:
            seen.setdefault(name, "county")
        for place in self.places:
            seen.setdefault(place.alias, place.kind)
        return list(seen.items())

    # -- matching -------------------------------------------------------------------------
    def find(self, text: str) -> list[PlaceMention]:
        """All non-overlapping place mentions, longest and exact first, in text order."""
        mentions = self._exact(text)
        taken = [(m.start, m.end) for m in mentions]
        for m in self._by_pinyin(text):
            if all(m.end <= s or m.start >= e for s, e in taken):
                mentions.append(m)
                taken.append((m.start, m.end))
        return sorted(mentions, key=lambda m: m.start)

    def _exact(self, text: str) -> list[PlaceMention]:
        out: list[PlaceMention] = []
        taken: list[tuple[int, int]] = []
        for place in _by_length(self.places):
            start = text.find(place.alias)
            while start >= 0:
                end = start + len(place.alias)
                if all(end <= s or start >= e for s, e in taken):
                    out.append(PlaceMention(place, start, end, place.alias))
                    taken.append((start, end))
                start = text.find(place.alias, end)
        return out

    def _by_pinyin(self, text: str) -> list[PlaceMention]:
        chars = list(text)
        if not chars:
            return []
        syllables = _pinyin(text)
        out: list[PlaceMention] = []
        for place in _by_length(self.places):
            name = place.alias
            # Short aliases ("建阳") would match far too much by sound alone.
            if len(name) < 3:
                continue
            target = _pinyin(name)
            n = len(name)
            for i in range(0, len(chars) - n + 1):
                window = text[i : i + n]
                if window == name or not _is_cjk(window):
                    continue
                # The generic suffix (镇/村/路…) must be said as is, and at least one other
                # character must match exactly: keeps "建洋镇" but not random sound-alikes.
                if window[-1] != name[-1]:
                    continue
                if sum(1 for a, b in zip(window, name, strict=True) if a == b) < 2:
                    continue
                if syllables[i : i + n] == target:
                    out.append(PlaceMention(place, i, i + n, window))
        return out

    def town_named(self, name: str) -> Place | None:
        for p in self.places:
            if p.kind == TOWN and (p.name == name or p.alias == name):
                return Place(p.town or p.name, TOWN, p.town or p.name, p.town or p.name)
        return None


def _is_cjk(text: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in text)


@lru_cache(maxsize=4096)
def _pinyin_cached(text: str) -> tuple[str, ...]:
    return tuple(_fold(s) for s in lazy_pinyin(text, style=Style.NORMAL, errors=lambda x: list(x)))


def _pinyin(text: str) -> list[str]:
    syl = list(_pinyin_cached(text))
    # lazy_pinyin returns one syllable per CJK char; keep alignment with characters.
    if len(syl) != len(text):
        syl = [(_pinyin_cached(ch) or (ch,))[0] for ch in text]
    return syl


def _fold(syllable: str) -> str:
    """Fold sounds that Jianghuai-Mandarin speakers and ASR confuse: -ng/-n, zh/z, ch/c, sh/s, l/n."""
    s = syllable.lower()
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(a):
            s = b + s[len(a) :]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng") and len(s) > 2:
        s = s[:-1]
    return s


def _by_length(places: Iterable[Place]) -> list[Place]:
    return sorted(places, key=lambda p: len(p.alias), reverse=True)


def load_gazetteer(profile_dir: os.PathLike[str] | str | None = None) -> Gazetteer:
    """Load `gazetteer.yml` from the county profile folder (env MINSHENG_COUNTY_DIR)."""
    directory = Path(profile_dir or os.environ.get("MINSHENG_COUNTY_DIR") or DEFAULT_PROFILE_DIR)
    path = directory / "gazetteer.yml"
    with open(path, encoding="utf-8") as fh:
        raw = yaml.safe_load(fh) or {}
    county = raw.get("county") or {}
    gaz = Gazetteer(county=county.get("name", ""), county_aliases=list(county.get("aliases") or []))
    for town in raw.get("towns") or []:
        tname = town["name"]
        for alias in [tname, *(town.get("aliases") or [])]:
            gaz.places.append(Place(tname, TOWN, tname, alias))
        for village in town.get("villages") or []:
            vname = village["name"] if isinstance(village, dict) else str(village)
            gaz.places.append(Place(vname, VILLAGE, tname, vname))
        for kind, key in ((ROAD, "roads"), (ESTATE, "estates"), (LANDMARK, "landmarks")):
            for item in town.get(key) or []:
                name = item["name"] if isinstance(item, dict) else str(item)
                gaz.places.append(Place(name, kind, tname, name))
    return gaz


@lru_cache(maxsize=4)
def _cached(profile_dir: str) -> Gazetteer:
    return load_gazetteer(profile_dir)


def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (loaded once)."""
    return _cached(str(os.environ.get("MINSHENG_COUNTY_DIR") or DEFAULT_PROFILE_DIR))


@dataclass
class AddressMatch:
    """What a message says about where the matter is."""

    town: str | None = None
    parts: list[str] = field(default_factory=list)  # village / estate / road / number, said order
    mentions: list[PlaceMention] = field(default_factory=list)
    corrected_text: str = ""  # the message with homophones replaced by the real names

    @property
    def detail(self) -> str | None:
        return "".join(self.parts) or None

    @property
    def found(self) -> bool:
        return bool(self.town or self.parts)

    @property
    def location(self) -> str | None:
        if not self.found:
            return None
        detail = self.detail or ""
        if self.town and detail.startswith(self.town):
            return detail
        return f"{self.town or ''}{detail}"


def match_address(text: str, gazetteer: Gazetteer | None = None, *, strict: bool = False) -> AddressMatch:
    """Town, village/estate/road and house number mentioned in the text.

    strict: the text is not an answer to "在哪里" (e.g. a whole description): only gazetteer
    places count, plus house numbers / groups right after one ("双河村三组", "钟庄花园12号楼").
    Otherwise any "…小区", "…路" the citizen names is taken as part of the address.
    """
    gaz = gazetteer or get_gazetteer()
    mentions = gaz.find(text)
    corrected = text
    for m in sorted(mentions, key=lambda m: m.start, reverse=True):
        if not m.exact:
            corrected = corrected[: m.start] + m.place.alias + corrected[m.end :]
    result = AddressMatch(mentions=mentions, corrected_text=corrected)
    towns = [m.place.town for m in mentions if m.place.kind == TOWN]
    others = [m for m in mentions if m.place.kind != TOWN]
    if towns:
        result.town = towns[0]
    elif others:
        # A village, estate or road belongs to one town: the town follows from it.
        owner = {m.place.town for m in others}
        if len(owner) == 1:
            result.town = owner.pop()
    covered: list[tuple[int, int]] = [(m.start, m.end) for m in mentions]
    spans: list[tuple[int, str]] = [(m.start, m.place.name) for m in others]
    # Generic parts the gazetteer does not list (组, 号, 栋, a new estate or road name).
    mention_ends = {m.end for m in mentions}
    for regex in (GENERIC_DETAIL_RE, ESTATE_RE) if strict else (GENERIC_DETAIL_RE, NAMED_DETAIL_RE):
        for gm in regex.finditer(corrected):
            if not gm.group(0):
                continue
            s, e = gm.start(), gm.end()
            if strict and regex is GENERIC_DETAIL_RE and not any(s <= end <= e for end in mention_ends):
                continue
            part = gm.group(0)
            # Drop the prefix that overlaps a gazetteer mention (e.g. "双河村三组" -> "三组").
            for cs, ce in sorted(covered):
                if cs < e and ce > s and ce < e:
                    s = max(s, ce)
            part = corrected[s:e]
            if regex is not GENERIC_DETAIL_RE:
                # "村口那条路": keep only what follows the last function word.
                cut = max((part.rfind(ch) for ch in _FUNCTION_CHARS), default=-1)
                if cut >= 0:
                    s += cut + 1
                    part = corrected[s:e]
            if not part or any(cs <= s and e <= ce for cs, ce in covered):
                continue
            stripped = _LEADING_NOISE.sub("", part)
            s += len(part) - len(stripped)
            part = stripped
            if len(part) < 2 or any(not (e <= cs or s >= ce) for cs, ce in covered):
                continue
            if regex is not GENERIC_DETAIL_RE and _is_vague(part):
                continue
            spans.append((s, part))
            covered.append((s, e))
    result.parts = [p for _, p in sorted(spans)]
    return result


_FUNCTION_CHARS = "的那这条个边们了是在我你他她它很也都就还有没把被从到和跟与往"
# "上个月小区着火": a time word before 小区 is no estate name ("月小区").
_VAGUE = re.compile(
    r"^(?:这条|那条|这个|那个|一条|马|公|大马|小|门口|村口|路口|村里|我们村|附近"
    r"|(?:月|天|年|周|号|今年|去年|前年|今天|昨天|前天|最近|现在|以前|之前|后来)(?:小区|花园|社区|家园|新村|公寓|花苑)$)"
)


def _is_vague(part: str) -> bool:
    """ "那条路", "我们村", "马路" are not an address."""
    return bool(_VAGUE.match(part)) or part in {"马路", "公路", "大路", "小路", "街", "大街", "村"}

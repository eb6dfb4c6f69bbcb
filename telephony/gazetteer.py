"""Place names in recognised text matched against the county gazetteer, homophones included.

ASR often writes a place with the right sounds and wrong characters (上岗镇 for 上冈镇, 中庄 for
钟庄). We compare pinyin without tones, and for names of 3+ characters also a "fuzzy" pinyin
that merges what Jianghuai Mandarin speakers (Jianhu's dialect) do not distinguish:
zh/z, ch/c, sh/s, n/l, -ng/-n.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pypinyin import Style, lazy_pinyin


@dataclass(frozen=True)
class Place:
    name: str  # canonical name as written in the gazetteer
    kind: str  # county | town | village | road | estate | landmark
    town_id: str | None
    grid: str | None = None


@dataclass(frozen=True)
class PlaceMatch:
    place: Place
    heard: str  # the characters as recognised
    surface: str  # the gazetteer spelling that sounds like it (name or alias)
    start: int
    end: int
    exact: bool  # characters identical (False: matched by sound)


def _pinyin(text: str) -> list[str]:
    return lazy_pinyin(text, style=Style.NORMAL, errors=lambda s: list(s))


def _fuzzy(syllable: str) -> str:
    s = syllable
    for a, b in (("zh", "z"), ("ch", "c"), ("sh", "s")):
        if s.startswith(a):
            s = b + s[2:]
    if s.startswith("l"):
        s = "n" + s[1:]
    if s.endswith("ng"):
        s = s[:-1]
    return s


class Gazetteer:
    def __init__(self, places: list[tuple[str, Place]]) -> None:
        # entries: (surface form, place) — aliases map to the canonical place
        self._exact: dict[str, Place] = {}
        self._sound: dict[tuple[str, ...], tuple[str, Place]] = {}
        self._fuzzy: dict[tuple[str, ...], tuple[str, Place]] = {}
        for surface, place in places:
            if len(surface) < 2:
                continue
            self._exact.setdefault(surface, place)
            py = tuple(_pinyin(surface))
            self._sound.setdefault(py, (surface, place))
            if len(surface) >= 3:
                self._fuzzy.setdefault(tuple(_fuzzy(s) for s in py), (surface, place))
        self.lengths = sorted({len(s) for s in self._exact}, reverse=True)

    @classmethod
    def load(cls, path: str | Path) -> Gazetteer:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        entries: list[tuple[str, Place]] = []
        county = data.get("county") or {}
        if county.get("name"):
            place = Place(county["name"], "county", None)
            entries += [(n, place) for n in [county["name"], *(county.get("aliases") or [])]]
        for town in data.get("towns") or []:
            tid = town.get("id")
            tplace = Place(town["name"], "town", tid)
            entries += [(n, tplace) for n in [town["name"], *(town.get("aliases") or [])]]
            for v in town.get("villages") or []:
                entries.append((v["name"], Place(v["name"], "village", tid, v.get("grid"))))
            for kind, key in (("road", "roads"), ("estate", "estates"), ("landmark", "landmarks")):
                for name in town.get(key) or []:
                    entries.append((name, Place(name, kind, tid)))
        # Longer and more specific names win: villages before their town's short alias.
        return cls(entries)

    def find(self, text: str) -> list[PlaceMatch]:
        """Non-overlapping place mentions, longest first, scanning left to right."""
        py = _pinyin(text)
        if len(py) != len(text):  # pypinyin keeps one item per character with our errors handler
            py = [(_pinyin(ch) or [ch])[0] for ch in text]
        fz = [_fuzzy(s) for s in py]
        out: list[PlaceMatch] = []
        i = 0
        while i < len(text):
            hit: PlaceMatch | None = None
            for n in self.lengths:
                if i + n > len(text):
                    continue
                chunk = text[i:i + n]
                exact_place = self._exact.get(chunk)
                found = (chunk, exact_place) if exact_place is not None else self._sound.get(tuple(py[i:i + n]))
                if found is None and n >= 3:
                    found = self._fuzzy.get(tuple(fz[i:i + n]))
                if found is not None:
                    hit = PlaceMatch(found[1], chunk, found[0], i, i + n, exact_place is not None)
                    break
            if hit is not None:
                out.append(hit)
                i = hit.end
            else:
                i += 1
        return out

    def correct(self, text: str) -> tuple[str, list[PlaceMatch]]:
        """Replace homophone spellings with the gazetteer's; aliases are kept as said."""
        matches = self.find(text)
        parts: list[str] = []
        last = 0
        for m in matches:
            parts.append(text[last:m.start])
            parts.append(m.surface)
            last = m.end
        parts.append(text[last:])
        return "".join(parts), matches

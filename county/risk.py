"""六方联动 risk judge: which partners should see a citizen's message, and is it an emergency.

An operator does not flag a message because a word occurs in it: "熏得想跳楼" is a figure of speech,
"没有人受伤" says nobody is hurt, "救命" about a burst pipe asks for a plumber, "新闻上说要打击诈骗"
reports the news, "去年上访过" is background. This module reads as an operator does, with the rules
of docs/labelling.md §四 written down in county/<county>/linkage.yml:

- a *signal* is a pattern for one kind of risk (violence, self-harm, a crash with someone hurt, a mass
  incident, a petition to Beijing, a bribe taken by a named official …), the partners it concerns,
  the emergency number it calls for and whether a person's life or body is at risk;
- a signal may need a companion pattern in the same sentence (`with`: an official *and* an act);
- *guards* stop a match that the context contradicts (`unless`): negation just before it, hyperbole
  ("…得都想…"), reported or quoted news, background that is over, a question about procedure.

Pure Python (stdlib + PyYAML) so the API (.venv, Python 3.11) and the Rasa bot and actions
(.venv-rasa, Python 3.10) import the same judge:

    from county.risk import judge
    j = judge("他拿着菜刀追着我老婆砍")
    j.partners == frozenset({"110"}); j.emergency == "110"; j.harm is True
    j.reasons[0].rule == "violence"
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

Emergency = Literal["110", "119", "120"]
EMERGENCIES: tuple[str, ...] = ("110", "119", "120")
DEFAULT_RULES = Path(__file__).resolve().parent / "jianhu" / "linkage.yml"
# Partners whose flag means a person should look now rather than in the daily list (hub risk queue).
RISK_PARTNERS = frozenset({"110", "政法委"})
GUARD_SCOPES = ("before", "after", "wrap", "clause", "sentence_before", "sentence", "text")

# Sentence ends; clause ends (commas, enumeration comma, colon and ASR's word gaps) are finer.
_SENTENCE_END = re.compile(r"[。!?;…\n]")
_CLAUSE_END = re.compile(r"[。!?;…\n,、:\s]")
_SPACES = re.compile(r"[ \t\u3000]+")


@dataclass(frozen=True)
class Reason:
    """One rule that fired: its id, the partners it flags, the words that matched, and why."""

    rule: str
    partners: tuple[str, ...]
    evidence: str
    why: str

    def __str__(self) -> str:
        return f"{self.why}（“{self.evidence}”）"


@dataclass(frozen=True)
class RiskJudgement:
    partners: frozenset[str] = frozenset()
    emergency: Emergency | None = None
    harm: bool = False
    reasons: tuple[Reason, ...] = ()
    order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def ordered_partners(self) -> list[str]:
        """Flagged partner ids in linkage.yml order (stable for storage and display)."""
        return [p for p in self.order if p in self.partners] + sorted(self.partners - set(self.order))

    @property
    def needs_person_now(self) -> bool:
        """An emergency, a threat to someone's life or body, or a 110/政法委 matter: a person looks now."""
        return self.emergency is not None or self.harm or bool(self.partners & RISK_PARTNERS)

    def reason_for(self, partner: str) -> str:
        """The push list's explanation for one partner: every rule that flagged it."""
        return "；".join(str(r) for r in self.reasons if partner in r.partners) or "按诉求类别"


@dataclass(frozen=True)
class _Guard:
    name: str
    why: str
    scopes: tuple[tuple[str, re.Pattern[str]], ...]


@dataclass(frozen=True)
class _Signal:
    id: str
    why: str
    partners: tuple[str, ...]
    match: re.Pattern[str]
    with_: re.Pattern[str] | None
    unless: tuple[_Guard, ...]
    emergency: str | None
    harm: bool


@dataclass(frozen=True)
class _CategoryRule:
    partner: str
    level1: str
    level2: str | None
    level3: str | None

    def matches(self, level1: str | None, level2: str | None, level3: str | None) -> bool:
        return (
            self.level1 == level1
            and (self.level2 is None or self.level2 == level2)
            and (self.level3 is None or self.level3 == level3)
        )


def normalise(text: str) -> str:
    """NFKC width folding (full-width punctuation to ASCII), lower case, runs of spaces to one."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text or "").lower()).strip()


def _span(text: str, start: int, end: int, boundary: re.Pattern[str]) -> tuple[int, int]:
    left = max((m.end() for m in boundary.finditer(text, 0, start)), default=0)
    right = boundary.search(text, end)
    return left, right.start() if right else len(text)


def _compile(pattern: str, vocabulary: Mapping[str, str], where: str) -> re.Pattern[str]:
    """A rule pattern with {name} placeholders expanded from the vocabulary."""
    try:
        expanded = re.sub(r"\{(\w+)\}", lambda m: f"(?:{vocabulary[m.group(1)]})", pattern)
        return re.compile(expanded)
    except KeyError as e:
        raise ValueError(f"{where}: unknown vocabulary name {e}") from None
    except re.error as e:
        raise ValueError(f"{where}: bad pattern {pattern!r}: {e}") from None


class RiskJudge:
    """The rules of one linkage.yml, compiled once; judge() is pure and thread-safe."""

    def __init__(self, rules: Mapping[str, Any]) -> None:
        vocabulary = {str(k): str(v) for k, v in (rules.get("vocabulary") or {}).items()}
        partners = rules.get("partners") or []
        self.partner_ids: tuple[str, ...] = tuple(str(p["id"]) for p in partners)
        known = set(self.partner_ids)
        self._categories = [
            _CategoryRule(str(p["id"]), c["level1"], c.get("level2"), c.get("level3"))
            for p in partners
            for c in p.get("categories") or []
        ]
        guards: dict[str, _Guard] = {}
        for name, spec in (rules.get("guards") or {}).items():
            scopes = tuple(
                (scope, _compile(str(spec[scope]), vocabulary, f"guard {name}.{scope}"))
                for scope in GUARD_SCOPES
                if scope in spec
            )
            if not scopes:
                raise ValueError(f"guard {name}: needs one of {', '.join(GUARD_SCOPES)}")
            guards[name] = _Guard(name, str(spec.get("why", name)), scopes)
        self._signals: list[_Signal] = []
        for spec in rules.get("signals") or []:
            sid = str(spec["id"])
            flagged = tuple(str(p) for p in spec.get("partners") or [])
            if not flagged or set(flagged) - known:
                raise ValueError(f"signal {sid}: partners {flagged} must be among {sorted(known)}")
            emergency = spec.get("emergency")
            if emergency is not None and str(emergency) not in EMERGENCIES:
                raise ValueError(f"signal {sid}: emergency must be one of {EMERGENCIES}")
            missing = [g for g in spec.get("unless") or [] if g not in guards]
            if missing:
                raise ValueError(f"signal {sid}: unknown guards {missing}")
            self._signals.append(
                _Signal(
                    id=sid,
                    why=str(spec["why"]),
                    partners=flagged,
                    match=_compile(str(spec["match"]), vocabulary, f"signal {sid}.match"),
                    with_=_compile(str(spec["with"]), vocabulary, f"signal {sid}.with") if spec.get("with") else None,
                    unless=tuple(guards[g] for g in spec.get("unless") or []),
                    emergency=str(emergency) if emergency is not None else None,
                    harm=bool(spec.get("harm", False)),
                )
            )
        priority = [str(e) for e in rules.get("emergency_priority") or EMERGENCIES]
        self._priority = {e: i for i, e in enumerate(priority)}

    @classmethod
    def from_file(cls, path: Path | str) -> RiskJudge:
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})

    @property
    def signal_ids(self) -> list[str]:
        return [s.id for s in self._signals]

    def _guarded(self, signal: _Signal, text: str, start: int, end: int) -> bool:
        c0, c1 = _span(text, start, end, _CLAUSE_END)
        s0, s1 = _span(text, start, end, _SENTENCE_END)
        views = {
            "before": text[c0:start],
            "after": text[end:c1],
            "wrap": text[start - 1 : start] + text[end : end + 1],  # scare quotes around the words
            "clause": text[c0:c1],
            "sentence_before": text[s0:start],
            "sentence": text[s0:s1],
            "text": text,
        }
        return any(p.search(views[scope]) for g in signal.unless for scope, p in g.scopes)

    def _fires(self, signal: _Signal, text: str) -> str | None:
        """The evidence of the first unguarded match of a signal, or None."""
        for m in signal.match.finditer(text):
            if not m.group(0) or self._guarded(signal, text, m.start(), m.end()):
                continue
            if signal.with_ is None:
                return m.group(0)
            # the companion ("有人受伤") is read in context too: "没有人受伤" does not count
            s0, s1 = _span(text, m.start(), m.end(), _SENTENCE_END)
            for c in signal.with_.finditer(text, s0, s1):
                if c.group(0) and not self._guarded(signal, text, c.start(), c.end()):
                    first, second = sorted((m, c), key=lambda x: x.start())
                    return f"{first.group(0)}…{second.group(0)}" if first is not second else m.group(0)
        return None

    def judge(
        self, text: str, *, level1: str | None = None, level2: str | None = None, level3: str | None = None
    ) -> RiskJudgement:
        """Judge one message (title and body together). The category, when known, adds category rules."""
        plain = normalise(text)
        reasons: list[Reason] = []
        partners: set[str] = set()
        emergency: str | None = None
        harm = False
        for signal in self._signals:
            evidence = self._fires(signal, plain)
            if evidence is None:
                continue
            reasons.append(Reason(signal.id, signal.partners, evidence, signal.why))
            partners.update(signal.partners)
            harm = harm or signal.harm
            if signal.emergency and (
                emergency is None or self._priority.get(signal.emergency, 99) < self._priority.get(emergency, 99)
            ):
                emergency = signal.emergency
        if level1:
            for rule in self._categories:
                if rule.partner not in partners and rule.matches(level1, level2, level3):
                    label = "/".join(x for x in (rule.level1, rule.level2, rule.level3) if x)
                    reasons.append(Reason("category", (rule.partner,), label, "诉求类别属联动方职责"))
                    partners.add(rule.partner)
        return RiskJudgement(
            partners=frozenset(partners),
            emergency=emergency,  # type: ignore[arg-type]  # validated against EMERGENCIES at load
            harm=harm,
            reasons=tuple(reasons),
            order=self.partner_ids,
        )


@lru_cache(maxsize=8)
def load_judge(path: str | None = None) -> RiskJudge:
    """The judge of one linkage.yml (default: the county's), compiled once per process."""
    return RiskJudge.from_file(path or DEFAULT_RULES)


def judge(
    text: str,
    *,
    level1: str | None = None,
    level2: str | None = None,
    level3: str | None = None,
    rules: Path | str | None = None,
) -> RiskJudgement:
    """Judge a citizen's message with the county's 六方联动 rules (see the module docstring)."""
    return load_judge(str(rules) if rules else None).judge(text, level1=level1, level2=level2, level3=level3)


def flagged(texts: Iterable[str], partner: str, *, rules: Path | str | None = None) -> int:
    """How many of the texts a partner is flagged on (for flag-rate measurements)."""
    return sum(partner in judge(t, rules=rules).partners for t in texts)

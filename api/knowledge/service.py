"""FAQ retrieval: TF-IDF over jieba words and character bigrams, cosine similarity.

Every FAQ entry is indexed once per phrasing (the canonical question and each alternative);
an entry scores the best of its phrasings. Below THRESHOLD nothing is answered, so a
complaint or an unrelated question goes on to the intake instead of getting a wrong answer.
The index is built at first use from the county profile (api.county.load_profile).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import jieba
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from api.county import county_profile
from api.county.models import FaqEntry

# Calibrated on the profile (tests/api/test_knowledge.py): the FAQ's own phrasings reworded
# score well above, complaints and other topics well below.
THRESHOLD = 0.42
# "我想咨询一下医保" leaves "医保": too little to pick one of several 医保 answers.
MIN_CONTENT_CHARS = 3

# Words that say "this is a question" but not what about; they would make every question alike.
FILLER = re.compile(
    r"(你好|您好|请问一下|请问|我想问一下|我想问问|我想问|想问一下|问一下|我想咨询一下|我想咨询|咨询一下|"
    r"我要咨询|咨询|我想了解一下|我想了解|了解一下|麻烦问一下|麻烦你|麻烦|谢谢|"
    r"怎么办理|怎么办|怎么弄|怎么样|如何|怎么|怎样|什么|哪里|哪儿|多少|能不能|可不可以|可以吗|能吗|有没有|"
    r"投诉|举报|反映|"
    r"吗|呢|吧|啊|呀|的|了|一下|我|你们|我们|是不是)"
)
PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return PUNCT.sub(" ", FILLER.sub(" ", text)).strip()


def analyse(text: str) -> list[str]:
    """jieba words (2+ characters) plus character bigrams within each clause."""
    plain = normalise(text)
    features: list[str] = []
    for clause in plain.split():
        features += [w for w in jieba.lcut(clause) if len(w) >= 2]
        features += [clause[i : i + 2] for i in range(len(clause) - 1)]
        if len(clause) == 1:
            features.append(clause)
    return features


@dataclass(frozen=True)
class Match:
    entry: FaqEntry
    score: float


class FaqIndex:
    def __init__(self, entries: list[FaqEntry], threshold: float = THRESHOLD) -> None:
        if not entries:
            raise ValueError("the FAQ is empty")
        self.entries = list(entries)
        self.threshold = threshold
        self._owner: list[int] = []
        phrasings: list[str] = []
        for i, entry in enumerate(self.entries):
            for text in (entry.question, *entry.alternatives):
                phrasings.append(text)
                self._owner.append(i)
        self._vectorizer = TfidfVectorizer(analyzer=analyse, sublinear_tf=True, norm="l2")
        self._matrix = self._vectorizer.fit_transform(phrasings).tocsc()
        self._max_idf = float(self._vectorizer.idf_.max())

    def rank(self, text: str, limit: int = 3) -> list[Match]:
        """The best `limit` entries for `text`, best first (whatever their score)."""
        if len(normalise(text).replace(" ", "")) < MIN_CONTENT_CHARS:
            return []  # "我想咨询一下医保": a topic, not a question yet
        query = self._vectorizer.transform([text])
        sims = (self._matrix @ query.T).toarray().ravel()
        # How much of the question (IDF-weighted) the phrasing contains: "小区里乱停车" shares
        # "小区" with "小区里流浪狗多" — similar words, another matter.
        # Words the FAQ never uses count fully (as the rarest words) against the coverage.
        features = set(analyse(text))
        vocabulary = self._vectorizer.vocabulary_
        known = [vocabulary[f] for f in features if f in vocabulary]
        unknown_weight = self._max_idf * (len(features) - len(known))
        weights = self._vectorizer.idf_[known]
        present = (self._matrix[:, known] > 0).toarray()
        coverage = (present @ weights) / (weights.sum() + unknown_weight)
        best: dict[int, float] = {}
        for row, sim in enumerate(sims):
            owner = self._owner[row]
            score = float(np.sqrt(sim * coverage[row]))
            if score > best.get(owner, -1.0):
                best[owner] = score
        ordered = sorted(best.items(), key=lambda kv: kv[1], reverse=True)[:limit]
        return [Match(self.entries[i], round(score, 4)) for i, score in ordered]

    def best(self, text: str) -> Match | None:
        ranked = self.rank(text, limit=1)
        return ranked[0] if ranked else None


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _default_index() -> FaqIndex:
    return FaqIndex(county_profile().faq.faqs)


def get_index() -> FaqIndex:
    with _lock:  # two first requests at once build it once
        return _default_index()


def answer(*, text: str, index: FaqIndex | None = None) -> tuple[Match | None, bool]:
    """(best match or None, whether it clears the threshold)."""
    index = index or get_index()
    match = index.best(text)
    return match, bool(match and match.score >= index.threshold)

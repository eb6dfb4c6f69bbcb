"""The linear demand-type model (scikit-learn only, no Rasa): what DemandTypeEnsemble trains and loads.

Input is the citizen's raw text; the model reads it in several views, each its own TF-IDF vocabulary:
- head: the ask text (title and opening, salutation removed, bot/demand_text.py), character 1–3-grams;
- tail: the closing of the message, where written letters put "恳请…""强烈要求…""建议…" (the guide's
  main ask is often "in the closing plea", docs/labelling.md §一.2);
- cues: the guide's decisive cue words counted over the whole text (举报/涉嫌/违规/查处 for a report,
  建议/希望/能否/呼吁 for a suggestion, 请问/是否/吗 for a question, 要求/赔偿/给个说法 for a complaint),
  once anywhere and once in the title, so a long letter's cue in paragraph five still counts.
Which views are on were picked by 5-fold cross-validation on the real TRAIN split
(scripts/data/demand_cv.py, C=10; macro-F1 over 投诉/咨询/建议/举报): head alone 0.685, head + cues
0.735 (举报 recall 0.32 → 0.53, 建议 0.69 → 0.77, 咨询 0.70 → 0.85), head + tail 0.682, all three
0.730 — so the component runs head + cues. The test split was scored once afterwards.
"""

from __future__ import annotations

import math
import re
from typing import Any

from bot.demand_text import ask_text, spoken

__all__ = ["CUES", "DemandViews", "fit_demand_model"]

TAIL_CHARS = 120
CUES: dict[str, tuple[str, ...]] = {
    "report": ("举报", "检举", "揭发", "涉嫌", "违规", "违法", "非法", "无证", "偷排", "偷税", "漏税", "查处",
               "取缔", "严查", "彻查", "依法处理", "骗取", "套取", "虚报", "冒领", "贪污", "受贿", "传销", "赌博",
               "私自", "擅自", "违建", "违章"),
    "suggestion": ("建议", "希望", "能否", "可否", "呼吁", "提议", "增设", "开通", "修建", "规划", "优化", "完善",
                   "出台", "设立", "加装", "倡议", "是否可以"),
    "question": ("请问", "咨询", "是否", "能不能", "可不可以", "怎么办", "如何", "哪些", "什么时候", "多少", "吗",
                 "？", "?", "有没有", "想了解", "怎样", "为什么", "何时"),
    "grievance": ("投诉", "要求", "赔偿", "说法", "至今", "没人管", "不作为", "损失", "扰民", "严重", "拖欠",
                  "维权", "退还", "强烈"),
}
_TITLE_END = re.compile(r"[。！？!?]")


def title_of(text: str) -> str:
    m = _TITLE_END.search(text[:80])
    return text[: m.start()] if m else ""


def cue_tokens(text: str) -> list[str]:
    """One token per cue group and hit count bucket, anywhere and in the title."""
    title = title_of(text)
    out: list[str] = []
    for group, words in CUES.items():
        n = sum(text.count(w) for w in words)
        if n:
            out.append(f"{group}:any")
            out += [f"{group}:{min(3, int(math.log2(n)) + 1)}"]
        if title and any(w in title for w in words):
            out.append(f"{group}:title")
    return out


class DemandViews:
    """Picks one view of the raw text (a module-level class so the fitted model pickles)."""

    def __init__(self, view: str) -> None:
        self.view = view

    def __call__(self, text: str) -> str:
        if self.view == "head":
            return ask_text(text)
        if self.view == "tail":
            return ask_text(text[-TAIL_CHARS:]) if len(text) > TAIL_CHARS else ""
        raise ValueError(self.view)


def fit_demand_model(texts: list[str], labels: list[str], *, c: float = 10.0, max_ngram: int = 3,
                     tail: bool = False, cues: bool = False) -> Any:
    """TF-IDF character n-grams (+ optional tail and cue views) + class-balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline

    # every example also as the recogniser would deliver it (no punctuation): the voice channel
    x = list(texts) + [spoken(t) for t in texts]
    y = list(labels) * 2
    views: list[tuple[str, Any]] = [
        ("head", TfidfVectorizer(analyzer="char", ngram_range=(1, max_ngram), sublinear_tf=True,
                                 preprocessor=DemandViews("head")))]
    if tail:
        views.append(("tail", TfidfVectorizer(analyzer="char", ngram_range=(1, max_ngram), sublinear_tf=True,
                                              preprocessor=DemandViews("tail"))))
    if cues:
        views.append(("cues", TfidfVectorizer(analyzer=cue_tokens, use_idf=False, norm="l2")))
    model = make_pipeline(
        FeatureUnion(views),
        # newton-cg reaches the same optimum as lbfgs in a few steps: ~4x faster on ~150k n-gram features
        LogisticRegression(C=c, solver="newton-cg", max_iter=3000, class_weight="balanced", random_state=0),
    )
    return model.fit(x, y)

"""Demand-category classifier over the three-level taxonomy (智能派单, issue 3).

Model: jieba words (with the county gazetteer and the domain lexicon as user words) + lexicon
hit tokens + character 1–3-grams, TF-IDF, then
  level1: LinearSVC with sigmoid calibration (5-fold) -> probabilities usable for a threshold;
  level2 / level3: one LinearSVC per parent node, trained on that node's examples only, and
          reported only when its softmax margin clears a threshold (a wrong level3 misroutes,
          an absent one just falls back to the level2 row of the matrix).
Trained in-process on first use (get_classifier) from api/routing/data/train.tsv (the team's sentences
in the hotline's styles) plus the hand-labelled real messages of the TRAIN split of datasets/tipdm2020
(docs/labelling.md; the test split is never trained or tuned on): ~1.5 s on an
idle core, ~3 s on this shared 2-core box under load. Chosen over a cache under models/ because
there is then no stale model to detect and no pickle to trust; the data hash is logged instead.
Call get_classifier() once at API start (e.g. in a background thread) to keep the first
/classify request fast.

Why LinearSVC + calibration rather than logistic regression: on ~1.3k short texts with ~40k
sparse features it is both more accurate here and 5x faster to train (see bench/classifier.py).
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import re
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.sparse import csr_matrix, hstack
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.svm import LinearSVC

from api.routing.schemas import CategoryGuess, Classification

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_PATH = DATA_DIR / "train.tsv"
HELDOUT_PATH = DATA_DIR / "heldout.tsv"
LEXICON_PATH = DATA_DIR / "lexicon.yml"
LABELS_PATH = Path(__file__).resolve().parents[2] / "datasets" / "tipdm2020" / "labels.tsv"
DEFAULT_GAZETTEER = Path(__file__).resolve().parents[2] / "county" / "jianhu" / "gazetteer.yml"

# Below these conditional probabilities the deeper level is left empty rather than guessed.
LEVEL2_MIN = 0.40
LEVEL3_MIN = 0.40
# Folds for the sigmoid calibration of level1 (each fold fits one LinearSVC; more = slower start-up).
CALIBRATION_FOLDS = 5
# A real labelled message counts this many team sentences: it is the text the model must read.
LEVEL1_C = float(os.environ.get("MINSHENG_C", "0.5"))
REAL_WEIGHT = float(os.environ.get("MINSHENG_REAL_WEIGHT", "1"))
CLASS_WEIGHT = os.environ.get("MINSHENG_CLASS_WEIGHT", "balanced") or None
# Long written messages are cut here: the title and the opening state the matter, and the classifier
# stays under 20 ms per message (the tail is mostly background, dates and courtesy).
MAX_CHARS = 400
# Fewer meaningful characters than this is not a demand we can classify ("喂", "嗯嗯", "?").
MIN_CHARS = 2
# ASR filler words carry no topic; dropping them keeps spoken and typed text alike.
_FILLERS = ("喂喂", "喂", "嗯", "呃", "啊", "哎", "那个", "就是说", "然后呢", "你好", "您好")
# Words that say "I have a matter" without saying what it is; a text made only of these is vague.
_GENERIC = (
    "我要反映",
    "我想反映",
    "反映一下",
    "反映",
    "投诉",
    "举报",
    "咨询",
    "请问",
    "问一下",
    "我想问",
    "我要",
    "我想",
    "一个问题",
    "问题",
    "一下",
    "事情",
    "情况",
    "帮帮忙",
    "帮忙",
    "帮我",
    "处理",
    "解决",
    "谢谢",
    "个",
    "的",
    "了",
    "吗",
    "呢",
    "我",
)
# How citizens address the letter ("尊敬的市委书记：", "各位领导好！", "市长您好") says who reads it, not
# what it is about (docs/labelling.md §一.3): without this, letters to a 书记 drift to 纪检监察/党务政务.
_ADDRESS = re.compile(
    r"尊敬的[^，,：:！!。\s]{0,24}[，,：:！!。]?"
    r"|(?:各位|亲爱的)?(?:领导|书记|市长|县长|区长|局长|主任|同志)(?:们)?[，,：:]?(?:您|你)(?:们)?好[！!，,。]?"
    r"|(?:各位)?领导(?:们)?好[！!，,。]?|(?:您|你)(?:们)?好[！!，,。]?"
    r"|(?:此致|致以)?敬礼[！!。]?|盼复为谢|望回复|谢谢[！!。]?|感谢[！!。]?"
)
_PUNCT = re.compile(r"[^\w]+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Example:
    text: str
    level1: str
    level2: str = ""
    level3: str = ""
    weight: float = 1.0


def load_examples(path: Path = TRAIN_PATH) -> list[Example]:
    """Read a TSV with header text, level1, level2, level3 (level2/level3 may be empty)."""
    out: list[Example] = []
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            out.append(Example(row["text"], row["level1"], row.get("level2") or "", row.get("level3") or ""))
    return out


def real_examples(split: str = "train") -> list[Example]:
    """The hand-labelled real messages of one split as examples (level1 only)."""
    from county.tipdm import labelled

    return [Example(r.text, r.level1, weight=REAL_WEIGHT) for r in labelled(split=split)]


def training_examples() -> list[Example]:
    """What the classifier learns from: the team's train.tsv plus the real TRAIN split."""
    return load_examples(TRAIN_PATH) + real_examples("train")


def data_hash(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def strip_addressing(text: str) -> str:
    """The message without its salutation and courtesy formulas (see _ADDRESS)."""
    return _ADDRESS.sub(" ", text)


def normalise(text: str) -> str:
    """Width/case folding, no whitespace (ASR output splits words with spaces), punctuation -> space."""
    s = unicodedata.normalize("NFKC", strip_addressing(text)[:MAX_CHARS]).lower()
    s = _SPACE.sub("", s)
    s = _PUNCT.sub(" ", s)
    return s.strip()


def meaningful_chars(text: str) -> int:
    """Letters/digits left once fillers and content-free request words are removed."""
    s = normalise(text)
    for f in (*_FILLERS, *_GENERIC):
        s = s.replace(f, "")
    return sum(1 for ch in s if ch.isalnum())


def load_lexicon(path: Path = LEXICON_PATH) -> list[tuple[str, str, str]]:
    """[(term, level1, level2)] from lexicon.yml."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [(normalise(str(t)), l1, l2) for l1, sub in data.items() for l2, terms in sub.items() for t in terms]


def gazetteer_words(path: Path = DEFAULT_GAZETTEER) -> list[str]:
    """Every place name in a gazetteer.yml (for the jieba user dictionary)."""
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    words: list[str] = list((data.get("county") or {}).get("aliases") or [])
    for t in data.get("towns") or []:
        words += [t["name"], *(t.get("aliases") or [])]
        words += [v["name"] for v in t.get("villages") or []]
        for key in ("roads", "estates", "landmarks"):
            words += list(t.get(key) or [])
    return words


class _Tokeniser:
    """jieba with its own dictionary instance so we never touch the process-wide one."""

    def __init__(self, user_words: Iterable[str], lexicon: Sequence[tuple[str, str, str]]) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()
        for w in user_words:
            if len(w) > 1:
                self._jieba.add_word(w, freq=2000)
        self._lexicon = list(lexicon)
        for term, _, _ in self._lexicon:
            if len(term) > 1:
                self._jieba.add_word(term, freq=2000)

    def __call__(self, text: str) -> list[str]:
        s = normalise(text)
        tokens = [w for w in self._jieba.lcut(s) if w.strip()]
        for term, l1, l2 in self._lexicon:
            if term and term in s:
                tokens.append(f"LEX1={l1}")
                tokens.append(f"LEX2={l1}/{l2}")
        return tokens


class _Level1:
    """The fitted calibrated level-1 model as plain arrays: the same probabilities, without sklearn's per-call
    input validation, which took three quarters of a classify() call (5 folds x 15 class calibrators)."""

    def __init__(self, calibrated: CalibratedClassifierCV) -> None:
        self.classes_ = calibrated.classes_
        index = {c: i for i, c in enumerate(self.classes_)}
        self._folds = []
        for fold in calibrated.calibrated_classifiers_:
            svm = fold.estimator
            # binary: one margin and one calibrator, for the second class
            columns = np.array([index[c] for c in svm.classes_])[-len(fold.calibrators):]
            a = np.array([cal.a_ for cal in fold.calibrators])
            b = np.array([cal.b_ for cal in fold.calibrators])
            self._folds.append((svm.coef_.T.copy(), svm.intercept_.copy(), columns, a, b))

    def predict_proba(self, X: csr_matrix) -> np.ndarray:
        n, k = X.shape[0], len(self.classes_)
        total = np.zeros((n, k))
        for coef, intercept, columns, a, b in self._folds:
            scores = np.asarray(X @ coef) + intercept
            proba = np.zeros((n, k))
            proba[:, columns] = 1.0 / (1.0 + np.exp(a * scores + b))
            if k == 2:
                proba[:, 0] = 1.0 - proba[:, 1]
            denominator = proba.sum(axis=1, keepdims=True)
            total += np.divide(proba, denominator, out=np.full_like(proba, 1.0 / k), where=denominator != 0)
        return total / len(self._folds)


def _softmax(scores: np.ndarray, scale: float = 3.0) -> np.ndarray:
    z = scores * scale
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


class _ChildModel:
    """Picks a child label among the examples of one parent node (level1 -> level2, level2 -> level3)."""

    def __init__(self, X: csr_matrix, labels: Sequence[str]) -> None:
        self.labels = sorted(set(labels))
        self.model: LinearSVC | None = None
        if len(self.labels) > 1:
            with warnings.catch_warnings():
                # level3 nodes have few examples per label; sklearn warns that this looks like regression
                warnings.simplefilter("ignore", UserWarning)
                self.model = LinearSVC(C=0.5).fit(X, labels)

    def predict(self, x: csr_matrix) -> tuple[str, float]:
        if self.model is None:
            return self.labels[0], 1.0
        # the decision function by hand: sklearn's input checks cost more than the product itself
        scores = np.asarray(x @ self.model.coef_.T).ravel() + self.model.intercept_
        if scores.ndim == 0 or len(self.model.classes_) == 2:  # binary: one margin
            margin = float(np.atleast_1d(scores)[0])
            p = 1.0 / (1.0 + np.exp(-3.0 * margin))
            return (str(self.model.classes_[1]), p) if margin > 0 else (str(self.model.classes_[0]), 1 - p)
        probs = _softmax(scores)
        i = int(probs.argmax())
        return str(self.model.classes_[i]), float(probs[i])


class Classifier:
    """Trained demand classifier; thread-safe for prediction."""

    def __init__(
        self, *, user_words: Iterable[str] = (), lexicon: Sequence[tuple[str, str, str]] | None = None
    ) -> None:
        self._tok = _Tokeniser(user_words, load_lexicon() if lexicon is None else lexicon)
        self._words = TfidfVectorizer(analyzer=self._tok, sublinear_tf=True)
        self._chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, preprocessor=normalise)
        self._level1: _Level1 | None = None
        self._level2: dict[str, _ChildModel] = {}
        self._level3: dict[tuple[str, str], _ChildModel] = {}
        self.classes: list[str] = []

    def _features(self, texts: Sequence[str], *, fit: bool = False) -> csr_matrix:
        if fit:
            return hstack([self._words.fit_transform(texts), self._chars.fit_transform(texts)]).tocsr()
        return hstack([self._words.transform(texts), self._chars.transform(texts)]).tocsr()

    def fit(self, examples: Sequence[Example]) -> Classifier:
        if len({e.level1 for e in examples}) < 2:
            raise ValueError("need examples of at least two level1 categories")
        texts = [e.text for e in examples]
        X = self._features(texts, fit=True)
        y = np.array([e.level1 for e in examples])
        # 5-fold sigmoid calibration turns SVM margins into probabilities a threshold can use.
        folds = min(CALIBRATION_FOLDS, int(min(np.unique(y, return_counts=True)[1])))
        self.calibrated = CalibratedClassifierCV(
            LinearSVC(C=LEVEL1_C, class_weight=CLASS_WEIGHT), cv=max(2, folds), method="sigmoid"
        ).fit(X, y, sample_weight=np.array([e.weight for e in examples]))
        self._level1 = _Level1(self.calibrated)
        self.classes = [str(c) for c in self._level1.classes_]
        for l1 in self.classes:
            idx = [i for i, e in enumerate(examples) if e.level1 == l1 and e.level2]
            if idx:
                self._level2[l1] = _ChildModel(X[idx], [examples[i].level2 for i in idx])
        pairs = {(e.level1, e.level2) for e in examples if e.level2}
        for l1, l2 in pairs:
            idx = [i for i, e in enumerate(examples) if e.level1 == l1 and e.level2 == l2 and e.level3]
            if idx:
                self._level3[(l1, l2)] = _ChildModel(X[idx], [examples[i].level3 for i in idx])
        return self

    def predict_level1_proba(self, texts: Sequence[str]) -> np.ndarray:
        if self._level1 is None:
            raise RuntimeError("classifier not trained")
        return self._level1.predict_proba(self._features(texts))

    def classify(self, text: str, *, alternatives: int = 3) -> Classification:
        if self._level1 is None:
            raise RuntimeError("classifier not trained")
        if meaningful_chars(text) < MIN_CHARS:
            return Classification(level1=None, confidence=0.0)
        vocab = self._chars.vocabulary_
        if not any(ch in vocab for ch in set(normalise(text)) if not ch.isspace()):
            return Classification(level1=None, confidence=0.0)  # no character ever seen: gibberish
        x = self._features([text])
        probs = self._level1.predict_proba(x)[0]
        order = np.argsort(-probs)
        l1 = self.classes[order[0]]
        conf = float(probs[order[0]])
        l2 = l3 = None
        if l1 in self._level2:
            cand, p2 = self._level2[l1].predict(x)
            if p2 >= LEVEL2_MIN:
                l2 = cand
                if (l1, l2) in self._level3:
                    cand3, p3 = self._level3[(l1, l2)].predict(x)
                    if p3 >= LEVEL3_MIN:
                        l3 = cand3
        alts = [
            CategoryGuess(level1=self.classes[i], confidence=round(float(probs[i]), 4))
            for i in order[1 : 1 + alternatives]
        ]
        return Classification(level1=l1, level2=l2, level3=l3, confidence=round(conf, 4), alternatives=alts)


_lock = threading.Lock()
_default: Classifier | None = None


def get_classifier() -> Classifier:
    """The process-wide classifier, trained on first use from train.tsv (+ gazetteer words)."""
    global _default
    with _lock:
        if _default is None:
            clf = Classifier(user_words=gazetteer_words())
            clf.fit(training_examples())
            log.info("routing classifier trained on %s + real train split (data %s)", TRAIN_PATH.name,
                     data_hash(TRAIN_PATH, LEXICON_PATH, LABELS_PATH))
            _default = clf
        return _default


def classify(text: str) -> Classification:
    """Classify a citizen's message into the demand taxonomy (level1 always, deeper when confident)."""
    return get_classifier().classify(text)

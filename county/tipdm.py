"""The real citizen messages of datasets/tipdm2020 and their hand labels (docs/labelling.md).

Stdlib only, so the evaluation scripts of both virtualenvs and the classifier's training read the same
rows. A message's text is its title and body as an operator reads them: "标题。正文".

    from county.tipdm import labelled, unlabelled
    test = labelled(split="test")       # [LabelledMessage(id, source, split, text, level1, demand_type, partners)]
    ordinary = unlabelled()             # every message not in the labelled sample (flag rates)
"""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "datasets" / "tipdm2020"
SOURCES = ("messages", "replies")
PARTNERS = ("110", "政法委", "信访", "纪委", "行政执法监督", "网格")
# Excel line breaks left in the export; they are not the citizen's text.
_ARTEFACTS = ("_x000D_", "\r")


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    source: str
    split: str
    text: str
    level1: str
    demand_type: str
    partners: frozenset[str]


def _read(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def message_text(subject: str, detail: str) -> str:
    """Title and body joined as the board shows them ("标题。正文"), export artefacts removed."""
    subject, detail = subject.strip(), detail.strip()
    for junk in _ARTEFACTS:
        subject, detail = subject.replace(junk, " "), detail.replace(junk, " ")
    if subject and subject[-1] not in "。！？!?.":
        subject += "。"
    return f"{subject}{detail}".strip()


@lru_cache(maxsize=2)
def texts(source: str) -> dict[str, str]:
    """id -> text of one source file."""
    return {r["id"]: message_text(r.get("subject") or "", r.get("detail") or "") for r in _read(DATA / f"{source}.tsv")}


def labelled(*, split: str | None = None, path: Path | None = None) -> list[LabelledMessage]:
    """The hand-labelled sample (labels.tsv), optionally one split ("train" or "test").

    The train split leaves out the rows whose text is also in the test split (two such duplicates).
    """
    path = path or DATA / "labels.tsv"
    if not path.exists():
        return []
    out = []
    rows = _read(path)
    # The board and the reply export share some messages under two ids; a train row whose text is also
    # a test message would leak the test split into training, so training never sees it.
    test_texts = {texts(r["source"])[r["id"]] for r in rows if r["split"] == "test"} if split == "train" else set()
    for r in rows:
        if split and r["split"] != split:
            continue
        text = texts(r["source"])[r["id"]]
        if text in test_texts:
            continue
        partners = frozenset(p for p in (r.get("partners") or "").split(",") if p)
        out.append(LabelledMessage(r["id"], r["source"], r["split"], text, r["level1"], r["demand_type"], partners))
    return out


def unlabelled() -> list[str]:
    """Texts of every real message outside the labelled sample (for flag rates on ordinary text)."""
    sampled = {(r["source"], r["id"]) for r in _read(DATA / "sample.tsv")}
    return [t for s in SOURCES for i, t in texts(s).items() if (s, i) not in sampled]

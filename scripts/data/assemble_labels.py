"""Assemble the hand labels of the quality team into datasets/tipdm2020/labels.tsv (docs/labelling.md §五).

Inputs: the labellers' files (id source split level1 demand_type partners labeller note), one per
labeller, and datasets/tipdm2020/adjudication.tsv, the team lead's rulings on the double-labelled ids
where the labellers disagree (id field value reason). Outputs:
- labels.tsv: the union, one row per id, in sample.tsv order; a double-labelled id gets the
  adjudicated values (or, where no ruling exists yet, the values both agree on, the first labeller's
  level1/demand type, and the union of the risk partners 110/政法委: a real risk is never dropped
  for the sake of quiet);
- agreement.tsv: Cohen's κ on the double-labelled ids for level1, demand type and each partner.

    python scripts/data/assemble_labels.py /work/labels/part-1.tsv /work/labels/part-2.tsv ...
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "datasets" / "tipdm2020"
COLUMNS = ["id", "source", "split", "level1", "demand_type", "partners", "labeller", "note"]
PARTNERS = ["110", "政法委", "信访", "纪委", "行政执法监督", "网格"]
RISK = {"110", "政法委"}
DEMAND_TYPES = {"complaint", "consultation", "suggestion", "report", "help_request", "praise"}


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE) if row.get("id")]


def partner_set(value: str) -> frozenset[str]:
    return frozenset(p.strip() for p in (value or "").replace("，", ",").split(",") if p.strip())


def kappa(pairs: list[tuple[str, str]]) -> float | None:
    """Cohen's κ of two raters over the same items; None when undefined (one category only)."""
    n = len(pairs)
    if not n:
        return None
    observed = sum(a == b for a, b in pairs) / n
    first, second = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(first[c] * second[c] for c in set(first) | set(second)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def agreement(doubles: list[tuple[dict, dict]]) -> list[dict[str, str]]:
    fields: list[tuple[str, list[tuple[str, str]]]] = [
        ("level1", [(a["level1"], b["level1"]) for a, b in doubles]),
        ("demand_type", [(a["demand_type"], b["demand_type"]) for a, b in doubles]),
    ]
    for p in PARTNERS:
        fields.append((f"partner:{p}", [(str(p in partner_set(a["partners"])), str(p in partner_set(b["partners"])))
                                         for a, b in doubles]))
    out = []
    for name, pairs in fields:
        k = kappa(pairs)
        out.append({
            "field": name,
            "items": str(len(pairs)),
            "agreement": f"{sum(a == b for a, b in pairs) / len(pairs):.3f}" if pairs else "",
            "kappa": "" if k is None else f"{k:.3f}",
            "positives": str(sum(a == "True" for a, _ in pairs) + sum(b == "True" for _, b in pairs))
            if name.startswith("partner:") else "",
        })
    return out


def merge(a: dict, b: dict, rulings: dict[str, dict[str, str]]) -> dict:
    """One row from two labellers' rows: the lead's ruling where given, else a cautious default."""
    row = dict(a)
    row["labeller"] = f"{a['labeller']}+{b['labeller']}"
    notes = []
    for field in ("level1", "demand_type"):
        if a[field] != b[field]:
            ruled = rulings.get(field)
            row[field] = ruled["value"] if ruled else a[field]
            notes.append(f"{field}裁定：{ruled['reason']}" if ruled else f"{field}未裁定（{a[field]}/{b[field]}）")
    pa, pb = partner_set(a["partners"]), partner_set(b["partners"])
    if pa != pb:
        ruled = rulings.get("partners")
        if ruled:
            chosen = partner_set(ruled["value"])
            notes.append(f"partners裁定：{ruled['reason']}")
        else:
            chosen = (pa & pb) | ((pa | pb) & RISK)
            notes.append(f"partners未裁定（{','.join(sorted(pa)) or '无'}/{','.join(sorted(pb)) or '无'}）")
        row["partners"] = ",".join(p for p in PARTNERS if p in chosen)
    row["note"] = "；".join(x for x in [a.get("note", ""), b.get("note", ""), *notes] if x)
    return row


def main(paths: list[Path]) -> None:
    order = [r["id"] for r in read_tsv(DATA / "sample.tsv")]
    sample = {r["id"]: r for r in read_tsv(DATA / "sample.tsv")}
    rulings: dict[str, dict[str, dict[str, str]]] = {}
    adjudication = DATA / "adjudication.tsv"
    if adjudication.exists():
        for r in read_tsv(adjudication):
            rulings.setdefault(r["id"], {})[r["field"]] = r
    by_id: dict[str, list[dict]] = {}
    fixed: dict[str, int] = {}
    for path in paths:
        for r in read_tsv(path):
            if r["id"] not in sample:
                raise SystemExit(f"{path}: id {r['id']} is not in sample.tsv")
            for key in ("source", "split"):  # both are the sample's, fixed before labelling
                if r[key] != sample[r["id"]][key]:
                    fixed[key] = fixed.get(key, 0) + 1
                    r[key] = sample[r["id"]][key]
            if r["demand_type"] not in DEMAND_TYPES or not r["level1"]:
                raise SystemExit(f"{path}: bad row {r}")
            unknown = partner_set(r["partners"]) - set(PARTNERS)
            if unknown:
                raise SystemExit(f"{path}: unknown partner {unknown} in {r['id']}")
            by_id.setdefault(r["id"], []).append(r)
    doubles = [(rows[0], rows[1]) for rows in by_id.values() if len(rows) >= 2]
    merged = []
    for i in order:
        rows = by_id.get(i)
        if not rows:
            continue
        merged.append(merge(rows[0], rows[1], rulings.get(i, {})) if len(rows) >= 2 else rows[0])
    with (DATA / "labels.tsv").open("w", encoding="utf-8", newline="") as handle:
        w = csv.DictWriter(handle, COLUMNS, delimiter="\t", lineterminator="\n", extrasaction="ignore",
                           quoting=csv.QUOTE_NONE, escapechar="\\")
        w.writeheader()
        w.writerows(merged)
    stats = agreement(doubles)
    with (DATA / "agreement.tsv").open("w", encoding="utf-8", newline="") as handle:
        w = csv.DictWriter(handle, ["field", "items", "agreement", "kappa", "positives"], delimiter="\t",
                           lineterminator="\n")
        w.writeheader()
        w.writerows(stats)
    splits = Counter(r["split"] for r in merged)
    print(f"labels.tsv: {len(merged)} ids ({dict(splits)}), {len(doubles)} double-labelled")
    for s in stats:
        print(f"  κ {s['field']:<16} {s['kappa'] or '—':>6}  agreement {s['agreement']} on {s['items']}")
    if fixed:
        print(f"  source/split copied from sample.tsv where a labeller's row differed: {fixed}")
    open_items = [r["id"] for r in merged if "未裁定" in r.get("note", "")]
    if open_items:
        print(f"  {len(open_items)} disagreements without a ruling: {' '.join(open_items)}")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])

"""Draw the stratified sample of real messages that the quality team hand-labels (docs/labelling.md).

Strata: source file (messages / replies) × period × length tercile, so the sample has short and long,
early and late, and both boards in proportion. A fixed seed makes the sample reproducible; 40 % of
each stratum goes to the test split, which no model or rule may be tuned on. Run once; the output
`datasets/tipdm2020/sample.tsv` is committed with the labels.

    python scripts/data/sample_tipdm.py
"""

from __future__ import annotations

import csv
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "datasets" / "tipdm2020"
SIZES = {"messages": 840, "replies": 480}
TEST_SHARE = 0.40
SEED = 20261202


def read(name: str) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    with (DATA / f"{name}.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def period(source: str, time: str) -> str:
    year, _, rest = time.replace("/", "-").partition("-")
    month = int(rest.split("-")[0])
    if source == "messages":  # almost all of 2019: stratify by quarter
        return f"{year}Q{(month - 1) // 3 + 1}" if year == "2019" else "other"
    return year if year >= "2016" else "2011-2015"


def stratified(source: str, rows: list[dict[str, str]], size: int, rng: random.Random) -> list[tuple[dict, str]]:
    seen_subjects: set[str] = set()
    unique = []
    for row in rows:
        if row["subject"] not in seen_subjects and row["detail"].strip():
            seen_subjects.add(row["subject"])
            unique.append(row)
    lengths = sorted(len(r["detail"]) for r in unique)
    cuts = (lengths[len(lengths) // 3], lengths[2 * len(lengths) // 3])
    strata: dict[tuple[str, int], list[dict]] = defaultdict(list)
    for row in unique:
        tercile = sum(len(row["detail"]) > cut for cut in cuts)
        strata[(period(source, row["time"]), tercile)].append(row)
    picked: list[tuple[dict, str]] = []
    for key in sorted(strata):
        members = strata[key]
        rng.shuffle(members)
        take = round(size * len(members) / len(unique))
        chosen = members[:take]
        n_test = round(len(chosen) * TEST_SHARE)
        picked += [(row, "test" if i < n_test else "train") for i, row in enumerate(chosen)]
    return picked


def main() -> None:
    rng = random.Random(SEED)
    out = []
    for source, size in SIZES.items():
        out += [(source, row, split) for row, split in stratified(source, read(source), size, rng)]
    rng.shuffle(out)
    with (DATA / "sample.tsv").open("w", encoding="utf-8") as handle:
        handle.write("id\tsource\tsplit\n")
        for source, row, split in out:
            handle.write(f"{row['id']}\t{source}\t{split}\n")
    tests = sum(split == "test" for _, _, split in out)
    print(f"{len(out)} sampled, {tests} test, {len(out) - tests} train")


if __name__ == "__main__":
    main()

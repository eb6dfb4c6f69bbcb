"""Build the jieba user dictionary from the county profile.

Place names (建阳镇, 双河村, 冠华西路, 金色湖城…) must come out of the tokenizer as one token,
otherwise count-vector features and DIET see fragments such as "建" + "阳镇". The dictionary is
rebuilt from `gazetteer.yml` at training time by `bot.components.CountyJiebaTokenizer`, so a
county edits its profile and retrains; nothing else changes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bot.gazetteer import Gazetteer, load_gazetteer

# jieba tags: ns = place name; n = noun. High frequency so these win over jieba's own splits.
PLACE_FREQ = 20000
# Hotline vocabulary jieba's default dictionary splits badly.
HOTLINE_TERMS: tuple[str, ...] = (
    "12345",
    "转人工",
    "人工客服",
    "工单号",
    "不用保密",
    "需要保密",
    "匿名",
    "物业费",
    "物业公司",
    "路灯",
    "窨井盖",
    "下水道",
    "化粪池",
    "广场舞",
    "渣土车",
    "违章建筑",
    "违建",
    "占道经营",
    "噪音扰民",
    "油烟",
    "污水",
    "黑臭",
    "拖欠工资",
    "欠薪",
    "社保卡",
    "医保卡",
    "公积金",
    "不动产证",
    "房产证",
    "户口本",
    "身份证",
    "居住证",
    "低保",
    "独生子女",
    "学区",
    "入学",
    "电动车",
    "充电桩",
    "飞线充电",
    "停水",
    "停电",
    "网格员",
    "村委会",
    "居委会",
    "城管",
    "市场监管局",
    "住建局",
    "人社局",
    "医保局",
    "交警",
    "派出所",
    "卫生院",
    "不清楚",
    "记不得",
)


def dictionary_lines(gazetteer: Gazetteer) -> list[str]:
    lines = []
    for word, _kind in gazetteer.words():
        if len(word) >= 2:
            lines.append(f"{word} {PLACE_FREQ} ns")
    for term in HOTLINE_TERMS:
        lines.append(f"{term} {PLACE_FREQ // 4} n")
    return lines


def write_user_dictionary(directory: os.PathLike[str] | str, county_dir: str | None = None) -> Path:
    """Write `userdict.txt` into `directory` (the layout JiebaTokenizer's dictionary_path expects)."""
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "userdict.txt"
    path.write_text("\n".join(dictionary_lines(load_gazetteer(county_dir))) + "\n", encoding="utf-8")
    return path


def build_in_tempdir(county_dir: str | None = None) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="minsheng-jieba-"))
    write_user_dictionary(directory, county_dir)
    return directory


def lookup_entries(gazetteer: Gazetteer, kinds: Iterable[str]) -> list[str]:
    wanted = set(kinds)
    return sorted({w for w, k in gazetteer.words() if k in wanted and len(w) >= 2})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out_dir", help="directory to write userdict.txt into")
    parser.add_argument("--county-dir", default=None)
    args = parser.parse_args()
    print(write_user_dictionary(args.out_dir, args.county_dir))


if __name__ == "__main__":
    main()

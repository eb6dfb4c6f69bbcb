"""docs/labelling.md §四 in the Rasa environment (Python 3.10): the bot's emergency handling imports
the same county.risk judge as the API, and it reads emergencies and figures of speech alike.
"""

from __future__ import annotations

import pytest

from county.risk import judge


@pytest.mark.parametrize(
    ("text", "emergency", "partners"),
    [
        ("一个男的拿着菜刀追着他老婆砍 快来人", "110", {"110"}),
        ("路上有人被车撞了躺在地上不动", "120", {"110"}),
        ("实在活不下去了今晚就从楼上跳下去", "110", {"110", "政法委"}),
        ("楼道里闻到很浓的煤气味", "119", {"110"}),
        ("油烟熏得我都想跳楼了", None, set()),
        ("救命啊楼上水管爆了往我家漏", None, set()),
    ],
)
def test_the_bot_reads_emergencies_with_the_same_judge(text: str, emergency: str | None, partners: set) -> None:
    j = judge(text)
    assert j.emergency == emergency and set(j.partners) == partners

from actions.smalltalk import DEFAULT, answer_for


def test_small_talk_answers_fit_the_remark() -> None:
    assert "24小时" in answer_for("你们几点下班啊")
    assert "久等" in answer_for("这个电话真难打")
    assert "不辛苦" in answer_for("你们辛苦了")
    assert answer_for("嗯嗯") == DEFAULT

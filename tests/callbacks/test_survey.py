"""The 回访 dialogue, driven by events: keypad, speech, silence, hang-ups and the awkward cases."""

from __future__ import annotations

from datetime import date

import pytest

from api.callbacks.policy import Outcome
from api.callbacks.survey import Matter, Stage, Survey, parse_rating, parse_yes_no, safe_summary


def survey(name: str | None = "王建国", summary: str | None = "路灯") -> Survey:
    return Survey(Matter(citizen_name=name, phone_tail="1234", accepted_on=date(2026, 11, 20), summary=summary))


def test_keypad_path_basically_satisfied() -> None:
    s = survey()
    first = s.start()
    assert first.say.startswith("您好，这里是建湖12345热线。") and "王建国" in first.say
    assert "路灯" not in first.say  # nothing about the matter before the callee is confirmed
    step = s.on_key("1")
    assert step.expect == Stage.solved and "11月20日" in step.say and "路灯" in step.say
    step = s.on_key("1")
    assert step.expect == Stage.rating and "按1" in step.say
    step = s.on_key("2")
    assert step.expect is None and step.outcome == Outcome.completed and "再见" in step.say
    assert (s.solved, s.rating, s.reason) == (True, "基本满意", None)


def test_dissatisfied_asks_reason() -> None:
    s = survey()
    s.start()
    s.on_text("是我")
    s.on_text("没有解决")
    step = s.on_key("3")
    assert step.expect == Stage.reason and "原因" in step.say
    step = s.on_reason("路灯还是不亮", audio="/tmp/r.wav")
    assert step.outcome == Outcome.completed and "重新办理" in step.say
    assert (s.solved, s.rating, s.reason) == (False, "不满意", "路灯还是不亮")
    assert any(t.get("audio") == "/tmp/r.wav" for t in s.transcript)


def test_unsolved_but_satisfied_still_asks_what_is_left() -> None:
    s = survey()
    s.start()
    s.on_key("1")
    s.on_key("2")
    step = s.on_key("1")
    assert step.expect == Stage.reason and "没有解决" in step.say
    step = s.on_key("#")  # ends the reason without words
    assert step.outcome == Outcome.completed and s.reason is None


def test_speech_answers_both_questions_at_once() -> None:
    s = survey()
    s.start()
    s.on_text("对，是我")
    step = s.on_text("已经解决了，挺满意的")
    assert step.outcome == Outcome.completed and s.rating == "满意" and s.solved is True


def test_wrong_person_and_number_holder() -> None:
    s = survey(name=None)
    assert "尾号幺二三四" in s.start().say
    step = s.on_text("不是，你打错了")
    assert step.outcome == Outcome.wrong_person and "打扰" in step.say
    assert all("路灯" not in t["text"] for t in s.transcript if t["who"] == "bot")


def test_busy_reschedules_at_any_stage() -> None:
    s = survey()
    s.start()
    assert s.on_text("我在开车，现在不方便").outcome == Outcome.reschedule
    s = survey()
    s.start()
    s.on_key("1")
    assert s.on_text("等会再打吧").outcome == Outcome.reschedule


def test_refusal_and_voicemail() -> None:
    s = survey()
    s.start()
    assert s.on_text("以后别再打了").outcome == Outcome.refused
    s = survey()
    s.start()
    step = s.on_text("您拨打的电话暂时无法接通，请在提示音后留言")
    assert step.outcome == Outcome.voicemail and step.say == ""


def test_silence_reprompts_once_then_ends() -> None:
    s = survey()
    s.start()
    step = s.on_silence()
    assert step.expect == Stage.confirm and "按1" in step.say
    assert s.on_silence().outcome == Outcome.voicemail
    s = survey()
    s.start()
    s.on_key("1")
    s.on_key("1")
    assert s.on_text("嗯嗯啊").expect == Stage.rating  # not understood: asked again with the keys
    assert s.on_silence().outcome == Outcome.unrated


def test_hangups() -> None:
    s = survey()
    s.start()
    assert s.on_hangup() == Outcome.hung_up
    s = survey()
    s.start()
    s.on_key("1")
    s.on_key("2")
    assert s.on_hangup() == Outcome.unrated and s.solved is False
    s = survey()
    s.start()
    s.on_key("1")
    s.on_key("1")
    s.on_key("3")
    assert s.on_hangup() == Outcome.completed and s.rating == "不满意"


@pytest.mark.parametrize(("text", "expected"), [
    ("是的", True), ("对", True), ("解决了", True), ("1", True), ("没解决", False), ("没有", False),
    ("还没解决呢", False), ("不是", False), ("2", False), ("今天天气", None), ("", None),
])
def test_yes_no(text: str, expected: bool | None) -> None:
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("满意", "满意"), ("非常满意", "满意"), ("基本满意", "基本满意"), ("还可以吧", "基本满意"),
    ("不满意", "不满意"), ("很不满意", "不满意"), ("3", "不满意"), ("1", "满意"), ("嗯", None),
])
def test_rating(text: str, expected: str | None) -> None:
    assert parse_rating(text) == expected


def test_summary_is_short_and_has_no_numbers() -> None:
    text = safe_summary("我的手机13805151234，身份证320925199001011234，小区门口路灯不亮已经三天了，晚上很黑")
    assert text is not None and not any(c.isdigit() for c in text) and len(text) <= 20
    assert safe_summary(None) is None

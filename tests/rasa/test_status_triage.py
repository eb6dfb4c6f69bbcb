"""Unit tests of the status lookup, FAQ and low-confidence logic (no Rasa server, no HTTP)."""

from __future__ import annotations

from actions.knowledge import answer_message, spoken_date
from actions.status import last4_from, read_status_turn, status_message
from actions.triage import confirmation, needs_confirmation, top_two
from bot.screening import screen


def test_ticket_number_and_last_four_in_one_message() -> None:
    turn = read_status_turn("工单号JH20261127-0001，手机尾号5678", None, {})
    assert turn.updates == {"lookup_ticket_no": "JH20261127-0001", "phone_last4": "5678"}
    assert turn.failed is None


def test_the_ticket_digits_are_not_taken_for_the_phone() -> None:
    turn = read_status_turn("帮我查一下JH20261127-0001", None, {})
    assert turn.updates == {"lookup_ticket_no": "JH20261127-0001"}


def test_spoken_ticket_number_and_spoken_last_four() -> None:
    assert read_status_turn("JH二零二六幺幺二七零零零幺", "lookup_ticket_no", {}).updates["lookup_ticket_no"] == "JH20261127-0001"
    assert read_status_turn("五六七八", "phone_last4", {}).updates == {"phone_last4": "5678"}
    assert read_status_turn("幺三八幺二三四五六七八", "phone_last4", {}).updates == {"phone_last4": "5678"}


def test_whole_phone_gives_its_last_four() -> None:
    assert last4_from("13812345678") == "5678"


def test_no_ticket_number_when_asked_is_a_failure_with_an_example() -> None:
    turn = read_status_turn("我不记得了", "lookup_ticket_no", {})
    assert turn.failed == "lookup_ticket_no" and "JH" in (turn.reason or "")


def test_not_four_digits_when_asked_is_a_failure() -> None:
    turn = read_status_turn("五六七", "phone_last4", {})
    assert turn.failed == "phone_last4" and not turn.updates


def test_another_ticket_number_forgets_the_old_phone_digits() -> None:
    slots = {"lookup_ticket_no": "JH20261127-0001", "phone_last4": "5678"}
    turn = read_status_turn("不对，是JH20261127-0002", None, slots)
    assert turn.updates == {"lookup_ticket_no": "JH20261127-0002", "phone_last4": None}


def test_status_message_includes_the_reply() -> None:
    body = {"ticket_no": "JH20261127-0001", "status_text": "城管局已经答复。", "department": "城管局",
            "reply_text": "已更换灯具。"}
    text = status_message(body)
    assert "JH20261127-0001" in text and "城管局的答复是：已更换灯具。" in text


def test_faq_answer_names_source_and_date_and_asks_if_it_helped() -> None:
    text = answer_message({"answer": "带身份证去窗口办。", "source": "县公安局", "updated": "2026-10-15"})
    assert "以上信息来自县公安局，更新于2026年10月15日" in text
    assert text.endswith("这个回答解决您的问题了吗？")
    assert spoken_date("not a date") == "not a date"


def test_confirmation_question_is_built_from_the_top_two_intents() -> None:
    ranking = [("nlu_fallback", 0.9), ("inform", 0.3), ("complaint", 0.25), ("consultation", 0.2)]
    assert needs_confirmation(ranking)
    question, buttons, first = confirmation(ranking)
    assert first == "complaint" and "投诉" in question and question.endswith("对吗？")
    assert [b["title"] for b in buttons] == ["是", "不是，我是想咨询", "都不是"]
    assert [b["payload"] for b in buttons] == ["/affirm", "/consultation", "/deny"]


def test_no_question_when_both_guesses_file_a_ticket_or_one_leads_clearly() -> None:
    assert not needs_confirmation([("complaint", 0.3), ("report", 0.29)])
    assert not needs_confirmation([("complaint", 0.5), ("consultation", 0.2)])
    assert needs_confirmation([("consultation", 0.5), ("complaint", 0.2)])
    assert needs_confirmation([("ticket_status", 0.3), ("complaint", 0.25)])


def test_top_two_has_two_even_with_one_candidate() -> None:
    assert top_two([("consultation", 0.3)]) == ["consultation", "complaint"]
    assert top_two([]) == ["complaint", "report"]


def test_litigation_arbitration_and_petition_get_their_channel() -> None:
    assert "法院" in screen("这个事情我已经去法院起诉了").channel_advice[0]
    assert screen("劳动仲裁已经立案了还没开庭").channels[0] == "litigation" or "arbitration" in screen(
        "劳动仲裁已经立案了还没开庭").channels
    assert "信访" in screen("我去信访局反映过了").channel_advice[0]
    mass = screen("我们准备集体上访")
    assert mass.risk and "petition" not in mass.channels
    assert screen("小区路灯坏了").channels == ()


def test_a_typed_ticket_number_followed_by_words_with_digit_characters() -> None:
    from bot.numbers import extract_ticket_numbers

    found = extract_ticket_numbers("工单JH20261127-0003一直没人管，帮我催一下")
    assert [t["value"] for t in found] == ["JH20261127-0003"]
    turn = read_status_turn("工单JH20261127-0003一直没人管，帮我催一下", None, {})
    assert turn.updates == {"lookup_ticket_no": "JH20261127-0003"}


def test_typed_answers_to_did_it_help() -> None:
    from actions.knowledge import faq_helped

    assert not faq_helped("没解决", "affirm")  # the NLU hears it as affirm; the words decide
    assert not faq_helped("不是我要问的", "deny")
    assert not faq_helped("还是不清楚", "affirm")
    assert faq_helped("解决了，谢谢", "affirm")
    assert faq_helped("好的明白了", "affirm")
    assert faq_helped("嗯", "affirm")
    assert not faq_helped("嗯", "deny")


def test_a_statement_is_not_confirmed_as_a_consultation_or_a_status_lookup() -> None:
    ranking = [("greet", 0.11), ("consultation", 0.09), ("ticket_status", 0.08), ("report", 0.05)]
    assert top_two(ranking, "河里有死鱼") == ["report", "complaint"]
    assert not needs_confirmation(ranking, "河里有死鱼")
    assert needs_confirmation(ranking, "河里有死鱼怎么办")  # a question: consultation is possible
    assert top_two(ranking, "我那个工单怎么样了")[0] == "consultation"

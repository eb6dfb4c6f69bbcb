"""Off-script conversations through the real stack (hub → Rasa → actions → API), written as people
talk: answers that carry two or three fields, non-answers (a question back, asking for a person,
complaints about the bot, "我就问问"), leaving at every step, emergencies and risk (also mid-form),
the other demand types, a second matter. Each conversation that files reads the ticket back and
asserts its fields hold the real answers and nothing else; one that does not file asserts that no
ticket exists. (No console is connected unless a test connects one: nobody is on duty.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
import websockets

from tests.e2e.conftest import Stack
from tests.e2e.test_intake_conversations import TICKET_NO, Conversation, question_of, tickets_for_phone, unique_mobile

pytestmark = pytest.mark.usefixtures("warm_stack")


class Citizen(Conversation):
    """A conversation that answers the form's questions from a table, the way a citizen would."""

    def __init__(self, stack: Stack, phone: str | None = None, **answers: str) -> None:
        super().__init__(stack)
        self.phone = phone or unique_mobile()
        self.answers = {"place": "建阳镇双河村村口", "town": "建阳镇", "detail": "双河村村口", "time": "昨天晚上",
                        "name": "我姓王", "phone": self.phone, "confidential": "不用保密", "description": "村口路灯坏了"}
        self.answers.update(answers)

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    def answer_until(self, stop: str = "read_back", limit: int = 10) -> str:
        """Answer until the question `stop` is asked; returns the bot's text then."""
        for _ in range(limit):
            asked = question_of(self.text)
            if asked == stop:
                return self.text
            assert asked in self.answers, f"unexpected question: {self.text}"
            self.say(self.answers[asked])
        raise AssertionError(f"{stop} never asked: {self.text}")

    def confirm(self) -> dict:
        """确认提交 and the filed ticket (how the message ends depends on the matter: see the tests)."""
        text = self.click("确认提交")
        numbers = TICKET_NO.findall(text)
        assert numbers, text
        return self.stack.get_ticket(numbers[0])

    def file(self) -> dict:
        self.answer_until("read_back")
        return self.confirm()


def no_ticket(stack: Stack, c: Citizen) -> None:
    assert tickets_for_phone(stack, c.phone) == []
    messages = stack.get_conversation(c.id)["messages"]
    assert not any(TICKET_NO.search(m["text"] or "") for m in messages)


def draft_after_close(stack: Stack, c: Conversation) -> dict:
    r = httpx.post(f"{stack.api_url}/api/v1/conversations/{c.id}/close", json={"reason": "citizen_left"},
                   headers=stack.auth, timeout=30)
    r.raise_for_status()
    return r.json()["draft"] or {}


# -- answers that carry several fields, each field its own part -------------------------------------


def test_place_answer_with_surname_and_spoken_phone(stack: Stack) -> None:
    c = Citizen(stack, phone="15005151234", town="近湖街道")
    c.say("我要投诉 我们这边下水道堵了好几天了 臭得不行")
    assert question_of(c.text) == "place"
    c.say("就卫深院后面那排房子 我姓吴 电话幺五零零五一五一二三四")
    assert question_of(c.text) == "town"  # name and phone taken, not asked again
    c.say("近湖街道")
    ticket = c.file()
    assert "卫深院后面那排房子" in ticket["location"]
    for field in ("location", "location_detail", "description", "incident_time"):
        value = ticket[field] or ""
        assert "吴" not in value and "1500" not in value and "幺五" not in value, field
    assert ticket["citizen_name"] == "吴" and ticket["phone"] == "15005151234"


def test_name_said_with_the_town_when_the_place_was_asked(stack: Stack) -> None:
    c = Citizen(stack, detail="新民村三组")
    c.say("我要反映我们村里的垃圾一个礼拜没人收了")
    c.say("庆丰镇我叫钱丽")
    assert question_of(c.text) == "detail"
    ticket = c.file()
    assert ticket["location"].startswith("庆丰镇") and "钱丽" not in ticket["location"]
    assert ticket["citizen_name"] == "钱丽" and "钱丽" not in ticket["description"]


def test_only_a_name_when_the_place_was_asked(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 小区门口的下水道堵了")
    asked = c.text
    reply = c.say("我叫钱丽")
    assert "称呼我记下了" in reply and question_of(reply) == "place"
    assert reply.splitlines()[-1] != asked.splitlines()[-1]  # asked again in other words
    ticket = c.file()
    assert ticket["citizen_name"] == "钱丽" and ticket["location"] == "建阳镇双河村村口"


def test_time_and_place_in_one_answer(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 有人在河边烧垃圾 烟呛得睡不着")
    c.say("昨天晚上 在上冈镇冈南新村河边")
    assert question_of(c.text) == "name"
    ticket = c.file()
    assert ticket["incident_time"] == "昨天晚上"
    assert ticket["location"].startswith("上冈镇冈南新村") and "昨天" not in ticket["location"]


def test_name_and_phone_in_one_answer(stack: Stack) -> None:
    phone = unique_mobile()
    c = Citizen(stack, phone=phone)
    c.say("我要投诉 钟庄街道钟庄花园 小区电梯坏了半个月没人修")
    c.answer_until("name")
    c.say(f"我姓赵 电话{phone}")
    assert question_of(c.text) == "confidential"
    ticket = c.file()
    assert ticket["citizen_name"] == "赵" and ticket["phone"] == phone


def test_three_fields_at_once_when_the_time_was_asked(stack: Stack) -> None:
    phone = unique_mobile()
    c = Citizen(stack, phone=phone)
    c.say("我要举报 有个小作坊在生产假酒")
    c.say("颜单镇单桥小区后面")
    assert question_of(c.text) == "time"
    c.say(f"上个礼拜开始的 我是李女士 手机{phone}")
    assert question_of(c.text) == "confidential"
    ticket = c.file()
    assert ticket["incident_time"] == "上个礼拜开始的"
    assert ticket["citizen_name"] == "李女士" and ticket["phone"] == phone
    assert "李女士" not in ticket["incident_time"] and phone not in ticket["description"]


# -- non-answers: the reply an operator gives, then the question in other words ---------------------


def test_asking_for_a_person_when_the_time_was_asked(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 隔壁饭店油烟太大 熏得家里都是味")
    c.say("近湖街道人民路88号")
    assert question_of(c.text) == "time"
    reply = c.say("你是不是机器人啊 我要找真人")
    assert "下班时间" in reply and "回电" in reply  # nobody on duty: said plainly, a callback offered
    conversation = stack.get_conversation(c.id)
    assert conversation["handoff_requested"] is True
    draft = draft_after_close(stack, c)
    assert "incident_time" not in draft["slots"]  # the request for a person did not become the time
    no_ticket(stack, c)


def test_only_asking_is_not_filed(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我们小区旁边在修路 一直挖")
    reply = c.say("我就问问啊 不是要反映什么")
    assert "不登记" in reply
    no_ticket(stack, c)
    assert "地方" not in c.say("你好")


def test_nobody_answering_gets_an_apology_and_the_question_again(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 马路上有个大坑 好几辆电动车摔了")
    first = c.text.splitlines()[-1]
    reply = c.say("人呢 怎么没人理我")
    assert reply.startswith("在的") and question_of(reply) == "place"
    assert reply.splitlines()[-1] != first
    ticket = c.file()
    assert ticket["location"] == "建阳镇双河村村口" and "人呢" not in ticket["location"]


def test_why_a_phone_is_needed(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("phone")
    first = c.text.splitlines()[-1]
    reply = c.say("为什么要留电话啊")
    assert "回复" in reply and question_of(reply) == "phone" and reply.splitlines()[-1] != first
    ticket = c.file()
    assert ticket["phone"] == c.phone


def test_complaint_about_being_asked_again(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("name")
    reply = c.say("刚才不是说过了吗 怎么又问")
    assert "不好意思" in reply and question_of(reply) == "name"
    ticket = c.file()
    assert ticket["citizen_name"] == "王"


def test_bot_challenge_at_the_read_back_gets_a_short_reminder(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("read_back")
    reply = c.say("你是机器人吗")
    assert "智能客服" in reply and "确认提交" in reply and "核对" not in reply
    ticket = c.confirm()
    assert ticket["location"] == "建阳镇双河村"


def test_a_new_matter_mid_form_is_noted_and_not_mixed_in(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    reply = c.say("另外还有一件事 我们村的桥栏杆也断了")
    assert "另一件事" in reply
    ticket = c.file()
    assert "栏杆" not in ticket["description"] and "路灯" in ticket["description"]


# -- leaving at every step ----------------------------------------------------------------------------

LEAVING_AT = [
    ("没事了，不说了，再见", "description"),
    ("算了拜拜", "place"),
    ("不说了", "time"),
    ("再见", "name"),
    ("拜拜", "phone"),
    ("挂了", "confidential"),
    ("不用了", "detail"),
    ("算了 我自己去找村里吧 再见", "read_back"),
    ("没事了", "place"),
]


@pytest.mark.parametrize(("words", "step"), LEAVING_AT)
def test_leaving_at_every_step(stack: Stack, words: str, step: str) -> None:
    c = Citizen(stack, place="建阳镇")
    c.say("我要投诉" if step == "description" else "我要投诉 我们村口的路灯坏了 走路都看不见")
    c.answer_until(step)
    reply = c.say(words)
    assert "再见" in reply or "随时" in reply
    assert question_of(reply) == "other", reply  # no next form question
    no_ticket(stack, c)
    draft = draft_after_close(stack, c)
    if step != "description":  # the draft is kept for staff
        assert "路灯" in draft["slots"]["abandoned_draft"]["description"]


def test_leaving_then_a_new_matter_starts_fresh(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 我们村口的路灯坏了一个月了")
    c.say("算了拜拜")
    c.say("我要投诉 钟庄街道钟庄花园的电梯坏了")
    ticket = c.file()
    assert "电梯" in ticket["description"] and "路灯" not in ticket["description"]
    assert "钟庄花园" in ticket["location"]


# -- corrections in plain words -----------------------------------------------------------------------


def test_read_back_no_change_is_not_a_change(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("read_back")
    reply = c.say("不用保密")
    assert "改过来" not in reply and "不用改" in reply
    ticket = c.confirm()
    assert ticket["confidential"] is False


@pytest.mark.parametrize(
    ("said", "field", "expected"),
    [
        ("时间不对 是前天晚上", "incident_time", "前天晚上"),
        ("地方说错了 是钟庄街道钟庄花园", "location", "钟庄街道钟庄花园"),
        ("我不姓王 我姓黄", "citizen_name", "黄"),
    ],
)
def test_plain_word_corrections(stack: Stack, said: str, field: str, expected: str) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("read_back")
    c.say(said)
    c.answer_until("read_back")
    ticket = c.confirm()
    assert ticket[field] == expected


# -- emergencies and risk -----------------------------------------------------------------------------


def test_knife_attack_gets_110_first_and_one_question(stack: Stack) -> None:
    c = Citizen(stack)
    reply = c.say("菜市场门口有个人拿着刀在追人")
    assert c.replies[0]["text"].startswith("请马上拨打110")
    assert question_of(reply) == "place" and "哪个镇" not in c.replies[0]["text"]
    filed = c.say("近湖街道人民路菜市场")
    assert TICKET_NO.search(filed) and "明天" not in filed and "答复" not in filed
    ticket = stack.get_ticket(TICKET_NO.search(filed).group(0))
    assert ticket["urgency"] == "特急" and "110" in ticket["linkage_flags"]
    assert "拿着刀" in ticket["description"] and "人民路菜市场" in ticket["location"]


def test_fight_with_a_knife_never_waits_for_tomorrow(stack: Stack) -> None:
    c = Citizen(stack)
    filed = c.say("建阳镇双河村村口两个人在打架 有一个拿着刀")
    assert c.replies[0]["text"].startswith("请马上拨打110")
    assert TICKET_NO.search(filed), filed  # the place was said: filed at once, no question
    assert "明天" not in filed and "前给您答复" not in filed
    ticket = stack.get_ticket(TICKET_NO.search(filed).group(0))
    assert ticket["urgency"] == "特急" and ticket["location"].startswith("建阳镇双河村")


def test_fire_asks_only_where(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我家楼下饭店着火了 烟好大")
    assert c.replies[0]["text"].startswith("请马上拨打119")
    filed = c.say("上冈镇人民路")
    assert TICKET_NO.search(filed) and "什么时候" not in filed and "称呼" not in filed
    ticket = stack.get_ticket(TICKET_NO.search(filed).group(0))
    assert ticket["urgency"] == "特急" and ticket["demand_type"] == "help_request"
    assert ticket["location"].startswith("上冈镇") and ticket["incident_time"] == "来电时正在发生"


def test_gas_smell_mid_form(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 钟庄街道钟庄花园 物业不管楼道卫生")
    c.answer_until("time")
    filed = c.say("哎 现在楼道里好大一股煤气味")
    assert c.replies[0]["text"].startswith("请马上离开屋子，到外面拨打119")
    assert TICKET_NO.search(filed) and "明天" not in filed
    ticket = stack.get_ticket(TICKET_NO.search(filed).group(0))
    assert ticket["urgency"] == "特急" and "煤气味" in ticket["description"]


def test_someone_collapsed_at_the_name_question(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("name")
    filed = c.say("等一下 路边有个老人晕倒了")
    assert c.replies[0]["text"].startswith("请马上拨打120")
    assert TICKET_NO.search(filed)
    assert stack.get_ticket(TICKET_NO.search(filed).group(0))["urgency"] == "特急"


def callbacks(stack: Stack) -> list[dict]:
    agent = stack.ensure_staff("agent-offscript", "agent")
    return httpx.get(f"{stack.api_url}/api/v1/console/callback-requests", headers=agent, timeout=30).json()


def test_self_harm_at_night_is_honest_and_gets_a_priority_callback(stack: Stack) -> None:
    phone = unique_mobile()
    c = Citizen(stack, phone=phone)
    reply = c.say("我真的不想活了 活着没意思")
    assert "12356" in reply and "110" in reply
    assert "马上接手" not in reply and "没有人工在线" in reply  # no promise nobody keeps
    assert "电话" in c.replies[-1]["text"] and "什么地方" not in reply  # one question: a number
    done = c.say(phone)
    assert "回电已经登记好了" in done
    mine = [r for r in callbacks(stack) if r["conversation_id"] == c.id]
    assert len(mine) == 1 and "优先" in mine[0]["note"]
    assert stack.get_conversation(c.id)["handoff_reason"] == "risk"
    no_ticket(stack, c)


def test_self_harm_mid_form_at_night(stack: Stack) -> None:
    c = Citizen(stack)
    c.say("我要投诉 单位拖欠我工资半年了")
    c.answer_until("place")
    reply = c.say("我被逼得想跳河了")
    assert "12356" in reply and "什么时候" not in reply
    c.say("不用了")
    no_ticket(stack, c)


@contextlib.contextmanager
def console_connected(stack: Stack) -> Iterator[None]:
    """An agent's console open on the hub (a WebSocket, as the console page holds it)."""
    token = stack.login("admin", "e2e-admin-password")["Authorization"].split()[1]
    url = stack.api_url.replace("http://", "ws://") + f"/ws/console?token={token}"
    ready, stop = threading.Event(), threading.Event()

    async def hold() -> None:
        async with websockets.connect(url) as socket:
            ready.set()
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    json.loads(await asyncio.wait_for(socket.recv(), 0.2))

    thread = threading.Thread(target=lambda: asyncio.run(hold()), daemon=True)
    thread.start()
    assert ready.wait(30)
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def test_self_harm_with_the_console_open_says_who_is_there(stack: Stack) -> None:
    """In shift with a console open an agent takes over; out of shift the crisis line — the bot
    says whichever is true now (api/conversations/duty.py decides, as for every handoff)."""
    c = Citizen(stack)
    with console_connected(stack):
        probe = stack.new_conversation()
        stack.chat(probe, "你好")
        answer = httpx.post(f"{stack.api_url}/api/v1/conversations/{probe}/handoff",
                            json={"reason": "risk", "note": "probe"}, headers=stack.auth, timeout=30)
        on_duty = answer.status_code == 200 and answer.json()["agents_available"]
        reply = c.say("我不想活了")
    if on_duty:
        assert "人工坐席马上接手" in reply and "12356" not in reply
    else:
        assert "12356" in reply and "马上接手" not in reply
    assert stack.get_conversation(c.id)["handoff_requested"] is True


def test_mass_incident_is_flagged_for_the_joint_desk(stack: Stack) -> None:
    c = Citizen(stack)
    filed = c.say("明天村里几十户人要去政府门口堵路讨说法 就在建阳镇双河村")
    assert "110" in c.replies[0]["text"]
    assert TICKET_NO.search(filed)
    ticket = stack.get_ticket(TICKET_NO.search(filed).group(0))
    assert ticket["urgency"] == "特急" and "政法委" in ticket["linkage_flags"]


# -- urgent help, praise, anonymous reports, suggestions --------------------------------------------------


def test_burst_pipe_at_night_gets_advice_and_urgency(stack: Stack) -> None:
    c = Citizen(stack, time="刚刚")
    reply = c.say("家里水管爆了 水喷得到处都是 物业电话打不通")
    assert "总水阀" in reply
    ticket = c.file()
    assert ticket["urgency"] == "紧急" and ticket["demand_type"] in ("help_request", "complaint")
    assert "紧急件" in c.text and "明天答复" not in c.text
    assert re.search(r"\d{1,2}:\d{2}前联系您", c.text)


def test_elderly_alone_gets_advice(stack: Stack) -> None:
    c = Citizen(stack, time="从昨天下午开始")
    reply = c.say("我妈一个人在家 打电话一直联系不上 我在外地回不去")
    assert "110" in reply and "网格员" in reply
    ticket = c.file()
    assert ticket["urgency"] == "紧急" and "联系不上" in ticket["description"]


def test_locked_out_gets_advice(stack: Stack) -> None:
    c = Citizen(stack, time="刚刚")
    reply = c.say("我被锁在门外了 钥匙丢了 家里还开着煤气灶上烧着水")
    # 煤气灶 on a stove is not a gas leak; the advice for being locked out mentions 110 for a stove left on
    assert "110" in reply
    ticket = c.file()
    assert ticket["urgency"] in ("紧急", "特急")


def test_praise_is_thanked_and_passed_on(stack: Stack) -> None:
    c = Citizen(stack, place="没有")
    c.say("我要表扬 县医院急诊科的张医生 半夜给我父亲抢救 特别负责")
    ticket = c.file()
    assert ticket["demand_type"] == "praise" and "张医生" in ticket["description"]
    assert "谢谢您的表扬" in c.text and "电话畅通" not in c.text


def test_suggestion_is_thanked_with_what_happens_next(stack: Stack) -> None:
    c = Citizen(stack, place="近湖街道")
    c.say("我有个建议 县城公交能不能晚上多开一班 九点以后就没车了")
    ticket = c.file()
    assert ticket["demand_type"] == "suggestion"
    assert "谢谢您的建议" in c.text and "采纳" in c.text


def test_anonymous_report_without_a_phone(stack: Stack) -> None:
    c = Citizen(stack, place="颜单镇单桥小区后面", time="不清楚", name="匿名")
    c.say("我要举报 有人在小作坊里生产假酒")
    c.answer_until("phone")
    reply = c.say("不留")
    assert question_of(reply) == "confidential"
    read_back = c.say("需要保密")
    assert "不留" in read_back and "没法回复您" in read_back
    ticket = c.confirm()
    assert ticket["anonymous"] is True and ticket["phone"] is None and ticket["citizen_name"] is None
    assert "没有留电话" in c.text


def test_anonymous_complaint_still_needs_a_phone(stack: Stack) -> None:
    c = Citizen(stack, name="匿名")
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    c.answer_until("phone")
    reply = c.say("不留")
    assert question_of(reply) == "phone"
    ticket = c.file()
    assert ticket["phone"] == c.phone


# -- names, second matters, FAQ follow-ups ---------------------------------------------------------------


@pytest.mark.parametrize(("said", "stored", "read"), [("李", "李", "姓李"), ("姓陈", "陈", "姓陈"),
                                                       ("陈先生", "陈先生", "陈先生")])
def test_surnames_read_back_naturally(stack: Stack, said: str, stored: str, read: str) -> None:
    c = Citizen(stack, name=said)
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    read_back = c.answer_until("read_back")
    assert f"称呼：{read}" in read_back
    assert c.confirm()["citizen_name"] == stored


def test_second_matter_reuses_name_and_phone_on_request(stack: Stack) -> None:
    c = Citizen(stack, name="我是王先生")
    c.say("我要投诉 建阳镇双河村村口的路灯坏了一个月了")
    first = c.file()
    c.say("还有个事 我要投诉 钟庄街道钟庄花园的电梯坏了半个月")
    asked = c.answer_until("name")
    assert question_of(asked) == "name"
    c.say("还是我")
    reply = c.text
    assert "刚才留的号码" in reply
    c.say("还是刚才那个号")
    second = c.file()
    assert second["ticket_no"] != first["ticket_no"]
    assert second["phone"] == first["phone"] == c.phone and second["citizen_name"] == "王先生"
    assert "电梯" in second["description"] and "路灯" not in second["description"]


def test_faq_follow_up_stays_in_the_faq(stack: Stack) -> None:
    c = Citizen(stack)
    assert "以上信息来自" in c.say("身份证丢了怎么补办")
    reply = c.say("那我在外地能补吗")
    assert "以上信息来自" in reply and "异地" in reply
    assert question_of(reply) == "other"
    assert "帮上" in c.click("解决了")
    no_ticket(stack, c)

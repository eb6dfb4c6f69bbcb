"""DemandTypeEnsemble (bot/components_demand.py): trains inside Rasa, persists in the model storage,
re-ranks the demand types only, and keeps DIET's decision for dialogue intents."""

from pathlib import Path

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.components_demand import DemandTypeEnsemble, blend_ranking, real_train_examples
from bot.demand_model import cue_tokens
from bot.demand_text import ask_text, spoken
from county.tipdm import DATA, labelled

EXAMPLES = {
    "complaint": ["小区路灯坏了半年没人修", "楼下饭店油烟熏得家里没法开窗，请处理", "开发商五年不给我们办房产证",
                  "夜里施工吵得睡不着，请相关部门管一管", "自来水公司停水三天也不通知，要求给个说法"],
    "consultation": ["请问公租房申请需要哪些条件？", "请问我们小区的天然气什么时候能通？", "返乡创业有没有补贴政策？",
                     "请问晚上十点以后可以施工吗？", "医保异地报销怎么办理？"],
    "report": ["举报邻居违规加盖三层，请城管依法拆除", "举报某饭店无证经营", "举报工厂夜里偷排污水",
               "举报村主任把低保名额给了亲戚", "实名举报某公司偷税漏税"],
    "suggestion": ["建议在人民路和冠华路口增设红绿灯", "希望政府出台政策支持返乡创业", "建议新开一条公交线到开发区",
                   "建议道路拓宽方便通行", "呼吁增加社区养老服务点"],
}


# the team's sentences only: the real rows are tested below without a slow fit
CONFIG = {**DemandTypeEnsemble.get_default_config(), "real_labels": ""}


def _trained(tmp_path: Path) -> tuple[DemandTypeEnsemble, LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("demand_type_ensemble")
    context = ExecutionContext(graph_schema=None, model_id="test")
    component = DemandTypeEnsemble.create(CONFIG, storage, resource, context)
    data = TrainingData([Message(data={"text": t, "intent": i}) for i, texts in EXAMPLES.items() for t in texts]
                        + [Message(data={"text": "好的", "intent": "affirm"})])
    component.train(data)
    return component, storage, resource


def test_trains_and_loads_from_the_model_storage(tmp_path: Path) -> None:
    _, storage, resource = _trained(tmp_path)
    loaded = DemandTypeEnsemble.load(CONFIG, storage, resource,
                                     ExecutionContext(graph_schema=None, model_id="test"))
    probabilities = loaded.probabilities("举报饭店无证经营还偷排污水")
    assert set(probabilities) == set(EXAMPLES)  # dialogue intents are not its business
    assert max(probabilities, key=probabilities.get) == "report"


def test_re_ranks_a_demand_message_diet_misjudged(tmp_path: Path) -> None:
    component, _, _ = _trained(tmp_path)
    text = "关于某小区旁边工厂的举报。尊敬的领导：举报该厂无证经营，夜里偷排污水，请依法查处取缔"
    message = Message(data={"text": text, "intent": {"name": "complaint", "confidence": 0.55},
                            "intent_ranking": [{"name": "complaint", "confidence": 0.55},
                                               {"name": "report", "confidence": 0.40},
                                               {"name": "inform", "confidence": 0.05}]})
    component.process([message])
    assert message.get("intent")["name"] == "report"
    assert message.get("intent")["confidence"] > 0.35  # a long demand message is not sent to nlu_fallback


def test_dialogue_intents_stay_diets(tmp_path: Path) -> None:
    component, _, _ = _trained(tmp_path)
    ranking = [{"name": "affirm", "confidence": 0.6}, {"name": "complaint", "confidence": 0.3}]
    message = Message(data={"text": "对的", "intent": dict(ranking[0]), "intent_ranking": ranking})
    button = Message(data={"text": "/affirm", "intent": {"name": "affirm", "confidence": 1.0}})
    component.process([message, button])
    assert message.get("intent") == {"name": "affirm", "confidence": 0.6}
    assert button.get("intent")["name"] == "affirm"


def test_short_message_keeps_diets_uncertainty_for_the_fallback() -> None:
    ranking = [{"name": "complaint", "confidence": 0.2}, {"name": "deny", "confidence": 0.18},
               {"name": "report", "confidence": 0.1}]
    blended = blend_ranking(ranking, {"complaint": 0.9, "report": 0.1}, text_chars=3, weight=0.6, long_chars=30)
    top = blended[0]
    assert top["name"] == "complaint"
    assert top["confidence"] < 0.35  # still below FallbackClassifier's threshold: a re-prompt, not a guess
    assert blend_ranking([{"name": "inform", "confidence": 0.9}], {"complaint": 1.0}, text_chars=40,
                         weight=0.6, long_chars=30) is None


def test_ask_text_drops_the_salutation_and_spoken_the_punctuation() -> None:
    assert ask_text("尊敬的市委书记：我们小区开发商五年不给办房产证").startswith("我们小区")
    assert spoken("请问，公租房申请需要哪些条件？") == "请问公租房申请需要哪些条件"


def test_learns_the_real_train_split_in_three_styles_and_never_the_test_split() -> None:
    texts, types = real_train_examples(DATA / "labels.tsv")
    train, test = labelled(split="train"), labelled(split="test")
    assert len(train) * 2 < len(texts) <= len(train) * 3  # whole message, its ASR form, its title
    assert texts[0] == train[0].text and types[0] == train[0].demand_type
    seen = set(texts)
    assert not any(r.text in seen for r in test)
    # relabelling the sample changes the fingerprint, so `rasa train` retrains the component
    assert DemandTypeEnsemble.fingerprint_addon(CONFIG) is None
    assert DemandTypeEnsemble.fingerprint_addon(DemandTypeEnsemble.get_default_config())


def test_cue_words_count_anywhere_and_in_the_title() -> None:
    tokens = cue_tokens("关于某公司的情况。我们小区旁边那家公司，……涉嫌违规审批，请依法查处")
    assert "report:any" in tokens and "report:title" not in tokens
    assert "suggestion:title" in cue_tokens("建议增设公交线路。开发区上下班不方便")
    assert cue_tokens("路灯坏了") == []

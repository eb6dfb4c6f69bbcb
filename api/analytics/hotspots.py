"""热点: similar demands grouped into topics, each judged against its own baseline.

1. Text: character 2–3-gram TF-IDF of what the citizen said (numbers removed). Character n-grams
   hold up against ASR slips, homophones and the long mixed messages of online boards better than a
   word segmenter; jieba is used only to name the topic.
2. Place: two demands join a topic when their texts are similar (cosine ≥ NEAR) and they are in the
   same place (village/community, else 镇/街道), or when the texts are very similar (≥ FAR) anywhere.
   Connected groups are then trimmed to members close to the group's centroid (no chaining).
3. Time: each topic's daily counts over the period and the BASELINE_DAYS before it go through a
   two-state Kleinberg burst automaton (batched form: r_t topic demands among d_t demands a day).
   A topic is a burst when the automaton sits in the raised state on days of the period; importance
   is its burst weight, then its size. The same topic a year earlier (往年同期) is counted too.

At county scale (a week against its 56-day baseline is some 35,000 demands) one computation takes
seconds and a few hundred MB of short-lived arrays, so find_hotspots runs it in one worker thread per
process (one computation at a time however many read the page, its arrays in one malloc arena) and
keeps results per data version. (At 1M tickets the API can still reach 1.4 GB over three new weeks:
not yet explained, see bench/results/analytics.json.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import re
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import jieba
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components
from sklearn.feature_extraction.text import TfidfVectorizer
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from api.analytics.counting import ticket_filters
from api.analytics.periods import Period, county_tz, local_day
from api.auth.deps import Principal
from api.core.settings import get_settings
from api.org.models import Department
from api.org.profile import org_profile
from api.tickets.access import mask_text, strip_numbers, visibility_clause
from api.tickets.models import Ticket, TicketStatus

jieba.setLogLevel(60)

NEAR = 0.30  # same place: this similar is the same matter
FAR = 0.50  # different or unknown places: only near-identical wording joins
CENTROID = 0.22  # a member must be this close to its topic's centroid
BASELINE_DAYS = 56
BURST_S = 2.0  # Kleinberg: the raised state's rate is s × the base rate
BURST_GAMMA = 1.0  # cost of moving up, × ln(days)
MAX_CHARS = 400  # long board messages: the first part says what they are about
TITLE_TEXTS = 300  # a topic's name is read from this many of its demands (evenly spread), not all thousands
CACHE_SIZE = 32
CACHE_SECONDS = 1800  # department names and the village list are not in the data version: re-read now and then

_TOKEN_STOP = set(  # noqa: SIM905 — one readable block of words
    ["我们", "你们", "他们", "她们", "这个", "那个", "这里", "那里", "问题", "反映", "希望", "请问", "有关", "部门", "领导", "没有", "现在", "已经", "一直", "目前", "情况", "进行", "相关", "是否", "可以", "能够", "什么", "怎么", "为什么", "因为", "所以", "但是", "而且", "如果", "还是", "就是", "不是", "一个", "非常", "严重", "市民", "群众", "居民", "政府", "解决", "处理", "回复", "尽快", "给予", "您好", "你好", "谢谢", "今天", "昨天", "时间", "多次", "要求", "以及", "等等", "其中", "由于", "对于", "关于", "这样", "这些", "那些", "自己", "大家", "很多", "一些", "一下", "还有", "不能", "不要", "需要", "影响", "导致", "造成", "存在", "出现", "发生", "经常", "每天", "晚上", "白天", "早上", "附近", "周边", "地方", "门口", "这边", "那边", "县里", "镇上", "村里", "小区", "社区", "街道", "我家", "家里", "老百姓", "12345", "年月日", "今年", "去年", "明年", "时候", "之后", "以后", "以前", "之前", "目前", "最近", "近期", "期间", "现象", "方面", "工作", "有人", "别人", "相关部门", "有关部门", "有没有", "怎么办", "麻烦", "帮忙", "一定", "已经", "仍然", "还是", "根本", "完全", "特别", "真的", "实在", "可能", "应该", "必须", "不得", "能否", "请求", "建议", "投诉", "举报", "咨询", "求助", "表扬", "谢谢您"]
)
_BOARD_PLACE = re.compile(r"(?:[A-Z]\d{0,2}(?:市|区|县|镇|乡|街道|村|社区)){1,3}")


@dataclass(slots=True)
class Doc:
    id: int
    ticket_no: str
    day: date
    text: str
    place: str | None
    town: str | None
    level1: str | None
    level3: str | None
    department: str | None


@lru_cache(maxsize=4)
def _villages(folder: str) -> dict[str, tuple[str, str]]:
    return {v.grid: (v.town_name, v.name) for v in org_profile().villages}


def place_of(*, grid: str | None, town: str | None, text: str) -> str | None:
    """Village/community (from the grid) with its town, else the town, else a board place (A市A3区)."""
    villages = _villages(str(get_settings().county_profile_dir))
    if grid and grid in villages:
        town_name, village = villages[grid]
        return f"{town_name}{village}"
    if town:
        return town
    found = _BOARD_PLACE.findall(text[:MAX_CHARS])
    return max(found, key=len) if found else None


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", strip_numbers(text or ""))[:MAX_CHARS]


def load_docs(*, db_session: Session, period: Period, principal: Principal | None = None) -> list[Doc]:
    rows = db_session.execute(
        select(Ticket.id, Ticket.ticket_no, Ticket.created_at, Ticket.description, Ticket.location_town, Ticket.grid,
               Ticket.category_level1, Ticket.category_level3, Ticket.lead_department)
        .where(*ticket_filters(period=period, principal=principal),
               Ticket.status.notin_([TicketStatus.withdrawn, TicketStatus.merged]))
        .order_by(Ticket.created_at, Ticket.id)
    )
    tz = county_tz()
    return [Doc(id=r.id, ticket_no=r.ticket_no, day=r.created_at.astimezone(tz).date(), text=_clean(r.description),
                place=place_of(grid=r.grid, town=r.location_town, text=r.description or ""), town=r.location_town,
                level1=r.category_level1, level3=r.category_level3, department=r.lead_department) for r in rows]


def _vectorizer() -> TfidfVectorizer:
    return TfidfVectorizer(analyzer="char", ngram_range=(2, 3), min_df=2, sublinear_tf=True, max_features=60000,
                           dtype=np.float32)


def cluster(docs: list[Doc], matrix, *, min_size: int) -> list[list[int]]:
    """Indices of docs per topic (≥ min_size), from text similarity and place."""
    n = len(docs)
    if n < min_size:
        return []
    places = np.array([hash(d.place) if d.place else -1 - i for i, d in enumerate(docs)])
    # Components grown chunk by chunk, each chunk's edges joined to a star per component found so far:
    # holding every edge at once (a week of look-alike demands is up to n² of them) took 700 MB.
    labels = np.arange(n, dtype=np.int32)
    chunk = 250
    for begin in range(0, n, chunk):
        sims = (matrix[begin:begin + chunk] @ matrix.T).toarray()
        same = places[begin:begin + chunk, None] == places[None, :]
        edges = csr_matrix((sims >= FAR) | ((sims >= NEAR) & same)).tocoo()
        del sims, same
        rows = np.concatenate([edges.row.astype(np.int32) + begin, np.arange(n, dtype=np.int32)])
        cols = np.concatenate([edges.col.astype(np.int32), labels])
        del edges
        graph = csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        del rows, cols
        _, component = connected_components(graph, directed=False)
        first = np.full(component.max() + 1, n, dtype=np.int32)
        np.minimum.at(first, component, np.arange(n, dtype=np.int32))
        labels = first[component]
    members: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        members.setdefault(int(label), []).append(i)
    topics = []
    for group in members.values():
        if len(group) < min_size:
            continue
        if len(group) > 2:  # trim the chain ends: keep who is close to the group as a whole
            centroid = np.asarray(matrix[group].mean(axis=0)).ravel()
            norm = np.linalg.norm(centroid) or 1.0
            closeness = matrix[group] @ (centroid / norm)
            group = [g for g, s in zip(group, closeness, strict=True) if s >= CENTROID]
        if len(group) >= min_size:
            topics.append(group)
    return topics


def kleinberg(r: list[int], d: list[int], *, s: float = BURST_S, gamma: float = BURST_GAMMA) -> tuple[list[int], list[float]]:
    """Two-state batched Kleinberg automaton: the state (0 base, 1 burst) of each day and its weight.

    p0 = Σr / Σd, p1 = min(s·p0, 0.9999); cost of a day = −ln(C(d,r) p^r (1−p)^(d−r)); going up costs
    gamma·ln(T). Viterbi gives the cheapest state sequence; a day's weight is cost0 − cost1.
    """
    total_r, total_d = sum(r), sum(d)
    if total_r == 0 or total_d == 0:
        return [0] * len(r), [0.0] * len(r)
    p0 = total_r / total_d
    p1 = min(s * p0, 0.9999)

    def cost(p: float, rt: int, dt: int) -> float:
        if dt == 0:
            return 0.0
        return -(math.lgamma(dt + 1) - math.lgamma(rt + 1) - math.lgamma(dt - rt + 1)
                 + rt * math.log(p) + (dt - rt) * math.log(1 - p))

    up = gamma * math.log(max(len(r), 2))
    prev = [0.0, up]
    back: list[tuple[int, int]] = []
    for rt, dt in zip(r, d, strict=True):
        c0, c1 = cost(p0, rt, dt), cost(p1, rt, dt)
        from0 = (prev[0], 0) if prev[0] <= prev[1] else (prev[1], 1)  # going down is free
        from1 = (prev[0] + up, 0) if prev[0] + up < prev[1] else (prev[1], 1)
        back.append((from0[1], from1[1]))
        prev = [from0[0] + c0, from1[0] + c1]
    state = 0 if prev[0] <= prev[1] else 1
    states = []
    for b0, b1 in reversed(back):
        states.append(state)
        state = b0 if state == 0 else b1
    states.reverse()
    weights = [cost(p0, rt, dt) - cost(p1, rt, dt) for rt, dt in zip(r, d, strict=True)]
    return states, weights


def _title_terms(texts: list[str], places: list[str | None], limit: int = 3) -> list[str]:
    if len(texts) > TITLE_TEXTS:  # the shares of words hold in an even sample; segmenting 2,000 texts took seconds
        step = len(texts) / TITLE_TEXTS
        texts = [texts[int(i * step)] for i in range(TITLE_TEXTS)]
    place_words = {p for p in places if p}
    df: Counter[str] = Counter()
    for text in texts:
        words = {w for w in jieba.lcut(text) if len(w) >= 2 and w not in _TOKEN_STOP and not re.search(r"[\dA-Za-z]", w)}
        df.update(w for w in words if not any(w in p for p in place_words))
    common = [w for w, n in df.most_common(12) if n >= max(2, math.ceil(0.3 * len(texts)))]
    picked: list[str] = []
    for w in common:
        if not any(w in p or p in w for p in picked):
            picked.append(w)
        if len(picked) == limit:
            break
    return picked or [w for w, _ in df.most_common(limit)]


_CLAUSE = re.compile(r"[。！？!?；;\n]")
_LEAD_IN = re.compile(r"^(?:(?:您好|你好|尊敬的[^，,]{0,8})[，,！!]?|我(?:想|要)?(?:咨询|问|反映|投诉|举报)一下|关于|反映|投诉|举报|咨询|"
                      r"请问|建议|希望|请求|求助)+[，,：:]?")
_TAIL = re.compile(r"(?:[，,](?:谢谢|请尽快处理|请领导重视|望回复)[^，,]*|的问题|问题|的情况|情况|的建议|的投诉|的咨询)$")
HEADLINE_CHARS = 22


def _innermost(place: str) -> str:
    """上冈镇冈南社区 → 冈南社区: the part a demand's own wording names."""
    parts = re.findall(r".+?(?:街道|社区|居委会|镇|乡|村|市|区|县)", place)
    return parts[-1] if parts else place


def headline(text: str) -> str:
    """What one demand is about, in a few words: its first clause without 关于…的问题 (a board message's
    first clause is its 留言主题, see api.online)."""
    for clause in _CLAUSE.split(text):
        clause = _TAIL.sub("", _LEAD_IN.sub("", clause.strip(" ，,。")).strip())
        if len(clause) >= 4:
            if len(clause) <= HEADLINE_CHARS:
                return clause
            cut = max(clause.rfind("，", 0, HEADLINE_CHARS), clause.rfind(",", 0, HEADLINE_CHARS))
            return clause[:cut] if cut >= 8 else clause[:HEADLINE_CHARS - 1] + "…"
    return ""


def _headline_of(doc: Doc, dominant: str | None) -> str:
    """A member's headline as the topic's name; its own village is dropped when the topic spans many places
    (a county-wide 楼上装修噪音 was named "姜庄村楼上装修噪音太大影响休息")."""
    text = doc.text
    if doc.place and not dominant:
        text = text.replace(_innermost(doc.place), "", 1)
    return headline(text)


def _similar_count(matrix, centroid: np.ndarray, docs: list[Doc], place: str | None) -> list[int]:
    """Indices of docs (another window) about the same topic: similar to the centroid, same place rule."""
    if matrix.shape[0] == 0:
        return []
    sims = matrix @ centroid
    near = sims >= FAR
    if place:
        near |= (sims >= NEAR) & np.array([d.place == place for d in docs])
    return np.flatnonzero(near).tolist()


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=i) for i in range(period.days)]


_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hotspots")
_cache: OrderedDict[tuple, tuple[float, list[dict[str, Any]]]] = OrderedDict()
_cache_lock = threading.Lock()
_libc_path = ctypes.util.find_library("c")
_libc = ctypes.CDLL(_libc_path) if _libc_path else None


def _give_back_memory() -> None:
    """glibc keeps freed arrays in its heap; malloc_trim returns them to the system (absent elsewhere)."""
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def _data_version(db_session: Session, periods: list[Period]) -> tuple:
    """What the result depends on in the tickets: rows (count, newest id) and edits (latest updated_at) of the
    days read. Every ORM write of a ticket moves its updated_at."""
    spans = [p.bounds() for p in periods]
    row = db_session.execute(
        select(func.count(Ticket.id), func.max(Ticket.id), func.max(Ticket.updated_at))
        .where(or_(*[(Ticket.created_at >= start) & (Ticket.created_at < end) for start, end in spans]))
    ).one()
    return tuple(row)


def find_hotspots(*, db_session: Session, period: Period, principal: Principal | None = None, min_count: int = 3,
                  limit: int = 30, baseline_days: int = BASELINE_DAYS, last_year: bool = True,
                  samples: int = 3) -> list[dict[str, Any]]:
    """Topics of the period, most important first (bursts by weight, then size).

    Computed in the one hotspot thread; a reader who sees every ticket gets the result kept for the same
    question and data version (a restricted reader's depends on assignments too: computed each time)."""
    def work() -> list[dict[str, Any]]:
        try:
            return _compute(db_session=db_session, period=period, principal=principal, min_count=min_count,
                            baseline_days=baseline_days, last_year=last_year, samples=samples)
        finally:
            _give_back_memory()

    def run() -> list[dict[str, Any]]:
        if threading.current_thread().name.startswith("hotspots"):
            return work()
        return _worker.submit(work).result()

    if principal is not None and visibility_clause(principal) is not None:
        return run()[:limit]
    read = [Period(period.start - timedelta(days=baseline_days), period.end)]
    if last_year:
        read.append(period.years_back(1))
    key = (str(db_session.get_bind().url), period, min_count, baseline_days, last_year, samples,
           _data_version(db_session, read))
    with _cache_lock:
        kept = _cache.get(key)
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            _cache.move_to_end(key)
            return kept[1][:limit]
    found = run()
    with _cache_lock:
        _cache[key] = (time.monotonic(), found)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return found[:limit]


def _compute(*, db_session: Session, period: Period, principal: Principal | None, min_count: int,
             baseline_days: int, last_year: bool, samples: int) -> list[dict[str, Any]]:
    docs = load_docs(db_session=db_session, period=period, principal=principal)
    if len(docs) < min_count:
        return []
    base_period = Period(period.start - timedelta(days=baseline_days), period.start - timedelta(days=1))
    base_docs = load_docs(db_session=db_session, period=base_period, principal=principal)
    year_period = period.years_back(1)
    year_docs = load_docs(db_session=db_session, period=year_period, principal=principal) if last_year else []
    vectorizer = _vectorizer()
    try:
        # One pass over period + baseline (fit, then transform, read every text twice): the same matrix.
        both = vectorizer.fit_transform([d.text for d in docs] + [d.text for d in base_docs])
    except ValueError:  # nothing repeats at all: no topic
        return []
    matrix, base_matrix = both[:len(docs)], both[len(docs):]
    del both
    year_matrix = vectorizer.transform([d.text for d in year_docs]) if year_docs else matrix[:0]
    all_days = _days(base_period) + _days(period)
    per_day = Counter(d.day for d in base_docs) + Counter(d.day for d in docs)
    names = {d.id: d.short for d in db_session.scalars(select(Department))}
    out = []
    for group in cluster(docs, matrix, min_size=min_count):
        members = [docs[i] for i in group]
        centroid = np.asarray(matrix[group].mean(axis=0)).ravel()
        centroid /= np.linalg.norm(centroid) or 1.0
        place_counts = Counter(m.place for m in members if m.place)
        top_place = place_counts.most_common(1)[0][0] if place_counts else None
        dominant = top_place if top_place and place_counts[top_place] >= 0.6 * len(members) else None
        baseline = [base_docs[i] for i in _similar_count(base_matrix, centroid, base_docs, dominant)]
        hits = Counter(d.day for d in baseline) + Counter(m.day for m in members)
        states, weights = kleinberg([hits[d] for d in all_days], [per_day[d] for d in all_days])
        offset = len(all_days) - period.days
        burst_days = [all_days[i] for i in range(offset, len(all_days)) if states[i] == 1]
        weight = sum(weights[i] for i in range(offset, len(all_days)) if states[i] == 1)
        series = [hits[d] for d in _days(period)]
        half = len(series) // 2
        first, second = sum(series[:half]), sum(series[half:])
        trend = "上升" if second > first * 1.2 + 1 else "下降" if first > second * 1.2 + 1 else "持平"
        closeness = matrix[group] @ centroid
        order = np.argsort(-closeness)[:samples]
        terms = _title_terms([m.text for m in members], [m.place for m in members])
        # Named after its most typical demand (closest to the centroid), in the place when one dominates.
        about = next((h for h in (_headline_of(members[i], dominant) for i in order) if h), "") or "、".join(terms)
        prefix = dominant if dominant and _innermost(dominant) not in about else ""
        dept = Counter(m.department for m in members if m.department).most_common(1)
        level = Counter((m.level1, m.level3) for m in members if m.level1).most_common(1)
        expected = len(baseline) / baseline_days * period.days
        year_count = len(_similar_count(year_matrix, centroid, year_docs, dominant)) if last_year else None
        out.append({
            "title": mask_text(f"{prefix} {about}".strip()) or "未命名热点",
            "count": len(members),
            "tickets": [m.ticket_no for m in sorted(members, key=lambda m: (m.day, m.id))],
            "terms": terms,
            "places": [{"place": p, "count": n} for p, n in place_counts.most_common(5)],
            "trend": trend,
            "series": [{"date": d.isoformat(), "count": c} for d, c in zip(_days(period), series, strict=True)],
            "burst": bool(burst_days),
            "burst_days": [d.isoformat() for d in burst_days],
            "burst_weight": round(weight, 2),
            "baseline_count": len(baseline),
            "expected": round(expected, 2),
            "last_year_count": year_count,
            "category": {"level1": level[0][0][0], "level3": level[0][0][1]} if level else None,
            "department_id": dept[0][0] if dept else None,
            "department": names.get(dept[0][0], dept[0][0]) if dept else None,
            "samples": [{"ticket_no": members[i].ticket_no, "date": members[i].day.isoformat(),
                         "text": (mask_text(members[i].text) or "")[:160]} for i in order],
        })
    out.sort(key=lambda h: (not h["burst"], -h["burst_weight"], -h["count"], h["title"]))
    return out


def topic_matches(*, db_session: Session, period: Period, terms: list[str], place: str | None = None,
                  principal: Principal | None = None) -> list[Doc]:
    """Demands of a named topic in a period (all its terms present; in the place when one is given).
    Used to measure 未诉先办 outcomes and for the 热点分析专报 on a chosen topic."""
    docs = load_docs(db_session=db_session, period=period, principal=principal)
    return [d for d in docs if all(t in d.text for t in terms) and (not place or (d.place or "").startswith(place)
                                                                       or place in (d.place or ""))]


def today_period(now: datetime, days: int) -> Period:
    end = local_day(now)
    return Period(end - timedelta(days=days - 1), end)

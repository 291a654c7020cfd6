"""Suggests a demand's category from its Chinese text, and learns from staff corrections.

A multinomial naive Bayes over words: the text is segmented with jieba (the categories' seed words
added to its dictionary), and each category's word counts are its seed words (Category.keywords,
each worth SEED_WEIGHT occurrences) plus what staff taught it (CategoryTerm rows). A demand teaches
its accepted category when it is accepted; a staff correction afterwards takes the lesson back from
the old category and gives it to the new one (services call learn(..., -1) then learn(...)), so the
next similar text moves with the staff's choices.

Words are counted once per text (binarised counts suit short texts). A word of the text that is not
known as a whole still counts through the known words inside it ("太吵" → "吵", "垃圾堆" → "垃圾").

Costs: jieba's dictionary loads once per process, on first use (about a second). The model is
kept per process and rebuilt only when it changed: one small query per suggestion reads a version
token that every lesson replaces with a random number, together with a checksum of the categories
(their count, ids, names, seed words, active flags), so an edit in the admin is seen as well.
Two lessons at the same moment wait for each other on that version row until their transactions
end (milliseconds; a city's staff accept a demand every minute or so).
"""

import copy
import logging
import math
import re
import secrets
import threading
from collections import Counter
from dataclasses import dataclass, field

from django.db import connection
from django.utils.html import strip_tags

from huijia.demands.models import Category, CategoryTerm

SEED_WEIGHT = 3  # a seed word counts like a word seen in this many taught texts
SEED_DOCS = 3  # each category starts as if taught this many texts (its prior)
ALPHA = 0.5  # additive smoothing
MAX_TEXT = 2000  # characters read from a text (the description limit)
MAX_TERMS = 64  # distinct words learned from one text
MAX_SUBTERM = 4  # longest known word looked for inside an unknown one
VERSION_TERM = "#v"  # the model's version token (never a word: words are Chinese characters only)
DOCS_TERM = "#n"  # per category: how many texts it was taught

STOPWORDS = frozenset(
    " ".join(
        (
            "了 的 地 得 着 过 是 在 有 和 与 及 或 也 都 就 又 还 很 太 最 更 非常 比较 一直 已经",
            "一下 一些 一个 一点 这 那 这个 那个 这里 那里 这边 那边 这样 那样 这些 那些",
            "什么 怎么 怎么办 为什么 如何 哪里 哪个 我 我们 你 你们 您 他 他们 她 她们 它 它们",
            "自己 大家 本人 我家 家里 咱们 吗 呢 吧 啊 呀 哦 嘛 哈 啦 喔 哎 唉 请 请问 麻烦",
            "谢谢 感谢 希望 能 能够 可以 要 想 需要 帮忙 帮助 帮 把 被 让 给 对 向 从 到 为",
            "因为 所以 但是 但 而且 并且 如果 就是 还是 然后 已 没有 不是 问题 情况 反映 处理",
            "解决 尽快 及时 社区 小区 物业 相关 部门 单位 有关 现在 目前 今天 昨天 最近 每天 经常",
        )
    ).split()
)
_WORD = re.compile(r"[\u4e00-\u9fff]+")

log = logging.getLogger(__name__)

_lock = threading.Lock()
_tokenizer = None
_dictionary_words: set[str] = set()


@dataclass
class Model:
    """Word counts per category and what the rates need, as of one version of the data."""

    signature: tuple
    categories: dict[int, Category] = field(default_factory=dict)
    counts: dict[str, dict[int, int]] = field(default_factory=dict)  # word -> category id -> count
    totals: Counter = field(default_factory=Counter)  # category id -> sum of its word counts
    log_prior: dict[int, float] = field(default_factory=dict)

    @property
    def vocabulary_size(self) -> int:
        return len(self.counts)


_model: Model | None = None


# --- words ----------------------------------------------------------------------------------------


def _jieba():
    """The segmenter, loaded on first use (quietly) and kept for the life of the process."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _tokenizer = tokenizer
    return _tokenizer


def _teach_dictionary(words) -> None:
    """Makes jieba cut the categories' seed words whole ("路灯不亮" → 路灯 / 不亮)."""
    tokenizer = _jieba()
    for word in words:
        if len(word) > 1 and word not in _dictionary_words and _WORD.fullmatch(word):
            if word not in tokenizer.FREQ or not tokenizer.FREQ[word]:
                tokenizer.add_word(word)
            _dictionary_words.add(word)


def clean(text: str | None) -> str:
    """The text as read by the classifier: markup removed, at most MAX_TEXT characters."""
    return strip_tags((text or "")[: MAX_TEXT * 2])[:MAX_TEXT]


def terms(text: str | None) -> list[str]:
    """The distinct words of a text, in order: Chinese words from jieba, without stop words."""
    text = clean(text)
    if not text:
        return []
    seen: dict[str, None] = {}
    for chunk in _WORD.findall(text):
        for word in _jieba().cut(chunk, HMM=False):
            if word not in STOPWORDS and len(word) <= 32:
                seen.setdefault(word, None)
    return list(seen)[:MAX_TERMS]


def features(words: list[str], known) -> list[str]:
    """The words the model knows: each known word, and the known words inside any longer word."""
    found: dict[str, None] = {}
    for word in words:
        if word in known:
            found.setdefault(word, None)
        if len(word) < 2:
            continue
        for size in range(1, min(len(word) - 1, MAX_SUBTERM) + 1):
            for start in range(len(word) - size + 1):
                part = word[start : start + size]
                if part in known and part not in STOPWORDS:
                    found.setdefault(part, None)
    return list(found)


# --- the model ------------------------------------------------------------------------------------

_SIGNATURE_SQL = """
    SELECT (SELECT max(t.count) FROM demands_categoryterm t WHERE t.term = %s),
           count(*), max(c.id),
           sum(c.id * (length(c.keywords) + 7 * length(c.name) + 13 * length(c.code))),
           sum(CASE WHEN c.active THEN c.id ELSE 0 END)
    FROM demands_category c
"""


def _signature() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(_SIGNATURE_SQL, [VERSION_TERM])
        return tuple(cursor.fetchone())


def _build(signature: tuple) -> Model:
    model = Model(signature=signature)
    categories = list(
        Category.objects.filter(active=True).only(
            "pk", "code", "name", "group", "keywords", "respond_hours", "resolve_hours", "sort"
        )
    )
    model.categories = {c.pk: c for c in categories}
    docs = Counter({c.pk: SEED_DOCS for c in categories})
    for category in categories:
        for word in dict.fromkeys(category.keywords.split()):
            model.counts.setdefault(word, {})[category.pk] = SEED_WEIGHT
            model.totals[category.pk] += SEED_WEIGHT
    _teach_dictionary(model.counts)
    rows = CategoryTerm.objects.filter(category_id__in=model.categories, count__gt=0)
    for term, category_id, count in rows.values_list("term", "category_id", "count").iterator(2000):
        if term == DOCS_TERM:
            docs[category_id] += count
        elif not term.startswith("#"):
            per = model.counts.setdefault(term, {})
            per[category_id] = per.get(category_id, 0) + count
            model.totals[category_id] += count
    all_docs = sum(docs.values()) or 1
    model.log_prior = {pk: math.log(docs[pk] / all_docs) for pk in model.categories}
    return model


def model() -> Model:
    """The model as of the data now (rebuilt when a lesson or a category changed since)."""
    global _model
    signature = _signature()
    current = _model
    if current is None or current.signature != signature:
        current = _build(signature)
        _model = current
    return current


def scores(text: str | None, m: Model | None = None) -> dict[int, float]:
    """Log-probability (up to a constant) of each category for the text; empty when no word is known."""
    m = m or model()
    found = features(terms(text), m.counts)
    if not found:
        return {}
    smoothing = ALPHA * max(m.vocabulary_size, 1)
    result = {}
    for pk in m.categories:
        denominator = math.log(m.totals[pk] + smoothing)
        score = m.log_prior[pk]
        for word in found:
            score += math.log(m.counts[word].get(pk, 0) + ALPHA) - denominator
        result[pk] = score
    return result


def suggest_category(text: str) -> Category | None:
    """The most likely category for the text, or None when none of its words means anything to us."""
    m = model()
    ranked = scores(text, m)
    if not ranked:
        return None
    best = max(ranked, key=lambda pk: (ranked[pk], -m.categories[pk].sort, -pk))
    return copy.copy(m.categories[best])


# --- learning -------------------------------------------------------------------------------------


def learn(text: str, category_id: int | None, delta: int = 1) -> None:
    """Records that `text` belongs to the category (delta -1 takes back an earlier lesson).

    One upsert of the text's word counts (never below zero) and a new model version, in the caller's
    transaction: a rolled-back step teaches nothing."""
    if category_id is None or not delta:
        return
    words = terms(text)
    if not words:
        return
    rows = sorted([*words, DOCS_TERM])  # one lock order for every writer
    if delta > 0:
        _upsert(category_id, rows, delta)
    else:
        _take_back(category_id, rows, -delta)
    _new_version()


def _upsert(category_id: int, words: list[str], delta: int) -> None:
    greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
    values = ", ".join(["(%s, %s, %s)"] * len(words))
    sql = (
        f"INSERT INTO demands_categoryterm (category_id, term, count) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (term, category_id) DO UPDATE "
        f"SET count = {greatest}(demands_categoryterm.count + %s, 0)"
    )
    params = [v for word in words for v in (category_id, word, delta)] + [delta]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _take_back(category_id: int, words: list[str], amount: int) -> None:
    rows = CategoryTerm.objects.filter(category_id=category_id, term__in=words)
    with connection.cursor() as cursor:
        greatest = "GREATEST" if connection.vendor == "postgresql" else "MAX"
        marks = ", ".join(["%s"] * len(words))
        cursor.execute(
            f"UPDATE demands_categoryterm SET count = {greatest}(count - %s, 0) "  # noqa: S608
            f"WHERE category_id = %s AND term IN ({marks})",
            [amount, category_id, *words],
        )
    rows.filter(count=0).delete()


def _new_version() -> None:
    """Replaces the version token (a random number: a rolled-back lesson never reuses one)."""
    sql = (
        "INSERT INTO demands_categoryterm (category_id, term, count) "
        "SELECT c.id, %s, %s FROM demands_category c WHERE c.id = (SELECT min(id) FROM demands_category) "
        "ON CONFLICT (term, category_id) DO UPDATE SET count = EXCLUDED.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [VERSION_TERM, secrets.randbelow(2**31 - 1) + 1])

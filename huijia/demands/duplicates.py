"""Similar open demands, offered while a demand is typed ("same problem already reported, follow it").

Where: the open demands (not merged) of the estate the place is in, in the same category when one is
known, read through the (estate, category, status) index, newest first, at most CANDIDATES of them;
a place that is a community (no estate) looks at the community's open demands through its own
index. A demand in the same building as the place ranks a little higher than one elsewhere in the
estate ("in the same building, else the same estate").

How similar: the cosine of the two texts' character bigrams and single characters, read within runs
of Chinese characters (so "下水道堵了" and "下水道又堵塞" share 下水 and 水道, whatever the wording around
them, and "楼道灯坏了" and "楼道里的灯不亮" still share 灯); a single character weighs less than a
bigram, and those that say nothing about the problem (小区, 麻烦, 的, 了…) and numbers are left out.
Demands below MIN_SIMILARITY are dropped. This needs no dictionary: well under a millisecond per
candidate, and no jieba start-up.
"""

import math
import re

from django.db.models.functions import Substr

from huijia.demands.models import OPEN_STATUSES, Category, Demand
from huijia.grid.models import Area, AreaKind

CANDIDATES = 200  # newest open demands read and compared, at most
READ_CHARS = 300  # of each candidate's description
MIN_SIMILARITY = 0.2
SAME_BUILDING_BONUS = 0.1  # added for ranking only, not for the threshold
CHAR_WEIGHT = 0.5  # squared weight of a single character (a bigram weighs 1)

STOP_BIGRAMS = frozenset(
    " ".join(
        (
            "小区 社区 物业 我们 你们 他们 一下 请问 麻烦 谢谢 感谢 希望 问题 反映 帮忙 解决 处理",
            "尽快 及时 已经 一直 好几 几天 现在 没有 不是 这个 那个 什么 怎么 可以 需要 还是",
            "一个 这里 那里 目前 今天 昨天 最近 每天 经常 有人 没人 居民 业主 住户 情况 影响",
        )
    ).split()
)
STOP_CHARS = frozenset("的了是在有和与也都就又还很太吗呢吧啊呀哦请我你您他她它们这那个一不没")
_RUN = re.compile(r"[\u4e00-\u9fff]+")


def shingles(text: str | None) -> frozenset[str]:
    """The text's character bigrams and single characters, without those that say nothing."""
    grams: set[str] = set()
    for run in _RUN.findall((text or "")[:2000]):
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
        grams.update(run)
    return frozenset(g for g in grams if g not in STOP_BIGRAMS and g not in STOP_CHARS)


def _norm(grams: frozenset[str]) -> float:
    return sum(1.0 if len(g) > 1 else CHAR_WEIGHT for g in grams)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Weighted cosine of two sets of shingles: 1 for the same words, 0 for nothing in common."""
    if not a or not b:
        return 0.0
    return _norm(a & b) / math.sqrt(_norm(a) * _norm(b))


def _scope(area: Area) -> tuple[dict, int | None]:
    """The filter for the open demands near `area` (estate, else community), and its building."""
    if area.kind == AreaKind.BUILDING:  # read from the path: callers may load only pk, path and kind
        return {"estate_id": area.ancestor_ids()[-2]}, area.pk
    if area.kind == AreaKind.ESTATE:
        return {"estate_id": area.pk}, None
    if area.kind == AreaKind.COMMUNITY:
        return {"community_id": area.pk}, None
    return {}, None


def similar_open(
    text: str, area: Area, category: Category | None = None, limit: int = 5, *, public: bool = False
) -> list[Demand]:
    """Open demands near `area` that look like the same problem as `text`, most similar first.

    `public` (the resident's QR form and the open API) leaves out demands about one household: their
    words may name a family's situation ("602独居老人…"), which a neighbour typing must not read.
    """
    mine = shingles(text)
    where, building = _scope(area)
    if not mine or not where or limit < 1:
        return []
    if category is not None:
        where["category_id"] = category.pk
    if public:
        where["household__isnull"] = True
    candidates = (
        Demand.objects.filter(**where, status__in=sorted(OPEN_STATUSES), merged_into__isnull=True)
        .order_by("-created_at", "-pk")
        .annotate(head=Substr("description", 1, READ_CHARS))
        .values_list("pk", "area_id", "head")[:CANDIDATES]
    )
    ranked = []
    for pk, area_id, head in candidates:
        score = similarity(mine, shingles(head))
        if score >= MIN_SIMILARITY:
            bonus = SAME_BUILDING_BONUS if building is not None and area_id == building else 0.0
            ranked.append((score + bonus, pk))
    ranked.sort(key=lambda item: (-item[0], -item[1]))
    chosen = [pk for _score, pk in ranked[:limit]]
    if not chosen:
        return []
    found = Demand.objects.select_related("area", "category").in_bulk(chosen)
    return [found[pk] for pk in chosen if pk in found]

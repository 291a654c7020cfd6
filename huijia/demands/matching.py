"""Who can serve a need (F6 matching): members of the community with the right skills, living nearby,
not overloaded.

`suggest_members` is a plain function of a community, a category and a place: callers check first that
the actor may see the need or demand they ask about (list_selectors.need_matches does; so must the
demand assignment screen). It reads two queries whatever the size of the community: the candidates with
their load counted in SQL, then their skills.

The order, best first:
1. members who are free to take it on: neither overloaded (OVERLOADED open tasks or more: demands
   assigned to them and service items they have claimed) nor asking for fewer duties (light_duty);
2. within that, the nearest: same building, then same estate, then the same community;
3. then the fewest open tasks, then the name.
When the category names skill words ("水电 维修"), only members with a skill containing one of them are
proposed; a category without skill words (or no category) proposes anyone in the community.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huijia.demands.models import OPEN_STATUSES, Category, Demand, ServiceClaim, ServiceItemStatus
from huijia.grid.models import Area, AreaKind
from huijia.members.models import FreeTime, Member

OVERLOADED = 3
NEARNESS = {0: gettext_lazy("同楼栋"), 1: gettext_lazy("同小区"), 2: gettext_lazy("同社区")}
OPEN_ITEM = (ServiceItemStatus.PUBLISHED, ServiceItemStatus.CLAIMED)


@dataclass(frozen=True)
class Suggestion:
    """One proposed member and why: the skills that match, how near they live, how busy they are."""

    member_id: int
    name: str
    skills: tuple[str, ...]
    nearness: int  # 0 same building, 1 same estate, 2 same community
    load: int  # open demands assigned to them + active claims on open service items
    light_duty: bool
    place: str  # "幸福小区 3栋"
    free_time: tuple[str, ...]  # labels, e.g. 周末

    @property
    def overloaded(self) -> bool:
        return self.load >= OVERLOADED

    @property
    def reason(self) -> str:
        """ "专长：水电维修 · 同小区 · 当前2项任务" """
        parts = []
        if self.skills:
            parts.append(_("专长：{s}").format(s="、".join(self.skills)))
        parts.append(str(NEARNESS[self.nearness]))
        parts.append(_("当前{n}项任务").format(n=self.load) if self.load else _("当前无任务"))
        if self.light_duty:
            parts.append(_("少安排任务"))
        return " · ".join(parts)

    @property
    def rank(self) -> tuple:
        return (int(self.light_duty or self.overloaded), self.nearness, self.load, self.name, self.member_id)


def skill_words(category: Category | None) -> list[str]:
    return [w for w in (category.skill_words.split() if category else []) if w]


def _count(qs, key: str):
    counted = qs.order_by().values(key).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _target(area: Area | None) -> tuple[int | None, int | None]:
    """(building id, estate id) of the place a need or demand is at, as far as it is known."""
    if area is None:
        return None, None
    if area.kind == AreaKind.BUILDING:
        return area.pk, area.parent_id
    if area.kind == AreaKind.ESTATE:
        return None, area.pk
    return None, None


def _nearness(row: dict, building_id: int | None, estate_id: int | None) -> int:
    if building_id is not None and row["household__building_id"] == building_id:
        return 0
    if estate_id is not None and row["household__building__parent_id"] == estate_id:
        return 1
    return 2


def skilled(community_id: int, words: list[str]):
    """Members reporting in the community whose skills contain one of `words` (all of them if none)."""
    qs = Member.objects.filter(community_id=community_id)
    if words:
        match = Q()
        for word in words:
            match |= Q(skill__name__contains=word)
        links = Member.skills.through.objects.filter(match, member_id=OuterRef("pk"))
        qs = qs.filter(Exists(links))
    return qs


def candidates(community_id: int, words: list[str]):
    """`skilled` members with what a suggestion shows, their load counted in SQL."""
    qs = skilled(community_id, words)
    demands = Demand.objects.filter(assigned_member_id=OuterRef("pk"), status__in=list(OPEN_STATUSES))
    claims = ServiceClaim.objects.filter(
        member_id=OuterRef("pk"), withdrawn_at=None, item__status__in=list(OPEN_ITEM)
    )
    return qs.annotate(load=_count(demands, "assigned_member_id") + _count(claims, "member_id")).values(
        "id",
        "name",
        "light_duty",
        "free_time",
        "load",
        "household__building_id",
        "household__building__name",
        "household__building__parent_id",
        "household__building__parent__name",
    )


def suggest_members(
    community_id: int, category: Category | None = None, area: Area | None = None, limit: int = 10
) -> list[Suggestion]:
    """Up to `limit` members of the community who could serve a need of `category` at `area`, best
    first (see the module docstring), each with the reason it was proposed. Two queries."""
    words = skill_words(category)
    rows = list(candidates(community_id, words))
    if not rows:
        return []
    skills: dict[int, list[str]] = {}
    links = Member.skills.through.objects.filter(member_id__in=skilled(community_id, words).values("pk"))
    for member_id, name in links.order_by("skill__name").values_list("member_id", "skill__name"):
        if not words or any(w in name for w in words):
            skills.setdefault(member_id, []).append(name)
    building_id, estate_id = _target(area)
    labels = dict(FreeTime.choices)
    found = [
        Suggestion(
            member_id=r["id"],
            name=r["name"],
            skills=tuple(skills.get(r["id"], ())) if words else (),
            nearness=_nearness(r, building_id, estate_id),
            load=r["load"],
            light_duty=r["light_duty"],
            place=" ".join(
                p for p in (r["household__building__parent__name"], r["household__building__name"]) if p
            ),
            free_time=tuple(str(labels.get(t, t)) for t in r["free_time"] or ()),
        )
        for r in rows
    ]
    return sorted(found, key=lambda s: s.rank)[:limit]

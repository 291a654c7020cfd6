"""Writes of the three lists (三单管理, F6): needs, service items and their claims, the resource export.

Who may do what:
- staff with MANAGE_DEMANDS over the place (community staff; the estate's branch secretary for needs
  in their estate): create a need (from demands or by hand), change its status, link and unlink
  demands; community staff publish, change, finish and take down the community's service items;
- a member reporting in the community: claim an item for themselves, and withdraw their claim;
- a team's leader (or community staff): claim an item for the team, and withdraw that claim;
- a work unit's organiser (role WORK_UNIT): claim for the unit in a community it is paired with (结对共建,
  volunteering.Pairing), and withdraw that claim;
- staff with EXPORT over the members: download the resource list.

Every write is one transaction that checks permission, writes an audit row, and locks what it counts
on: a claim locks the service item's row (`select_for_update`), so that however many people claim at
once, no more claims are active than the item has places.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.excel import write_xlsx
from huijia.demands.list_selectors import resource_list, visible_items
from huijia.demands.models import (
    Category,
    ClaimantKind,
    Demand,
    Need,
    NeedKind,
    NeedStatus,
    ServiceClaim,
    ServiceItem,
    ServiceItemStatus,
)
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.models import FreeTime, Member, Team, TeamMembership

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_NOTE = 200
MAX_PLACES = 200
MAX_DEMANDS = 200
NEED_PLACES = (AreaKind.COMMUNITY, AreaKind.ESTATE, AreaKind.BUILDING)
OPEN_ITEM = (ServiceItemStatus.PUBLISHED, ServiceItemStatus.CLAIMED)
REFUSED_NEEDS = _("需求清单由社区党委和小区党支部书记管理")
REFUSED_ITEMS = _("服务清单由社区党委发布和管理")


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


def _text(value: str | None, field_name: str, *, limit: int, required: str = "") -> str:
    value = (value or "").strip()
    if not value and required:
        raise _bad(field_name, required, f"{field_name}_empty")
    if len(value) > limit:
        raise _bad(field_name, _("不超过{n}个字").format(n=limit), f"{field_name}_too_long")
    return value


def _category(code: str | None) -> Category | None:
    if not code:
        return None
    category = Category.objects.filter(code=code, active=True).first()
    if category is None:
        raise _bad("category", _("没有这个类别，请从列表中选择"), "unknown_category")
    return category


def _ids(values: Iterable | None, field_name: str, limit: int = MAX_DEMANDS) -> list[int]:
    try:
        ids = list(dict.fromkeys(int(v) for v in values or ()))
    except (TypeError, ValueError):
        raise _bad(field_name, _("编号应为整数"), "bad_id") from None
    if len(ids) > limit:
        raise _bad(field_name, _("一次最多{n}条").format(n=limit), "too_many")
    return ids


def community_of(area: Area) -> int | None:
    """The id of the community an area lies in (or is), read from its path: no query."""
    if area.kind == AreaKind.COMMUNITY:
        return area.pk
    ids = area.ancestor_ids()
    return Area.objects.filter(pk__in=ids, kind=AreaKind.COMMUNITY).values_list("pk", flat=True).first()


# --- needs (需求清单) ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NeedInput:
    """A need typed by hand (a place or a household, a title) or gathered from demands."""

    title: str = ""
    description: str = ""
    category_code: str = ""
    kind: str = ""  # empty: individual for one household, common otherwise
    area_id: int | None = None  # a community, estate or building; the household's building if omitted
    household_id: int | None = None
    demand_ids: tuple[int, ...] = field(default=())


def _may_manage_place(actor: Actor, area: Area, message=REFUSED_NEEDS) -> None:
    if actor.covers(Perm.MANAGE_DEMANDS, area.path):
        return
    if actor.covers(Perm.VIEW, area.path):
        raise Forbidden(str(message))
    raise NotFound()


def _demands_to_gather(actor: Actor, ids: list[int]) -> list[Demand]:
    """The demands, if the actor may manage every one of them; NotFound when one is out of sight."""
    seen = list(
        restrict(Demand.objects.all(), actor, Perm.VIEW)
        .filter(pk__in=ids)
        .select_related("area", "estate", "category", "household", "household__building")
        .order_by("pk")
    )
    if len(seen) != len(ids):
        raise NotFound()
    for demand in seen:
        _may_manage_place(actor, demand.area)
    return seen


def _place_by_hand(actor: Actor, data: NeedInput) -> tuple[Area, Household | None]:
    household = None
    if data.household_id is not None:
        household = Household.objects.select_related("building").filter(pk=data.household_id).first()
        if household is None:
            raise NotFound()
    if data.area_id is None:
        if household is None:
            raise _bad("area_id", _("请选择需求所在的社区、小区或楼栋"), "place_missing")
        area = household.building
    else:
        area = Area.objects.filter(pk=data.area_id).first()
        if area is None:
            raise NotFound()
    _may_manage_place(actor, area)  # before anything else: a refused place says nothing about itself
    if area.kind not in NEED_PLACES:
        raise _bad("area_id", _("需求的位置必须是一个社区、小区或楼栋"), "bad_place")
    if household is not None and not household.building.path.startswith(area.path):
        raise _bad("household_id", _("所选住户不在这个位置"), "household_elsewhere")
    return area, household


def _place_of_demands(demands: list[Demand]) -> tuple[Area, Household | None]:
    communities = {d.community_id for d in demands}
    if len(communities) != 1 or None in communities:
        raise _bad("demand_ids", _("只能把同一个社区的诉求归入一条需求"), "mixed_communities")
    if len(demands) == 1:
        return demands[0].area, demands[0].household
    estates = {d.estate_id for d in demands}
    if len(estates) == 1 and demands[0].estate is not None:
        return demands[0].estate, None
    return Area.objects.get(pk=demands[0].community_id), None


def _default_title(demands: list[Demand], area: Area, household: Household | None, category) -> str:
    what = category.name if category else _("居民需求")
    if household is not None:
        return f"{household.building.name} {household.label}：{what}"[:MAX_TITLE]
    return _("{place}{what}（{n}件诉求）").format(place=area.name, what=what, n=len(demands))[:MAX_TITLE]


@transaction.atomic
def create_need(*, actor: Actor, data: NeedInput) -> Need:
    """Puts a need on the need list: gathered from demands (common when several households raised it,
    individual for one household), or typed by hand for a place or a household."""
    ids = _ids(data.demand_ids, "demand_ids")
    title = _text(data.title, "title", limit=MAX_TITLE, required="" if ids else _("请填写需求"))
    demands = _demands_to_gather(actor, ids) if ids else []
    if demands:
        area, household = _place_of_demands(demands)
    else:
        area, household = _place_by_hand(actor, data)
    category = _category(data.category_code)
    if category is None and demands and len({d.category_id for d in demands}) == 1:
        category = demands[0].category
    kind = data.kind or (NeedKind.INDIVIDUAL if household is not None else NeedKind.COMMON)
    if kind not in NeedKind.values:
        raise _bad("kind", _("需求类型不正确"), "bad_kind")
    if kind == NeedKind.INDIVIDUAL and household is None:
        raise _bad("household_id", _("个性需求请选择一户居民"), "household_missing")
    need = Need.objects.create(
        community_id=community_of(area),
        area=area,
        household=household,
        kind=kind,
        title=title or _default_title(demands, area, household, category),
        description=_text(data.description, "description", limit=MAX_DESCRIPTION),
        category=category,
        created_by_id=actor.user_id,
    )
    if demands:
        need.demands.add(*demands)
    audit(actor=actor, action="need.create", target=need, kind=kind, demands=[d.pk for d in demands])
    return need


def _need_locked(actor: Actor, need_id: int) -> Need:
    qs = restrict(Need.objects.all(), actor, Perm.MANAGE_DEMANDS).select_for_update(of=("self",))
    need = qs.select_related("area").filter(pk=need_id).first()
    if need is None:
        if restrict(Need.objects.filter(pk=need_id), actor, Perm.VIEW).exists():
            raise Forbidden(str(REFUSED_NEEDS))
        raise NotFound()
    return need


@transaction.atomic
def set_need_status(*, actor: Actor, need_id: int, status: str) -> Need:
    """Moves a need between open (待服务), being served (服务中) and met (已满足), either way."""
    if status not in NeedStatus.values:
        raise _bad("status", _("状态不正确"), "bad_status")
    need = _need_locked(actor, need_id)
    if need.status == status:
        raise Conflict(_("该需求已经是“{s}”").format(s=need.get_status_display()), code="same_status")
    before = need.status
    need.status = status
    need.save(update_fields=["status"])
    audit(actor=actor, action="need.status", target=need, before=before, after=status)
    return need


@transaction.atomic
def link_demands(*, actor: Actor, need_id: int, demand_ids: Iterable[int]) -> Need:
    """Files more demands under a need (the same problem raised again, by another household)."""
    ids = _ids(demand_ids, "demand_ids")
    if not ids:
        raise _bad("demand_ids", _("请选择要归入的诉求"), "demands_missing")
    need = _need_locked(actor, need_id)
    demands = _demands_to_gather(actor, ids)
    if any(d.community_id != need.community_id for d in demands):
        raise _bad("demand_ids", _("只能归入本社区的诉求"), "other_community")
    linked = set(need.demands.filter(pk__in=ids).values_list("pk", flat=True))
    new = [d for d in demands if d.pk not in linked]
    if not new:
        raise Conflict(_("这些诉求已经在该需求中"), code="already_linked")
    need.demands.add(*new)
    audit(actor=actor, action="need.link", target=need, demands=[d.pk for d in new])
    return need


@transaction.atomic
def unlink_demand(*, actor: Actor, need_id: int, demand_id: int) -> Need:
    """Takes a demand out of a need (filed there by mistake); the demand itself is untouched."""
    need = _need_locked(actor, need_id)
    if not need.demands.filter(pk=demand_id).exists():
        raise NotFound()
    need.demands.remove(demand_id)
    audit(actor=actor, action="need.unlink", target=need, demand=demand_id)
    return need


# --- service items (服务清单) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceInput:
    title: str
    community_id: int | None = None  # for a new item
    description: str = ""
    category_code: str = ""
    places: int = 1
    need_ids: tuple[int, ...] = field(default=())


def _community_to_manage(actor: Actor, community_id: int | None) -> Area:
    community = Area.objects.filter(pk=community_id).first() if community_id is not None else None
    if community is None:
        raise NotFound()
    _may_manage_place(actor, community, REFUSED_ITEMS)
    if community.kind != AreaKind.COMMUNITY:
        raise _bad("community_id", _("服务项目由社区发布，请选择一个社区"), "not_a_community")
    return community


def _checked(
    data: ServiceInput, actor: Actor, community_id: int
) -> tuple[str, str, Category | None, int, list]:
    title = _text(data.title, "title", limit=MAX_TITLE, required=_("请填写服务项目名称"))
    description = _text(data.description, "description", limit=MAX_DESCRIPTION)
    places = data.places
    if not isinstance(places, int) or not 1 <= places <= MAX_PLACES:
        raise _bad("places", _("可认领数应在1到{n}之间").format(n=MAX_PLACES), "bad_places")
    ids = _ids(data.need_ids, "need_ids", limit=50)
    needs = list(restrict(Need.objects.filter(pk__in=ids), actor, Perm.VIEW).only("id", "community_id"))
    if len(needs) != len(ids):
        raise NotFound()
    if any(n.community_id != community_id for n in needs):
        raise _bad("need_ids", _("只能对应本社区的需求"), "other_community")
    return title, description, _category(data.category_code), places, needs


@transaction.atomic
def publish_service(*, actor: Actor, data: ServiceInput) -> ServiceItem:
    """The community publishes a service item for members, teams and paired units to claim."""
    community = _community_to_manage(actor, data.community_id)
    title, description, category, places, needs = _checked(data, actor, community.pk)
    item = ServiceItem.objects.create(
        community=community,
        title=title,
        description=description,
        category=category,
        places=places,
        created_by_id=actor.user_id,
    )
    item.needs.set(needs)
    audit(actor=actor, action="service.publish", target=item, places=places, needs=[n.pk for n in needs])
    return item


def _item_to_manage(actor: Actor, item_id: int) -> ServiceItem:
    qs = restrict(ServiceItem.objects.all(), actor, Perm.MANAGE_DEMANDS).select_for_update(of=("self",))
    item = qs.select_related("community").filter(pk=item_id).first()
    if item is None:
        if visible_items(actor).filter(pk=item_id).exists():
            raise Forbidden(str(REFUSED_ITEMS))
        raise NotFound()
    return item


def _active_claims(item: ServiceItem):
    return ServiceClaim.objects.filter(item=item, withdrawn_at=None)


def _require_open(item: ServiceItem) -> None:
    if item.status not in OPEN_ITEM:
        raise Conflict(_("该服务项目{s}，不能再变动").format(s=item.get_status_display()), code="item_closed")


@transaction.atomic
def update_service(*, actor: Actor, item_id: int, data: ServiceInput) -> ServiceItem:
    """Changes an open item: its text, category, linked needs and places (never below its claims)."""
    item = _item_to_manage(actor, item_id)
    _require_open(item)
    title, description, category, places, needs = _checked(data, actor, item.community_id)
    taken = _active_claims(item).count()
    if places < taken:
        message = _("已有{n}个认领，可认领数不能少于{n}").format(n=taken)
        raise _bad("places", message, "below_claims")
    item.title, item.description, item.category, item.places = title, description, category, places
    item.status = ServiceItemStatus.CLAIMED if taken >= places else ServiceItemStatus.PUBLISHED
    item.save(update_fields=["title", "description", "category", "places", "status"])
    item.needs.set(needs)
    audit(actor=actor, action="service.update", target=item, places=places)
    return item


def _needs_follow(item: ServiceItem, status: str) -> None:
    """Needs linked to an item follow it: serving once it is claimed, met once every item meeting
    them is done (an item still open keeps them in service)."""
    needs = Need.objects.filter(service_items=item)
    if status == NeedStatus.SERVING:
        needs.filter(status=NeedStatus.OPEN).update(status=NeedStatus.SERVING)
        return
    still_open = ServiceItem.objects.filter(needs=OuterRef("pk"), status__in=OPEN_ITEM).exclude(pk=item.pk)
    needs.exclude(status=NeedStatus.MET).exclude(Exists(still_open)).update(status=NeedStatus.MET)


def _tell_claimants(item: ServiceItem, text: str) -> None:
    claims = _active_claims(item).select_related("member", "team", "work_unit")
    user_ids = {c.claimed_by_id for c in claims} | {c.member.user_id for c in claims if c.member}
    for user_id in sorted(u for u in user_ids if u):
        notify(user_id=user_id, text=text, url=reverse("demands:lists_my_services"))


@transaction.atomic
def finish_service(*, actor: Actor, item_id: int) -> ServiceItem:
    """Marks a claimed item done (服务完成); its needs are met unless another item still serves them."""
    item = _item_to_manage(actor, item_id)
    _require_open(item)
    if not _active_claims(item).exists():
        raise Conflict(_("还没有人认领这个服务项目，不能标记完成"), code="not_claimed")
    item.status = ServiceItemStatus.DONE
    item.save(update_fields=["status"])
    _needs_follow(item, NeedStatus.MET)
    _tell_claimants(item, _("您认领的服务“{t}”已由社区标记完成，谢谢您！").format(t=item.title))
    audit(actor=actor, action="service.done", target=item)
    return item


@transaction.atomic
def take_down_service(*, actor: Actor, item_id: int, reason: str = "") -> ServiceItem:
    """Takes an open item off the list (no longer needed); its active claims end with it."""
    reason = _text(reason, "reason", limit=MAX_NOTE)
    item = _item_to_manage(actor, item_id)
    _require_open(item)
    _tell_claimants(item, _("服务项目“{t}”已撤下，您的认领随之结束。").format(t=item.title))
    ended = _active_claims(item).update(withdrawn_at=timezone.now())
    item.status = ServiceItemStatus.WITHDRAWN
    item.save(update_fields=["status"])
    audit(actor=actor, action="service.take_down", target=item, reason=reason, claims_ended=ended)
    return item


# --- claims (认领) ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimant:
    kind: str
    member_id: int | None = None
    team_id: int | None = None
    work_unit_id: int | None = None
    label: str = ""


def _leads(actor: Actor, team_id: int) -> bool:
    return bool(actor.member_id) and (
        TeamMembership.objects.filter(
            team_id=team_id, member_id=actor.member_id, is_leader=True, ended_at=None
        ).exists()
    )


def _claimant(actor: Actor, item: ServiceItem, kind: str, team_id, work_unit_id) -> Claimant:
    if kind == ClaimantKind.MEMBER:
        member = Member.objects.filter(pk=actor.member_id or -1, community_id=item.community_id).first()
        if member is None:
            raise Forbidden(_("只有在本社区报到的党员可以个人认领"))
        return Claimant(kind, member_id=member.pk, label=member.name)
    if kind == ClaimantKind.TEAM:
        if team_id is None and actor.member_id:  # a leader claiming for the team they lead there
            team_id = (
                TeamMembership.objects.filter(
                    member_id=actor.member_id,
                    is_leader=True,
                    ended_at=None,
                    team__community=item.community_id,
                )
                .values_list("team_id", flat=True)
                .first()
            )
        team = Team.objects.filter(pk=team_id or -1, ended_at=None).first()
        if team is None or team.community_id != item.community_id:
            raise _bad("team_id", _("请选择本社区在岗的包干小组"), "bad_team")
        if not (_leads(actor, team.pk) or actor.covers(Perm.MANAGE_DEMANDS, item.community.path)):
            raise Forbidden(_("只有小组组长或社区工作人员可以为小组认领"))
        return Claimant(kind, team_id=team.pk, label=team.name)
    if kind == ClaimantKind.WORK_UNIT:
        units = actor.work_units(Perm.VIEW)
        if work_unit_id is None and len(units) == 1:
            work_unit_id = units[0]
        if work_unit_id not in actor.work_units(Perm.VIEW):
            raise Forbidden(_("只有单位党组织可以为本单位认领"))
        from huijia.volunteering.pairing_selectors import is_paired

        if not is_paired(work_unit_id=work_unit_id, community_id=item.community_id):
            raise Forbidden(_("本单位没有与该社区结对，只有结对单位可以认领社区的服务"))
        from huijia.orgs.models import WorkUnit

        name = WorkUnit.objects.filter(pk=work_unit_id).values_list("name", flat=True).first() or ""
        return Claimant(kind, work_unit_id=work_unit_id, label=name)
    raise _bad("kind", _("认领方式不正确"), "bad_kind")


def _item_to_claim(actor: Actor, item_id: int) -> ServiceItem:
    """The item, its row locked until the end of the transaction: claims on it queue up here."""
    visible = visible_items(actor).filter(pk=item_id)
    if not visible.exists():
        raise NotFound()
    return ServiceItem.objects.select_for_update().get(pk=item_id)


@transaction.atomic
def claim_service(
    *,
    actor: Actor,
    item_id: int,
    kind: str = ClaimantKind.MEMBER,
    team_id: int | None = None,
    work_unit_id: int | None = None,
    note: str = "",
) -> ServiceClaim:
    """A member, a team or a work unit takes on one of an item's places (认领)."""
    note = _text(note, "note", limit=MAX_NOTE)
    item = _item_to_claim(actor, item_id)
    item.community = Area.objects.only("id", "path", "name").get(pk=item.community_id)
    claimant = _claimant(actor, item, kind, team_id, work_unit_id)
    _require_open(item)
    active = _active_claims(item)
    mine = {
        "member_id": claimant.member_id,
        "team_id": claimant.team_id,
        "work_unit_id": claimant.work_unit_id,
    }
    if active.filter(kind=kind, **mine).exists():
        raise Conflict(_("已经认领过这个服务项目了"), code="already_claimed")
    taken = active.count()
    if taken >= item.places:
        raise Conflict(_("这个服务项目的名额已经认领满了"), code="full")
    try:
        with transaction.atomic():
            claim = ServiceClaim.objects.create(
                item=item, kind=kind, note=note, claimed_by_id=actor.user_id, **mine
            )
    except IntegrityError:
        raise Conflict(_("已经认领过这个服务项目了"), code="already_claimed") from None
    if taken + 1 >= item.places:
        item.status = ServiceItemStatus.CLAIMED
        item.save(update_fields=["status"])
    _needs_follow(item, NeedStatus.SERVING)
    audit(actor=actor, action="service.claim", target=claim, item=item.pk, kind=kind)
    text = _("“{who}”认领了服务项目“{t}”。").format(who=claimant.label, t=item.title)
    notify(user_id=item.created_by_id, text=text, url=reverse("demands:lists_service", args=[item.pk]))
    return claim


def _may_withdraw(actor: Actor, claim: ServiceClaim, item: ServiceItem) -> bool:
    if actor.covers(Perm.MANAGE_DEMANDS, item.community.path):
        return True
    if claim.kind == ClaimantKind.MEMBER:
        return claim.member_id == actor.member_id
    if claim.kind == ClaimantKind.TEAM:
        return _leads(actor, claim.team_id)
    return claim.work_unit_id in actor.work_units(Perm.VIEW)


@transaction.atomic
def withdraw_claim(*, actor: Actor, claim_id: int) -> ServiceClaim:
    """The claimant (or community staff) gives a place back; the item is open to claims again."""
    found = ServiceClaim.objects.filter(pk=claim_id).values_list("item_id", flat=True).first()
    if found is None:
        raise NotFound()
    item = _item_to_claim(actor, found)
    item.community = Area.objects.only("id", "path", "name").get(pk=item.community_id)
    claim = ServiceClaim.objects.get(pk=claim_id)
    if not _may_withdraw(actor, claim, item):
        raise NotFound()
    if claim.withdrawn_at is not None:
        raise Conflict(_("这个认领已经撤回了"), code="already_withdrawn")
    _require_open(item)
    claim.withdrawn_at = timezone.now()
    claim.save(update_fields=["withdrawn_at"])
    if item.status == ServiceItemStatus.CLAIMED:
        item.status = ServiceItemStatus.PUBLISHED
        item.save(update_fields=["status"])
    audit(actor=actor, action="service.withdraw_claim", target=claim, item=item.pk)
    return claim


# --- the resource list as Excel -------------------------------------------------------------------------

EXPORT_HEADER = ("姓名", "小区", "楼栋", "专长", "可提供的资源", "空闲时间", "少安排任务")


@transaction.atomic
def export_resources(*, actor: Actor, community: Area, dest, skill_id=None, free_time=None) -> int:
    """Writes the resource list of a community (as the actor may export it) to an .xlsx; audited.
    No phone or ID number is in it."""
    if not (actor.is_superuser or actor.paths(Perm.EXPORT) or actor.work_units(Perm.EXPORT)):
        raise Forbidden(_("您没有导出名单的权限"))
    resources = resource_list(
        actor=actor, community=community, skill_id=skill_id, free_time=free_time, perm=Perm.EXPORT
    )
    labels = dict(FreeTime.choices)
    rows = (
        (
            m.name,
            m.estate,
            m.building,
            "、".join(m.skills),
            m.resources,
            "、".join(labels.get(t, t) for t in m.free_time),
            "是" if m.light_duty else "",
        )
        for m in resources.members
    )
    count = write_xlsx(
        dest, title=_("资源清单"), header=EXPORT_HEADER, rows=rows, widths=(10, 18, 8, 24, 30, 24, 10)
    )
    audit(actor=actor, action="lists.resources.export", target=community, rows=count)
    return count

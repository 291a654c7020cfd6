"""JSON API of the three lists (三单管理, F6): the resource list, needs with the members proposed to serve
them, service items and their claims. Mounted by huijia/api.py; the same services and selectors as
the screens. No phone or ID number appears here."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors
from huijia.demands import list_selectors as lists
from huijia.demands import list_services as services
from huijia.demands.matching import NEARNESS, Suggestion
from huijia.demands.models import ClaimantKind, Need, NeedKind, NeedStatus, ServiceClaim, ServiceItem
from huijia.demands.models import ServiceItemStatus as ItemStatus
from huijia.members.models import FreeTime

router = Router(tags=["三单管理"])


# --- Schemas -------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class ListCategoryOut(Schema):
    code: str
    name: str


class MemberOut(Schema):
    id: int
    name: str
    place: str = Field(description="estate and building, e.g. 幸福小区 3栋")
    skills: list[str]
    resources: str
    free_time: list[str] = Field(description="free-time codes: weekday_evening, weekend, holiday, flexible")
    light_duty: bool = Field(description="asked for fewer duties")


class SkillGroupOut(Schema):
    skill_id: int
    name: str
    category: str
    count: int
    members: list[MemberOut]


class OptionOut(Schema):
    id: int
    name: str
    count: int


class FreeTimeOut(Schema):
    code: str
    label: str
    count: int


class ResourcesOut(Schema):
    community: Ref
    total: int = Field(description="reporting members the caller sees in the community, before filters")
    members: list[MemberOut] = Field(description="members matching the filters")
    groups: list[SkillGroupOut] = Field(description="matching members by skill, most members first")
    without_skills: int
    skills: list[OptionOut] = Field(description="the skill filter's options, before filters")
    free_time: list[FreeTimeOut] = Field(description="members free at each time, before filters")


class ResourceQuery(Schema):
    community_id: int
    skill_id: int | None = Field(None, description="only members with this skill")
    free_time: FreeTime | None = Field(None, description="only members free at this time")


class PlaceOut(Schema):
    id: int
    name: str
    kind: str


class ListHouseholdOut(Schema):
    id: int
    label: str = Field(description="building, unit and room, e.g. 3栋 1单元101室")


class NeedOut(Schema):
    id: int
    title: str
    description: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    community: Ref
    area: PlaceOut
    household: ListHouseholdOut | None
    category: ListCategoryOut | None
    demand_count: int = Field(description="demands filed under the need")
    item_count: int = Field(description="service items meeting the need")
    created_at: datetime


def _need(n: Need) -> dict:
    household = n.household
    return {
        "id": n.pk,
        "title": n.title,
        "description": n.description,
        "kind": n.kind,
        "kind_label": n.get_kind_display(),
        "status": n.status,
        "status_label": n.get_status_display(),
        "community": n.community,
        "area": n.area,
        "household": {"id": household.pk, "label": f"{household.building.name} {household.label}"}
        if household
        else None,
        "category": n.category,
        "demand_count": n.demand_count,
        "item_count": n.item_count,
        "created_at": n.created_at,
    }


class NeedPage(Schema):
    items: list[NeedOut]
    count: int
    limit: int
    offset: int


class NeedQuery(PageQuery):
    community_id: int | None = Field(None, description="one community; omitted: everything in scope")
    status: NeedStatus | None = None


class NeedIn(Schema):
    title: str = Field("", max_length=100, description="may be empty when gathered from demands")
    description: str = Field("", max_length=2000)
    category: str = Field("", description="a category code; empty: the demands' common category")
    kind: NeedKind | None = Field(None, description="omitted: individual for one household, else common")
    area_id: int | None = Field(None, description="a community, estate or building (by hand)")
    household_id: int | None = Field(None, description="one household (an individual need, by hand)")
    demand_ids: list[int] = Field([], max_length=200, description="gather these demands into the need")


class StatusIn(Schema):
    status: NeedStatus


class DemandIdsIn(Schema):
    demand_ids: list[int] = Field(max_length=200)


class DemandIdIn(Schema):
    demand_id: int


class MatchOut(Schema):
    member_id: int
    name: str
    place: str
    skills: list[str] = Field(description="the member's skills matching the category")
    nearness: int = Field(description="0 same building, 1 same estate, 2 same community")
    nearness_label: str
    load: int = Field(description="open demands assigned to them + active claims")
    light_duty: bool
    free_time: list[str] = Field(description="free-time labels")
    reason: str = Field(description="why proposed, e.g. 专长：水电维修 · 同小区 · 当前2项任务")


def _match(s: Suggestion) -> dict:
    return {
        "member_id": s.member_id,
        "name": s.name,
        "place": s.place,
        "skills": list(s.skills),
        "nearness": s.nearness,
        "nearness_label": str(NEARNESS[s.nearness]),
        "load": s.load,
        "light_duty": s.light_duty,
        "free_time": list(s.free_time),
        "reason": s.reason,
    }


class MatchesOut(Schema):
    need: NeedOut
    items: list[MatchOut] = Field(description="best first")


class ClaimOut(Schema):
    id: int
    item_id: int
    kind: str = Field(description="member, team or work_unit")
    kind_label: str
    claimant: Ref = Field(description="the member, team or work unit")
    note: str
    claimed_at: datetime
    withdrawn_at: datetime | None


def _claim(c: ServiceClaim) -> dict:
    who = c.member or c.team or c.work_unit
    return {
        "id": c.pk,
        "item_id": c.item_id,
        "kind": c.kind,
        "kind_label": c.get_kind_display(),
        "claimant": {"id": who.pk, "name": who.name},
        "note": c.note,
        "claimed_at": c.claimed_at,
        "withdrawn_at": c.withdrawn_at,
    }


class NeedRef(Schema):
    id: int
    title: str


class ItemOut(Schema):
    id: int
    title: str
    description: str
    community: Ref
    category: ListCategoryOut | None
    places: int
    taken: int = Field(description="active claims")
    status: str
    status_label: str
    needs: list[NeedRef]
    claims: list[ClaimOut] = Field(description="active claims")
    created_at: datetime


def _item(i: ServiceItem) -> dict:
    return {
        "id": i.pk,
        "title": i.title,
        "description": i.description,
        "community": i.community,
        "category": i.category,
        "places": i.places,
        "taken": i.taken,
        "status": i.status,
        "status_label": i.get_status_display(),
        "needs": i.need_rows,
        "claims": [_claim(c) for c in i.active_claims],
        "created_at": i.created_at,
    }


class ItemPage(Schema):
    items: list[ItemOut]
    count: int
    limit: int
    offset: int


class ItemQuery(PageQuery):
    community_id: int | None = Field(None, description="one community; omitted: everything in scope")
    status: ItemStatus | None = None


class ItemIn(Schema):
    community_id: int
    title: str = Field(max_length=100)
    description: str = Field("", max_length=2000)
    category: str = Field("", description="a category code, may be empty")
    places: int = Field(1, description="how many may claim it (1-200)")
    need_ids: list[int] = Field([], max_length=50, description="needs of the community it meets")


class ClaimIn(Schema):
    kind: ClaimantKind = Field(
        ClaimantKind.MEMBER,
        description="member: the caller themself; team: a team they lead (or any, for staff); "
        "work_unit: the organiser's unit",
    )
    team_id: int | None = Field(None, description="for kind=team; default the team the caller leads")
    work_unit_id: int | None = Field(None, description="for kind=work_unit; default the caller's unit")
    note: str = Field("", max_length=200)


class ReasonIn(Schema):
    reason: str = Field("", max_length=200)


# --- Endpoints -----------------------------------------------------------------------------------


@router.get("/lists/resources", response={200: ResourcesOut, **errors(401, 404, 422)}, summary="资源清单")
def resources(request: HttpRequest, filters: Query[ResourceQuery]):
    """What the community's reporting members (as the caller sees them) offer: skills, resources and
    free time, grouped by skill."""
    who = actor(request)
    community = lists.list_community(actor=who, community_id=filters.community_id)
    data = lists.resource_list(
        actor=who,
        community=community,
        skill_id=filters.skill_id,
        free_time=filters.free_time.value if filters.free_time else None,
    )

    def member(m) -> dict:
        return {**m.__dict__, "place": m.place}

    return {
        "community": community,
        "total": data.total,
        "members": [member(m) for m in data.members],
        "groups": [
            {**g.__dict__, "count": g.count, "members": [member(m) for m in g.members]} for g in data.groups
        ],
        "without_skills": len(data.no_skill),
        "skills": [{"id": i, "name": n, "count": c} for i, n, c in data.skill_options],
        "free_time": [{"code": c, "label": lb, "count": n} for c, lb, n in data.free_time_counts],
    }


@router.get("/lists/needs", response={200: NeedPage, **errors(401, 422)}, summary="需求清单")
def list_needs(request: HttpRequest, filters: Query[NeedQuery]):
    """Needs the caller may see, newest first, with their counts of demands and service items."""
    qs = lists.needs_for(
        actor=actor(request),
        community_id=filters.community_id,
        status=filters.status.value if filters.status else None,
    )
    rows = qs[filters.offset : filters.offset + filters.limit]
    return {
        "items": [_need(n) for n in rows],
        "count": qs.count(),
        "limit": filters.limit,
        "offset": filters.offset,
    }


def _one_need(request: HttpRequest, need_id: int) -> dict:
    return _need(lists.need_for(actor=actor(request), need_id=need_id))


@router.post("/lists/needs", response={201: NeedOut, **errors(400, 401, 403, 404, 422)}, summary="新增需求")
def create_need(request: HttpRequest, payload: NeedIn):
    """A need gathered from demands (`demand_ids`) or typed by hand for a place or a household."""
    need = services.create_need(
        actor=actor(request),
        data=services.NeedInput(
            title=payload.title,
            description=payload.description,
            category_code=payload.category,
            kind=payload.kind.value if payload.kind else "",
            area_id=payload.area_id,
            household_id=payload.household_id,
            demand_ids=tuple(payload.demand_ids),
        ),
    )
    return Status(201, _one_need(request, need.pk))


@router.post(
    "/lists/needs/{need_id}/status",
    response={200: NeedOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="更新需求状态",
)
def need_status(request: HttpRequest, need_id: int, payload: StatusIn):
    """open (待服务), serving (服务中) or met (已满足); 409 when it already has that status."""
    services.set_need_status(actor=actor(request), need_id=need_id, status=payload.status.value)
    return _one_need(request, need_id)


@router.post(
    "/lists/needs/{need_id}/link",
    response={200: NeedOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="归入诉求",
)
def link_demands(request: HttpRequest, need_id: int, payload: DemandIdsIn):
    """Files more demands of the same community under the need (409 if all are there already)."""
    services.link_demands(actor=actor(request), need_id=need_id, demand_ids=payload.demand_ids)
    return _one_need(request, need_id)


@router.post(
    "/lists/needs/{need_id}/unlink",
    response={200: NeedOut, **errors(400, 401, 403, 404, 422)},
    summary="移出诉求",
)
def unlink_demand(request: HttpRequest, need_id: int, payload: DemandIdIn):
    """Takes a demand out of the need; the demand itself is untouched."""
    services.unlink_demand(actor=actor(request), need_id=need_id, demand_id=payload.demand_id)
    return _one_need(request, need_id)


@router.get(
    "/lists/needs/{need_id}/matches",
    response={200: MatchesOut, **errors(401, 404, 422)},
    summary="建议服务人选",
)
def need_matches(request: HttpRequest, need_id: int, limit: int = Query(10, ge=1, le=50)):
    """Members of the community proposed to serve the need: skills that match its category, living
    nearby, not overloaded; each with the reason."""
    need, found = lists.need_matches(actor=actor(request), need_id=need_id, limit=limit)
    return {"need": _need(need), "items": [_match(s) for s in found]}


@router.get("/lists/services", response={200: ItemPage, **errors(401, 422)}, summary="服务清单")
def list_services(request: HttpRequest, filters: Query[ItemQuery]):
    """Service items the caller sees (a member: their community's; a work unit: those of communities
    where its members report), newest first, with their active claims."""
    qs = lists.services_for(
        actor=actor(request),
        community_id=filters.community_id,
        status=filters.status.value if filters.status else None,
    )
    rows = qs[filters.offset : filters.offset + filters.limit]
    return {
        "items": [_item(i) for i in rows],
        "count": qs.count(),
        "limit": filters.limit,
        "offset": filters.offset,
    }


def _one_item(request: HttpRequest, item_id: int) -> dict:
    return _item(lists.service_for(actor=actor(request), item_id=item_id))


@router.post(
    "/lists/services", response={201: ItemOut, **errors(400, 401, 403, 404, 422)}, summary="发布服务项目"
)
def publish_service(request: HttpRequest, payload: ItemIn):
    """The community publishes a service item, optionally meeting some of its needs."""
    item = services.publish_service(
        actor=actor(request),
        data=services.ServiceInput(
            community_id=payload.community_id,
            title=payload.title,
            description=payload.description,
            category_code=payload.category,
            places=payload.places,
            need_ids=tuple(payload.need_ids),
        ),
    )
    return Status(201, _one_item(request, item.pk))


@router.post(
    "/lists/services/{item_id}/claim",
    response={201: ClaimOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="认领服务项目",
)
def claim_service(request: HttpRequest, item_id: int, payload: ClaimIn):
    """Takes one of the item's places: 409 when the places are all taken, the claimant has claimed it
    already, or the item is done or taken down."""
    claim = services.claim_service(
        actor=actor(request),
        item_id=item_id,
        kind=payload.kind.value,
        team_id=payload.team_id,
        work_unit_id=payload.work_unit_id,
        note=payload.note,
    )
    return Status(201, _claim(lists.claim_for(actor=actor(request), claim_id=claim.pk)))


@router.post(
    "/lists/claims/{claim_id}/withdraw",
    response={200: ClaimOut, **errors(401, 403, 404, 409, 422)},
    summary="撤回认领",
)
def withdraw_claim(request: HttpRequest, claim_id: int):
    """The claimant (or community staff) gives the place back (409 if already withdrawn)."""
    services.withdraw_claim(actor=actor(request), claim_id=claim_id)
    return _claim(lists.claim_for(actor=actor(request), claim_id=claim_id))


@router.post(
    "/lists/services/{item_id}/done",
    response={200: ItemOut, **errors(401, 403, 404, 409, 422)},
    summary="服务完成",
)
def finish_service(request: HttpRequest, item_id: int):
    """Marks a claimed item done; the needs it meets become met unless another open item serves them."""
    services.finish_service(actor=actor(request), item_id=item_id)
    return _one_item(request, item_id)


@router.post(
    "/lists/services/{item_id}/take-down",
    response={200: ItemOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="撤下服务项目",
)
def take_down_service(request: HttpRequest, item_id: int, payload: ReasonIn):
    """Takes an open item off the list; its active claims end with it."""
    services.take_down_service(actor=actor(request), item_id=item_id, reason=payload.reason)
    return _one_item(request, item_id)

"""JSON API of teams and zones (包干到户, F4): a member's households, and the staff's plans (propose,
read, adjust, commit), teams in force and ended, and appointments of building heads and estate
branch secretaries. Mounted on the members router.

Adjusting and committing a plan carry the plan's `version` as last read: a plan changed or committed
by someone else in between answers 409 and is not touched.
"""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors, page_of
from huijia.grid.models import Area, AreaKind
from huijia.members import team_selectors as selectors
from huijia.members import team_services as services
from huijia.members.models import Team, TeamPlan

router = Router(tags=["小组与包干"])


# --- Schemas --------------------------------------------------------------------------------------


class Ref(Schema):
    id: int
    name: str


class MyTeamBrief(Schema):
    id: int
    name: str
    zone_label: str = Field(description='e.g. "3栋 24–27层"')


class MyHouseholdOut(Schema):
    id: int
    label: str = Field(description="unit and room, e.g. 1单元101室")
    floor: int
    building: Ref
    estate: Ref | None
    reasons: list[Literal["zone", "link", "care"]] = Field(
        description="why the member holds it: their team's zone, a neighbour link (党员联户), a care pairing"
    )
    last_visited_on: date | None = Field(description="date of the latest visit, null if never visited")

    @staticmethod
    def resolve_building(obj) -> dict:
        return {"id": obj.building_id, "name": obj.building}

    @staticmethod
    def resolve_estate(obj) -> dict | None:
        return {"id": obj.estate_id, "name": obj.estate} if obj.estate_id else None


class MyHouseholdsOut(Schema):
    team: MyTeamBrief | None = Field(description="the member's team in force, null if none")
    items: list[MyHouseholdOut]
    count: int


class ProposeIn(Schema):
    community_id: int
    estate_id: int | None = Field(None, description="propose for one estate only; null: the whole community")
    team_size: int = Field(3, ge=1, le=10, description="members per team (a leftover of 1-2 joins teams)")


class PlanTeamOut(Schema):
    key: int = Field(description="the team's key inside the plan (for adjustments)")
    name: str
    label: str = Field(description='floor ranges, e.g. "3栋 24–27层"')
    estate_id: int | None
    building_id: int | None
    leader_id: int | None
    member_ids: list[int]
    household_ids: list[int]


class LinkOut(Schema):
    member_id: int
    household_ids: list[int]


class BuildingHeadOut(Schema):
    building_id: int
    member_id: int


class PlanOut(Schema):
    id: int
    community: Ref
    estate: Ref | None
    team_size: int
    version: int = Field(description="send it back with an adjustment or the commit")
    created_at: datetime
    committed_at: datetime | None
    teams: list[PlanTeamOut]
    links: list[LinkOut] = Field(description="neighbour links proposed (党员联户)")
    building_heads: list[BuildingHeadOut] = Field(description="suggested building heads (楼栋长)")
    uncovered: list[int] = Field(description="households no team holds (only when nobody lives there)")
    notes: list[str]

    @staticmethod
    def resolve_version(obj: TeamPlan) -> int:
        return obj.data["version"]

    @staticmethod
    def resolve_teams(obj: TeamPlan) -> list:
        return obj.data["teams"]

    @staticmethod
    def resolve_links(obj: TeamPlan) -> list:
        return [{"member_id": int(m), "household_ids": hs} for m, hs in obj.data.get("links", {}).items()]

    @staticmethod
    def resolve_building_heads(obj: TeamPlan) -> list:
        heads = obj.data.get("building_heads", {})
        return [{"building_id": int(b), "member_id": m} for b, m in heads.items()]

    @staticmethod
    def resolve_uncovered(obj: TeamPlan) -> list:
        return obj.data.get("uncovered", [])

    @staticmethod
    def resolve_notes(obj: TeamPlan) -> list:
        return obj.data.get("notes", [])


class PlanBriefOut(Schema):
    id: int
    estate: Ref | None
    team_size: int
    created_at: datetime
    committed_at: datetime | None


class PlanList(Schema):
    items: list[PlanBriefOut]


class AdjustIn(Schema):
    version: int = Field(description="the plan's version as last read")
    kind: Literal["move_member", "move_households", "set_leader"]
    to_team: int | Literal["new"] = Field(description='a team key of the plan, or "new" (moves only)')
    member_id: int | None = Field(None, description="move_member, set_leader")
    household_ids: list[int] = Field(default_factory=list, max_length=5000, description="move_households")


class CommitIn(Schema):
    version: int = Field(description="the plan's version as last read")


class TeamMemberOut(Schema):
    id: int
    name: str
    is_leader: bool


class TeamOut(Schema):
    id: int
    name: str
    zone_label: str
    community_id: int
    estate: Ref | None
    building: Ref | None
    households: int = Field(description="households held (for an ended team: held when it ended)")
    members: list[TeamMemberOut]
    created_at: datetime
    ended_at: datetime | None

    @staticmethod
    def resolve_members(obj: Team) -> list[dict]:
        return [{"id": m.member.pk, "name": m.member.name, "is_leader": m.is_leader} for m in obj.crew]


class TeamPage(Schema):
    items: list[TeamOut]
    count: int
    limit: int
    offset: int


class TeamFilter(PageQuery):
    community_id: int | None = Field(None, description="only teams of this community")
    ended: bool = Field(False, description="true: ended teams (history), newest first")


class CommitOut(Schema):
    plan_id: int
    teams: list[TeamOut]


class AppointIn(Schema):
    role: Literal["building", "estate"] = Field(description="building: 楼栋长; estate: 小区党支部书记")
    area_id: int = Field(description="the building or estate")
    member_id: int = Field(description="a member living there")


class AppointOut(Schema):
    role: str
    area: Ref
    member: Ref


# --- a member's households ------------------------------------------------------------------------


@router.get(
    "/members/me/households",
    response={200: MyHouseholdsOut, **errors(401, 404)},
    summary="我的包干和联系住户",
)
def my_households(request: HttpRequest, response: HttpResponse):
    """The households the signed-in member may visit: their team's zone, their neighbour links and their
    care pairings, with the date of each household's latest visit. 404 for an account with no member."""
    response["Cache-Control"] = "private, no-store"
    mine = selectors.my_team(actor=actor(request))
    return {"team": mine.team, "items": mine.households, "count": len(mine.households)}


# --- plans ----------------------------------------------------------------------------------------


@router.post(
    "/teams/plans",
    response={201: PlanOut, **errors(400, 401, 403, 404, 422)},
    summary="生成编组包干方案",
)
def propose(request: HttpRequest, payload: ProposeIn):
    """Proposes teams and zones for a community or one of its estates (community staff). The plan is
    stored, to be adjusted and committed; nothing is in force until it is committed."""
    plan = services.propose_teams(
        actor=actor(request),
        community_id=payload.community_id,
        estate_id=payload.estate_id,
        team_size=payload.team_size,
    )
    return Status(201, plan)


@router.get(
    "/teams/plans",
    response={200: PlanList, **errors(401, 422)},
    summary="编组方案列表",
)
def list_plans(request: HttpRequest, community_id: int):
    """The latest plans of a community (newest first, at most 10)."""
    who = actor(request)
    community = Area.objects.filter(pk=community_id, kind=AreaKind.COMMUNITY).first()
    if community is None:
        return {"items": []}
    return {"items": selectors.plans_for(actor=who, community=community)}


@router.get(
    "/teams/plans/{plan_id}",
    response={200: PlanOut, **errors(401, 404, 422)},
    summary="编组方案详情",
)
def get_plan(request: HttpRequest, plan_id: int):
    """One plan with its teams, members, households, links and notes."""
    return selectors.plan_for(actor=actor(request), plan_id=plan_id)


@router.post(
    "/teams/plans/{plan_id}/adjust",
    response={200: PlanOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="调整编组方案",
)
def adjust(request: HttpRequest, plan_id: int, payload: AdjustIn):
    """Moves a member or households to another team (or a new one), or sets a team's leader. 409 when
    the plan was changed or committed since `version`."""
    change = services.PlanChange(
        kind=payload.kind,
        to_team=payload.to_team,
        member_id=payload.member_id,
        household_ids=payload.household_ids,
    )
    return services.adjust_plan(actor=actor(request), plan_id=plan_id, version=payload.version, change=change)


@router.post(
    "/teams/plans/{plan_id}/commit",
    response={200: CommitOut, **errors(400, 401, 403, 404, 409, 422)},
    summary="确认编组方案",
)
def commit(request: HttpRequest, plan_id: int, payload: CommitIn):
    """Puts the plan in force: previous teams, zones and links of its scope end (kept as history); the
    plan's start; every member is told their team and zone."""
    who = actor(request)
    teams = services.commit_plan(actor=who, plan_id=plan_id, version=payload.version)
    shown = selectors.teams_for(actor=who, active=True).filter(pk__in=[t.pk for t in teams])
    return {"plan_id": plan_id, "teams": list(shown)}


# --- teams and appointments -----------------------------------------------------------------------


@router.get(
    "/teams",
    response={200: TeamPage, **errors(401, 422)},
    summary="小组列表（在岗或历史）",
)
def list_teams(request: HttpRequest, filters: Query[TeamFilter]):
    """Teams the caller may see (staff: their area; a member: their own team), in force or ended."""
    qs = selectors.teams_for(
        actor=actor(request), community_id=filters.community_id, active=not filters.ended
    )
    return page_of(qs, filters)


@router.post(
    "/teams/appointments",
    response={201: AppointOut, **errors(400, 401, 403, 404, 422)},
    summary="任命楼栋长或小区党支部书记",
)
def appoint(request: HttpRequest, payload: AppointIn):
    """Grants a member living there the role of building head on a building, or of branch secretary on
    an estate (community staff)."""
    grant = services.appoint(
        actor=actor(request), role=payload.role, area_id=payload.area_id, member_id=payload.member_id
    )
    member = grant.user.member
    return Status(
        201,
        {"role": grant.role, "area": grant.area, "member": {"id": member.pk, "name": member.name}},
    )

"""JSON API of volunteering: service teams (服务队), mounted under /api/v1/ by huijia/api.py.

GET /volunteer/teams (the caller's scope; ?community_id=, ?ended=), GET /volunteer/teams/mine, POST
/volunteer/teams, GET and PUT /volunteer/teams/{id}, POST /volunteer/teams/{id}/dissolve, POST
/volunteer/teams/{id}/members, DELETE /volunteer/teams/{id}/members/{member_id}, PUT
/volunteer/teams/{id}/members/{member_id}/leader. Writes go through huijia.volunteering.teams (the
same services as the console), reads through huijia.volunteering.team_selectors.
"""

from datetime import datetime
from decimal import Decimal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from huijia.api import PageQuery, actor, errors
from huijia.volunteering import team_selectors as selectors
from huijia.volunteering import teams as services
from huijia.volunteering.models import ServiceTeam

router = Router(tags=["志愿服务"])

WRITE_ERRORS = errors(400, 401, 403, 404, 409, 422)


class Ref(Schema):
    id: int
    name: str


class ServiceTeamMemberOut(Schema):
    member_id: int
    name: str
    is_leader: bool
    work_unit: str = Field(description="the member's work unit, empty when none")
    joined_at: datetime


class ServiceTeamOut(Schema):
    id: int
    community: Ref
    name: str
    description: str
    service_areas: list[str]
    member_count: int
    leaders: list[str] = Field(description="names of the team's leaders (队长)")
    created_at: datetime
    ended_at: datetime | None


class YearOut(Schema):
    year: int
    activities: int = Field(description="activities held (cancelled ones do not count)")
    services: int = Field(description="service records with hours in the team's activities")
    volunteers: int = Field(description="members who served")
    hours: Decimal
    people_served: int


class ServiceTeamDetailOut(ServiceTeamOut):
    members: list[ServiceTeamMemberOut]
    record: list[YearOut] = Field(description="per year, the latest first")
    open_demands: int = Field(description="demands assigned to the team and still open")


class ServiceTeamPage(Schema):
    items: list[ServiceTeamOut]
    count: int
    limit: int
    offset: int


class MyTeamOut(Schema):
    team: ServiceTeamOut
    is_leader: bool
    joined_at: datetime


class TeamQuery(PageQuery):
    community_id: int | None = Field(None, description="one community's teams")
    ended: bool = Field(False, description="dissolved teams instead of the current ones")
    q: str = Field("", max_length=20, description="name contains")


class TeamIn(Schema):
    name: str = Field(description="unique among the community's current teams, at most 64 characters")
    description: str = Field("", description="at most 1,000 characters")
    service_areas: list[str] = Field(
        default_factory=list, max_length=50, description="short labels (at most 12, each ≤ 16 characters)"
    )


class NewTeamIn(TeamIn):
    community_id: int


class MemberIn(Schema):
    member_id: int = Field(description="a member reporting in the team's community")
    is_leader: bool = False


class LeaderIn(Schema):
    is_leader: bool


def _team(team: ServiceTeam, count: int | None = None) -> dict:
    crew = team.crew
    return {
        "id": team.pk,
        "community": {"id": team.community_id, "name": team.community.name},
        "name": team.name,
        "description": team.description,
        "service_areas": list(team.service_areas or []),
        "member_count": count if count is not None else getattr(team, "member_count", len(crew)),
        "leaders": [m.member.name for m in crew if m.is_leader],
        "created_at": team.created_at,
        "ended_at": team.ended_at,
    }


def _detail(request: HttpRequest, team_id: int) -> dict:
    team = selectors.team_for(actor=actor(request), team_id=team_id)
    members = [
        {
            "member_id": m.member_id,
            "name": m.member.name,
            "is_leader": m.is_leader,
            "work_unit": m.member.work_unit.name if m.member.work_unit else "",
            "joined_at": m.joined_at,
        }
        for m in team.crew
    ]
    return {
        **_team(team, len(team.crew)),
        "members": members,
        "record": [vars(r) for r in selectors.team_record(team=team)],
        "open_demands": selectors.open_demand_count(team=team),
    }


def _input(payload: TeamIn) -> services.TeamInput:
    return services.TeamInput(
        name=payload.name, description=payload.description, service_areas=tuple(payload.service_areas)
    )


@router.get("/volunteer/teams", response={200: ServiceTeamPage, **errors(401, 422)}, summary="服务队列表")
def list_teams(request: HttpRequest, filters: Query[TeamQuery]):
    """The service teams the caller may see (staff: their area; a member: their own teams), by
    community and name."""
    qs = selectors.teams_for(
        actor=actor(request), community_id=filters.community_id, active=not filters.ended, query=filters.q
    )
    rows = qs[filters.offset : filters.offset + filters.limit]
    return {
        "items": [_team(t) for t in rows],
        "count": qs.count(),
        "limit": filters.limit,
        "offset": filters.offset,
    }


@router.get("/volunteer/teams/mine", response={200: list[MyTeamOut], **errors(401)}, summary="我的服务队")
def my_teams(request: HttpRequest):
    """The teams the calling member is in now, with their role."""
    return [
        {"team": _team(r.team, r.member_count), "is_leader": r.is_leader, "joined_at": r.joined_at}
        for r in selectors.my_teams(actor=actor(request))
    ]


@router.post("/volunteer/teams", response={201: ServiceTeamDetailOut, **WRITE_ERRORS}, summary="新建服务队")
def create_team(request: HttpRequest, payload: NewTeamIn):
    """Community staff set up a team of their community (members are added afterwards)."""
    team = services.create_team(actor=actor(request), community_id=payload.community_id, data=_input(payload))
    return Status(201, _detail(request, team.pk))


@router.get(
    "/volunteer/teams/{team_id}",
    response={200: ServiceTeamDetailOut, **errors(401, 404, 422)},
    summary="服务队",
)
def get_team(request: HttpRequest, team_id: int):
    """One team: members (leaders first), service areas, its record per year, its open demands."""
    return _detail(request, team_id)


@router.put(
    "/volunteer/teams/{team_id}", response={200: ServiceTeamDetailOut, **WRITE_ERRORS}, summary="修改服务队"
)
def update_team(request: HttpRequest, team_id: int, payload: TeamIn):
    """Changes the name, description and service areas (all three are replaced)."""
    services.update_team(actor=actor(request), team_id=team_id, data=_input(payload))
    return _detail(request, team_id)


@router.post(
    "/volunteer/teams/{team_id}/dissolve",
    response={200: ServiceTeamDetailOut, **WRITE_ERRORS},
    summary="解散服务队",
)
def dissolve_team(request: HttpRequest, team_id: int):
    """Ends the team and its memberships; its record stays. 409 while it has open demands
    (`team_has_demands`) or activities that have not ended (`team_has_activities`)."""
    services.dissolve_team(actor=actor(request), team_id=team_id)
    return _detail(request, team_id)


@router.post(
    "/volunteer/teams/{team_id}/members",
    response={201: ServiceTeamDetailOut, **WRITE_ERRORS},
    summary="添加队员",
)
def add_member(request: HttpRequest, team_id: int, payload: MemberIn):
    """Adds a member reporting in the team's community (400 `member_elsewhere` otherwise, 400
    `already_member` when they are in the team); they are told."""
    services.add_team_member(
        actor=actor(request), team_id=team_id, member_id=payload.member_id, is_leader=payload.is_leader
    )
    return Status(201, _detail(request, team_id))


@router.delete(
    "/volunteer/teams/{team_id}/members/{member_id}",
    response={200: ServiceTeamDetailOut, **WRITE_ERRORS},
    summary="移出队员",
)
def remove_member(request: HttpRequest, team_id: int, member_id: int):
    """Ends the member's membership (kept as history)."""
    services.remove_team_member(actor=actor(request), team_id=team_id, member_id=member_id)
    return _detail(request, team_id)


@router.put(
    "/volunteer/teams/{team_id}/members/{member_id}/leader",
    response={200: ServiceTeamDetailOut, **WRITE_ERRORS},
    summary="设置或取消队长",
)
def set_leader(request: HttpRequest, team_id: int, member_id: int, payload: LeaderIn):
    """Appoints the member as a leader (队长: they may publish the team's activities), or dismisses them."""
    services.set_team_leader(
        actor=actor(request), team_id=team_id, member_id=member_id, is_leader=payload.is_leader
    )
    return _detail(request, team_id)

"""Writes of service teams (服务队, F8; S2: 194 teams, a team of teachers with nine service areas).

A service team is a standing team of volunteers of one community: a name, a short description, a few
service areas (short labels such as 义诊 or 课业辅导), its members and its leaders. Its leaders organise
its activities (Activity.service_team; Activity's scope gives them MANAGE_VOLUNTEERING on those), and
staff can send a resident's demand to the team (demands.services.assign_demand): its members then see
the demand in 派给我的诉求.

Who may do what: community staff (MANAGE_VOLUNTEERING over the community; the estate's branch
secretary's grant does not reach the community itself) create a team, change its name, description
and areas, add and remove members, appoint and dismiss leaders, and dissolve it. Everyone else is
refused: NotFound when the team is out of their sight, Forbidden when they may only look at it.

Who may join: members reporting in the team's community (an approved registration there). A team of
the community works where its members report in; staff of the community see exactly those members,
and a demand assigned to the team is handled by people the community can reach. A member who reports
elsewhere joins that community's teams instead.

Each write is one transaction: it locks the team row (`select_for_update`), so that two staff adding
members or dissolving at once see each other's changes, and writes an audit row.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.demands.models import OPEN_STATUSES
from huijia.grid.models import Area, AreaKind
from huijia.members.models import Member, RegistrationStatus
from huijia.volunteering.models import ActivityStatus, ServiceTeam, ServiceTeamMember

MAX_NAME = 64
MAX_DESCRIPTION = 1000
MAX_AREAS = 12
MAX_AREA = 16
REFUSED = _("服务队由社区党委管理")


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


@dataclass(frozen=True)
class TeamInput:
    """What staff type for a team: a name, a description and its service areas (short labels)."""

    name: str = ""
    description: str = ""
    service_areas: tuple[str, ...] = field(default=())


def split_areas(text: str | None) -> tuple[str, ...]:
    """Service areas typed in one box: one per line, or separated by 、，, ; or spaces."""
    parts = (text or "").replace("\r", "\n")
    for sep in ("、", "，", ",", "；", ";", "\u3000"):
        parts = parts.replace(sep, "\n")
    return tuple(p.strip() for line in parts.split("\n") for p in line.split(" ") if p.strip())


def _clean(data: TeamInput) -> TeamInput:
    name = (data.name or "").strip()
    if not name:
        raise _bad("name", _("请填写服务队名称"), "name_empty")
    if len(name) > MAX_NAME:
        raise _bad("name", _("名称不超过%(n)d个字") % {"n": MAX_NAME}, "name_too_long")
    description = (data.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise _bad("description", _("简介不超过%(n)d个字") % {"n": MAX_DESCRIPTION}, "description_too_long")
    areas = list(dict.fromkeys(a.strip() for a in data.service_areas if a and a.strip()))
    if len(areas) > MAX_AREAS:
        raise _bad("service_areas", _("服务领域最多%(n)d项") % {"n": MAX_AREAS}, "too_many_areas")
    long = next((a for a in areas if len(a) > MAX_AREA), None)
    if long:
        message = _("服务领域“%(a)s”太长：每项不超过%(n)d个字") % {"a": long[:20], "n": MAX_AREA}
        raise _bad("service_areas", message, "area_too_long")
    return TeamInput(name=name, description=description, service_areas=tuple(areas))


def _name_taken(community_id: int, name: str, exclude: int | None = None) -> bool:
    qs = ServiceTeam.objects.filter(community_id=community_id, name=name, ended_at=None)
    return qs.exclude(pk=exclude).exists() if exclude else qs.exists()


NAME_TAKEN = _("本社区已有同名的服务队，请换一个名称")


def _community(actor: Actor, community_id: int | None) -> Area:
    """The community a new team belongs to, if the actor manages volunteering there."""
    if community_id is None:
        raise _bad("community", _("请选择社区"), "community_missing")
    community = Area.objects.filter(pk=community_id, kind=AreaKind.COMMUNITY).first()
    if community is None or not actor.covers(Perm.VIEW, community.path):
        raise NotFound()
    if not actor.covers(Perm.MANAGE_VOLUNTEERING, community.path):
        raise Forbidden(str(REFUSED))
    return community


def _locked(actor: Actor, team_id: int) -> ServiceTeam:
    """The team, locked for this transaction, if the actor manages it; a dissolved team is a Conflict."""
    qs = restrict(ServiceTeam.objects.all(), actor, Perm.MANAGE_VOLUNTEERING).select_for_update(of=("self",))
    team = qs.select_related("community").filter(pk=team_id).first()
    if team is None:
        if restrict(ServiceTeam.objects.all(), actor, Perm.VIEW).filter(pk=team_id).exists():
            raise Forbidden(str(REFUSED))
        raise NotFound()
    if team.ended_at is not None:
        raise Conflict(_("这支服务队已经解散"), code="team_dissolved")
    return team


@transaction.atomic
def create_team(*, actor: Actor, community_id: int | None, data: TeamInput) -> ServiceTeam:
    """Community staff set up a service team (its members are added afterwards)."""
    community = _community(actor, community_id)
    data = _clean(data)
    if _name_taken(community.pk, data.name):
        raise _bad("name", NAME_TAKEN, "name_taken")
    try:
        with transaction.atomic():
            team = ServiceTeam.objects.create(
                community=community,
                name=data.name,
                description=data.description,
                service_areas=list(data.service_areas),
                created_by_id=actor.user_id,
            )
    except IntegrityError:  # created by someone else at the same moment
        raise _bad("name", NAME_TAKEN, "name_taken") from None
    audit(actor=actor, action="service_team.create", target=team, name=team.name)
    return team


@transaction.atomic
def update_team(*, actor: Actor, team_id: int, data: TeamInput) -> ServiceTeam:
    """Changes a team's name, description and service areas."""
    team = _locked(actor, team_id)
    data = _clean(data)
    if data.name != team.name and _name_taken(team.community_id, data.name, exclude=team.pk):
        raise _bad("name", NAME_TAKEN, "name_taken")
    team.name, team.description, team.service_areas = data.name, data.description, list(data.service_areas)
    team.save(update_fields=["name", "description", "service_areas"])
    audit(actor=actor, action="service_team.update", target=team, name=team.name)
    return team


def _joinable(team: ServiceTeam, member_id: int | None) -> Member:
    if member_id is None:
        raise _bad("member", _("请选择党员"), "member_missing")
    member = Member.objects.filter(
        pk=member_id,
        community_id=team.community_id,
        registrations__community_id=team.community_id,
        registrations__status=RegistrationStatus.APPROVED,
    ).first()
    if member is None:
        raise _bad("member", _("只有在本社区报到的党员可以加入服务队"), "member_elsewhere")
    return member


def _team_link(team: ServiceTeam) -> str:
    return reverse("volunteering:my_team", args=[team.pk])


@transaction.atomic
def add_team_member(
    *, actor: Actor, team_id: int, member_id: int | None, is_leader: bool = False
) -> ServiceTeamMember:
    """Adds a member reporting in the team's community (as a leader if `is_leader`); they are told."""
    team = _locked(actor, team_id)
    member = _joinable(team, member_id)
    if ServiceTeamMember.objects.filter(team=team, member=member, ended_at=None).exists():
        raise _bad("member", _("%(name)s已经是这支服务队的队员") % {"name": member.name}, "already_member")
    membership = ServiceTeamMember.objects.create(team=team, member=member, is_leader=is_leader)
    audit(actor=actor, action="service_team.add_member", target=team, member=member.pk, leader=is_leader)
    text = _("您已加入服务队“%(team)s”") % {"team": team.name}
    if is_leader:
        text = _("您已加入服务队“%(team)s”，担任队长") % {"team": team.name}
    notify(user_id=member.user_id, text=text, url=_team_link(team))
    return membership


def _membership(team: ServiceTeam, member_id: int) -> ServiceTeamMember:
    row = (
        ServiceTeamMember.objects.select_for_update(of=("self",))
        .select_related("member")
        .filter(team=team, member_id=member_id, ended_at=None)
        .first()
    )
    if row is None:
        raise _bad("member", _("这位党员不在这支服务队里"), "not_a_member")
    return row


@transaction.atomic
def remove_team_member(*, actor: Actor, team_id: int, member_id: int) -> ServiceTeamMember:
    """Ends a membership (kept as history). The team's open demands stay with the team."""
    team = _locked(actor, team_id)
    row = _membership(team, member_id)
    row.ended_at = timezone.now()
    row.save(update_fields=["ended_at"])
    audit(actor=actor, action="service_team.remove_member", target=team, member=member_id)
    return row


@transaction.atomic
def set_team_leader(*, actor: Actor, team_id: int, member_id: int, is_leader: bool) -> ServiceTeamMember:
    """Appoints a member as a leader (队长), or dismisses them as leader (they stay in the team)."""
    team = _locked(actor, team_id)
    row = _membership(team, member_id)
    if row.is_leader == is_leader:
        return row
    row.is_leader = is_leader
    row.save(update_fields=["is_leader"])
    audit(actor=actor, action="service_team.leader", target=team, member=member_id, leader=is_leader)
    if is_leader:
        text = _("您已担任服务队“%(team)s”的队长，可以发布本队的活动") % {"team": team.name}
        notify(user_id=row.member.user_id, text=text, url=_team_link(team))
    return row


@transaction.atomic
def dissolve_team(*, actor: Actor, team_id: int) -> ServiceTeam:
    """Dissolves a team: its memberships end, its record stays. Refused while it still has open
    demands (reassign them first) or activities that have not ended (cancel them first)."""
    team = _locked(actor, team_id)
    if team.assigned_demands.filter(status__in=sorted(OPEN_STATUSES)).exists():
        raise Conflict(_("这支服务队还有未办结的诉求，请先改派"), code="team_has_demands")
    now = timezone.now()
    upcoming = team.activities.filter(status=ActivityStatus.PUBLISHED).filter(
        Q(ends_at__gt=now) | Q(ends_at=None)
    )
    if upcoming.exists():
        raise Conflict(_("这支服务队还有未结束的活动，请先取消或等活动结束"), code="team_has_activities")
    team.ended_at = now
    team.save(update_fields=["ended_at"])
    ended = ServiceTeamMember.objects.filter(team=team, ended_at=None).update(ended_at=now)
    audit(actor=actor, action="service_team.dissolve", target=team, members=ended)
    return team

"""Teams and zones (包干到户, F4): propose a plan, adjust it, commit it; appoint building heads (楼栋长)
and estate branch secretaries among members.

A plan (TeamPlan) is a proposal kept while staff adjust it: its `data` holds the teams with their
members and households, the neighbour links and the building-head suggestions, and a `version` that
every adjustment raises, so that two people adjusting the same plan cannot overwrite each other (the
second one gets a Conflict and reloads). Committing a plan ends the teams, zones and links in force in
its scope (they stay on record with `ended_at`) and creates the new ones, keeps the household access
list right (members.access), writes the audit trail and tells every member their team and zone.
"""

from dataclasses import dataclass, field
from typing import Literal

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor
from huijia.accounts.services import audit, grant_role, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.grid.models import Area, AreaKind, Household
from huijia.members import access, zoning
from huijia.members.models import (
    HouseholdLink,
    Member,
    Team,
    TeamMembership,
    TeamPlan,
    ZoneAssignment,
)
from huijia.members.team_selectors import plan_outdated

MIN_TEAM_SIZE, MAX_TEAM_SIZE = 1, 10
NEW_TEAM = "new"


# --- scope ----------------------------------------------------------------------------------------


def _refuse(actor: Actor, path: str, message: str) -> None:
    """Forbidden for someone who may see the area (they learn nothing new), NotFound otherwise."""
    if actor.covers(Perm.VIEW, path):
        raise Forbidden(message)
    raise NotFound()


def scope_of(*, actor: Actor, community_id: int, estate_id: int | None = None) -> tuple[Area, Area | None]:
    """The community (and estate) a plan is for, once the actor may manage teams there."""
    community = Area.objects.filter(pk=community_id, kind=AreaKind.COMMUNITY).first()
    if community is None:
        raise NotFound()
    estate = None
    if estate_id is not None:
        estate = Area.objects.filter(pk=estate_id, kind=AreaKind.ESTATE, parent=community).first()
        if estate is None:
            message = _("所选小区不在该社区")
            raise InvalidInput(message, code="unknown_estate", fields={"estate_id": [message]})
    scope = estate or community
    if not actor.covers(Perm.MANAGE_TEAMS, scope.path):
        _refuse(actor, scope.path, _("您可以查看，但编组包干由社区党委进行"))
    return community, estate


def _plan_for_change(*, actor: Actor, plan_id: int, version: int) -> TeamPlan:
    """The plan, locked, after checking scope, that it is still open and that nobody changed it since."""
    plan = (
        TeamPlan.objects.select_for_update(of=("self",))
        .select_related("community", "estate")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise NotFound()
    if not actor.covers(Perm.MANAGE_TEAMS, (plan.estate or plan.community).path):
        # the plan is readable with VIEW on its community (TeamPlan.scope): refuse the same way
        _refuse(actor, plan.community.path, _("您可以查看，但编组包干由社区党委进行"))
    if plan.committed_at is not None:
        raise Conflict(_("该方案已经确认生效，不能再修改；如需调整请重新生成方案"), code="plan_committed")
    if plan.data.get("version") != version:
        raise Conflict(_("该方案刚被其他人修改过，请刷新后再操作"), code="plan_stale")
    return plan


# --- proposing ------------------------------------------------------------------------------------


def _area_names(scope: Area) -> tuple[dict[int, str], dict[int, str]]:
    buildings, estates = {}, {}
    rows = Area.objects.filter(path__startswith=scope.path, kind__in=[AreaKind.ESTATE, AreaKind.BUILDING])
    for pk, kind, name in rows.values_list("pk", "kind", "name"):
        (buildings if kind == AreaKind.BUILDING else estates)[pk] = name
    return buildings, estates


def proposal_input(*, community: Area, scope: Area) -> tuple[list, list, dict, dict]:
    """Members living in `scope` and reporting in `community`, every household of `scope`, and names:
    four queries, whatever the size."""
    households = [
        zoning.HouseholdIn(*row)
        for row in Household.objects.filter(building__path__startswith=scope.path).values_list(
            "pk", "building_id", "building__parent_id", "unit", "floor", "room"
        )
    ]
    members = [
        zoning.MemberIn(id=pk, building_id=b, floor=f, light_duty=light, estate_id=e, household_id=h)
        for pk, b, f, light, e, h in Member.objects.filter(
            community=community, household__building__path__startswith=scope.path
        ).values_list(
            "pk",
            "household__building_id",
            "household__floor",
            "light_duty",
            "household__building__parent_id",
            "household_id",
        )
    ]
    buildings, estates = _area_names(scope)
    return members, households, buildings, estates


def _plan_data(proposal: zoning.Proposal, light_ids: list[int]) -> dict:
    return {
        "version": 1,
        "next_key": len(proposal.teams) + 1,
        "teams": [
            {
                "key": i,
                "name": t.name,
                "estate_id": t.estate_id,
                "building_id": t.building_id,
                "label": t.label,
                "leader_id": t.leader_id,
                "member_ids": t.member_ids,
                "household_ids": t.household_ids,
            }
            for i, t in enumerate(proposal.teams, start=1)
        ],
        "links": {str(m): hs for m, hs in proposal.links.items()},
        "building_heads": {str(b): m for b, m in proposal.building_heads.items()},
        "uncovered": proposal.uncovered,
        "notes": proposal.notes,
        "light_duty": sorted(light_ids),
    }


@transaction.atomic
def propose_teams(
    *,
    actor: Actor,
    community_id: int,
    estate_id: int | None = None,
    team_size: int = zoning.DEFAULT_TEAM_SIZE,
) -> TeamPlan:
    """Proposes teams and zones for a community or one estate, stored as a plan staff can adjust."""
    if not isinstance(team_size, int) or not MIN_TEAM_SIZE <= team_size <= MAX_TEAM_SIZE:
        message = _("每组人数请填{a}到{b}之间的整数").format(a=MIN_TEAM_SIZE, b=MAX_TEAM_SIZE)
        raise InvalidInput(message, code="bad_team_size", fields={"team_size": [message]})
    community, estate = scope_of(actor=actor, community_id=community_id, estate_id=estate_id)
    members, households, buildings, estates = proposal_input(community=community, scope=estate or community)
    proposal = zoning.propose(
        members=members,
        households=households,
        team_size=team_size,
        building_names=buildings,
        estate_names=estates,
    )
    plan = TeamPlan.objects.create(
        community=community,
        estate=estate,
        team_size=team_size,
        data=_plan_data(proposal, [m.id for m in members if m.light_duty]),
        created_by_id=actor.user_id,
    )
    audit(
        actor=actor,
        action="teams.propose",
        target=plan,
        estate=estate.pk if estate else None,
        team_size=team_size,
        teams=len(proposal.teams),
        members=len(members),
        households=len(households),
    )
    return plan


# --- adjusting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanChange:
    """One adjustment of a plan: move a member, move households, or choose a team's leader.

    `to_team` is the key of a team in the plan, or "new" for a new team (moves only).
    """

    kind: Literal["move_member", "move_households", "set_leader"]
    to_team: int | str
    member_id: int | None = None
    household_ids: list[int] = field(default_factory=list)


def _team_of(teams: list[dict], key) -> dict:
    if key == NEW_TEAM:
        return {}
    found = next((t for t in teams if str(t["key"]) == str(key)), None)
    if found is None:
        message = _("所选小组不在方案中，请刷新后重试")
        raise InvalidInput(message, code="unknown_team", fields={"to_team": [message]})
    return found


def _new_team(data: dict, *, building_id: int | None, estate_id: int | None) -> dict:
    key = data["next_key"]
    data["next_key"] = key + 1
    team = {
        "key": key,
        "name": _("新小组{n}").format(n=key),
        "estate_id": estate_id,
        "building_id": building_id,
        "label": "",
        "leader_id": None,
        "member_ids": [],
        "household_ids": [],
    }
    data["teams"].append(team)
    return team


def _first_able(team: dict, light: set[int]) -> int | None:
    return next((m for m in team["member_ids"] if m not in light), None)


def _move_member(data: dict, change: PlanChange) -> set[int]:
    teams, light = data["teams"], set(data.get("light_duty", []))
    source = next((t for t in teams if change.member_id in t["member_ids"]), None)
    if source is None:
        message = _("该党员不在这个方案中")
        raise InvalidInput(message, code="unknown_member", fields={"member_id": [message]})
    target = _team_of(teams, change.to_team)
    if target is source:
        raise InvalidInput(
            _("该党员已经在这个小组"), code="same_team", fields={"to_team": [_("该党员已经在这个小组")]}
        )
    if not target:
        home = Member.objects.filter(pk=change.member_id).values_list(
            "household__building_id", "household__building__parent_id"
        ).first() or (None, None)
        target = _new_team(data, building_id=home[0], estate_id=home[1])
    source["member_ids"].remove(change.member_id)
    target["member_ids"].append(change.member_id)
    if source["leader_id"] == change.member_id:
        source["leader_id"] = _first_able(source, light)
    if target["leader_id"] is None and change.member_id not in light:
        target["leader_id"] = change.member_id
    return {source["key"], target["key"]}


def _move_households(data: dict, change: PlanChange) -> set[int]:
    teams = data["teams"]
    moving = list(dict.fromkeys(change.household_ids))
    if not moving:
        message = _("请先勾选要调整的住户")
        raise InvalidInput(message, code="no_households", fields={"household_ids": [message]})
    where = {h: t for t in teams for h in t["household_ids"]}
    uncovered = set(data.get("uncovered", []))
    unknown = [h for h in moving if h not in where and h not in uncovered]
    if unknown:
        message = _("有{n}户不在这个方案中，请刷新后重试").format(n=len(unknown))
        raise InvalidInput(message, code="unknown_household", fields={"household_ids": [message]})
    target = _team_of(teams, change.to_team)
    if target and all(where.get(h) is target for h in moving):
        message = _("所选住户已经在这个小组")
        raise InvalidInput(message, code="same_team", fields={"to_team": [message]})
    if not target:
        first = (
            Household.objects.filter(pk=moving[0]).values_list("building_id", "building__parent_id").first()
        )
        target = _new_team(data, building_id=first[0], estate_id=first[1])
    touched = {target["key"]}
    for h in moving:
        source = where.get(h)
        if source is target:
            continue
        if source is None:
            uncovered.discard(h)
        else:
            source["household_ids"].remove(h)
            touched.add(source["key"])
        target["household_ids"].append(h)
    data["uncovered"] = sorted(uncovered)
    return touched


def _set_leader(data: dict, change: PlanChange) -> set[int]:
    team = _team_of(data["teams"], change.to_team)
    if not team or change.member_id not in team["member_ids"]:
        message = _("组长须是本组的党员")
        raise InvalidInput(message, code="not_in_team", fields={"member_id": [message]})
    if change.member_id in set(data.get("light_duty", [])):
        message = _("该党员申请了少安排任务，不宜担任组长")
        raise InvalidInput(message, code="light_duty", fields={"member_id": [message]})
    team["leader_id"] = change.member_id
    return set()


def _relabel(data: dict, keys: set[int]) -> None:
    """New floor ranges and main building for the teams whose households changed (one query)."""
    teams = [t for t in data["teams"] if t["key"] in keys]
    ids = [h for t in teams for h in t["household_ids"]]
    rows = {
        pk: (b, e, name, floor)
        for pk, b, e, name, floor in Household.objects.filter(pk__in=ids).values_list(
            "pk", "building_id", "building__parent_id", "building__name", "floor"
        )
    }
    for team in teams:
        floors: dict[int, list[int]] = {}
        names, estates = {}, {}
        for h in sorted(team["household_ids"], key=lambda h: (zoning.natural(rows[h][2]), rows[h][3], h)):
            b, e, name, floor = rows[h]
            floors.setdefault(b, []).append(floor)
            names[b], estates[b] = name, e
        team["household_ids"].sort(key=lambda h: (zoning.natural(rows[h][2]), rows[h][3], h))
        if floors:
            main = max(floors, key=lambda b: (len(floors[b]), -list(floors).index(b)))
            team["building_id"], team["estate_id"] = main, estates[main]
        team["label"] = "、".join(zoning.floor_label(names[b], fs) for b, fs in floors.items())


@transaction.atomic
def adjust_plan(*, actor: Actor, plan_id: int, version: int, change: PlanChange) -> TeamPlan:
    """Applies one adjustment to an open plan. Every household stays in exactly one team and every
    member in one team; a team left with neither members nor households disappears."""
    plan = _plan_for_change(actor=actor, plan_id=plan_id, version=version)
    data = plan.data
    apply = {"move_member": _move_member, "move_households": _move_households, "set_leader": _set_leader}
    if change.kind not in apply:
        raise InvalidInput(_("不支持的调整"), code="bad_change")
    touched = apply[change.kind](data, change)
    _relabel(data, touched)
    data["teams"] = [t for t in data["teams"] if t["member_ids"] or t["household_ids"]]
    _check_once(data)
    data["version"] = version + 1
    plan.save(update_fields=["data", "updated_at"])
    audit(
        actor=actor,
        action="teams.plan.adjust",
        target=plan,
        kind=change.kind,
        to_team=str(change.to_team),
        member=change.member_id,
        households=len(change.household_ids),
    )
    return plan


def _check_once(data: dict) -> None:
    """Every household in one team at most (or uncovered), every member in one team at most."""
    households = [h for t in data["teams"] for h in t["household_ids"]] + list(data.get("uncovered", []))
    members = [m for t in data["teams"] for m in t["member_ids"]]
    if len(households) != len(set(households)) or len(members) != len(set(members)):
        raise Conflict(_("方案数据不一致，请重新生成方案"), code="plan_broken")


# --- committing -----------------------------------------------------------------------------------


def _check_committable(plan: TeamPlan, scope: Area) -> None:
    data = plan.data
    teams = data["teams"]
    if not teams:
        raise InvalidInput(_("方案中没有小组，无法确认。请先让党员报到，或重新生成方案。"), code="no_teams")
    for team in teams:
        if not team["member_ids"]:
            raise InvalidInput(
                _("「{t}」还没有党员，请先调入党员或把住户分给其他小组").format(t=team["name"]),
                code="team_without_members",
            )
        if not team["household_ids"]:
            raise InvalidInput(
                _("「{t}」没有包干住户，请先分配住户或把党员调到其他小组").format(t=team["name"]),
                code="team_without_households",
            )
    if data.get("uncovered"):
        raise InvalidInput(
            _("还有{n}户没有分到小组，请先分配").format(n=len(data["uncovered"])), code="households_uncovered"
        )
    if plan_outdated(plan=plan):
        raise Conflict(_("该方案生成后，已有新的方案确认生效，请重新生成方案"), code="plan_outdated")
    planned_members = {m for t in teams for m in t["member_ids"]}
    still_here = Member.objects.filter(
        pk__in=planned_members, community=plan.community, household__building__path__startswith=scope.path
    ).count()
    if still_here != len(planned_members):
        raise Conflict(_("方案中有党员已不在本社区报到或已搬走，请重新生成方案"), code="members_changed")
    planned = {h for t in teams for h in t["household_ids"]}
    current = set(
        Household.objects.filter(building__path__startswith=scope.path).values_list("pk", flat=True)
    )
    if planned != current:
        raise Conflict(_("生成方案后住户有变化，请重新生成方案"), code="households_changed")


@dataclass(frozen=True)
class _Ended:
    left: set[int]  # members whose team ended
    touched: set[int]  # every member whose team, zone or links changed (their access is rebuilt)


def _end_in_scope(*, community: Area, estate: Area | None, scope: Area, members: set[int], now) -> _Ended:
    """Ends the teams, memberships, zone assignments and links in force in the scope (and the
    memberships and links of the plan's members wherever they were)."""
    old_teams = Team.objects.filter(community=community, ended_at=None)
    if estate is not None:
        old_teams = old_teams.filter(estate=estate)
    old_team_ids = list(old_teams.values_list("pk", flat=True))
    in_scope = Q(household__building__path__startswith=scope.path)
    memberships = TeamMembership.objects.filter(ended_at=None).filter(
        Q(team_id__in=old_team_ids) | Q(member_id__in=members)
    )
    links = HouseholdLink.objects.filter(ended_at=None).filter(in_scope | Q(member_id__in=members))
    zones = ZoneAssignment.objects.filter(ended_at=None).filter(in_scope | Q(team_id__in=old_team_ids))
    left = set(memberships.values_list("member_id", flat=True))
    holders = TeamMembership.objects.filter(ended_at=None, team_id__in=zones.values("team_id"))
    touched = (
        left
        | set(links.values_list("member_id", flat=True))
        | set(holders.values_list("member_id", flat=True))
    )
    memberships.update(ended_at=now)
    links.update(ended_at=now)
    zones.update(ended_at=now)
    Team.objects.filter(pk__in=old_team_ids).update(ended_at=now)
    # teams elsewhere left with nobody (their members are in this plan now) end too
    orphans = Team.objects.filter(community=community, ended_at=None).exclude(
        Exists(TeamMembership.objects.filter(team=OuterRef("pk"), ended_at=None))
    )
    orphan_ids = list(orphans.values_list("pk", flat=True))
    if orphan_ids:
        ZoneAssignment.objects.filter(ended_at=None, team_id__in=orphan_ids).update(ended_at=now)
        Team.objects.filter(pk__in=orphan_ids).update(ended_at=now)
    return _Ended(left=left, touched=touched)


def _create_teams(plan: TeamPlan) -> list[tuple[Team, dict]]:
    data = plan.data
    teams = Team.objects.bulk_create(
        [
            Team(
                community=plan.community,
                estate_id=t["estate_id"],
                building_id=t["building_id"],
                name=t["name"][:64],
                zone_label=t["label"][:128],
            )
            for t in data["teams"]
        ]
    )
    pairs = list(zip(teams, data["teams"], strict=True))
    TeamMembership.objects.bulk_create(
        [
            TeamMembership(team=team, member_id=m, is_leader=m == t["leader_id"])
            for team, t in pairs
            for m in t["member_ids"]
        ]
    )
    ZoneAssignment.objects.bulk_create(
        [ZoneAssignment(team=team, household_id=h) for team, t in pairs for h in t["household_ids"]]
    )
    HouseholdLink.objects.bulk_create(
        [HouseholdLink(member_id=int(m), household_id=h) for m, hs in data["links"].items() for h in hs]
    )
    return pairs


def _tell_members(pairs: list[tuple[Team, dict]], left: set[int]) -> None:
    users = dict(
        Member.objects.filter(pk__in={m for _t, t in pairs for m in t["member_ids"]} | left).values_list(
            "pk", "user_id"
        )
    )
    url = reverse("members:my_team")
    placed = set()
    for team, t in pairs:
        for m in t["member_ids"]:
            placed.add(m)
            text = _("您已编入「{t}」，包干{z}，共{n}户。").format(
                t=team.name, z=team.zone_label, n=len(t["household_ids"])
            )
            notify(user_id=users.get(m), text=text, url=url)
    for m in sorted(left - placed):
        notify(user_id=users.get(m), text=_("您所在的包干小组已调整，目前没有编入小组。"), url=url)


@transaction.atomic
def commit_plan(*, actor: Actor, plan_id: int, version: int) -> list[Team]:
    """Puts a plan into force: the scope's previous teams, zones and links end (kept as history), the
    plan's teams, zones and links start, and every member concerned is told."""
    plan = _plan_for_change(actor=actor, plan_id=plan_id, version=version)
    # one commit at a time per community: a second plan committed at the same moment waits here and
    # then finds itself outdated (a clear Conflict) instead of tripping the unique indexes
    Area.objects.select_for_update().filter(pk=plan.community_id).values_list("pk", flat=True).first()
    plan.refresh_from_db()
    scope = plan.estate or plan.community
    _check_committable(plan, scope)
    now = timezone.now()
    members = {m for t in plan.data["teams"] for m in t["member_ids"]}
    ended = _end_in_scope(community=plan.community, estate=plan.estate, scope=scope, members=members, now=now)
    pairs = _create_teams(plan)
    everyone = ended.touched | members
    access.rebuild_zone_access(member_ids=everyone)
    access.rebuild_link_access(member_ids=everyone)
    plan.committed_at = now
    plan.data["version"] = version + 1
    plan.save(update_fields=["committed_at", "data", "updated_at"])
    audit(
        actor=actor,
        action="teams.commit",
        target=plan,
        teams=[team.pk for team, _t in pairs],
        households=sum(len(t["household_ids"]) for _team, t in pairs),
        members=len(members),
    )
    _tell_members(pairs, ended.left - members)
    return [team for team, _t in pairs]


# --- appointments ---------------------------------------------------------------------------------

APPOINTABLE = {Role.BUILDING: AreaKind.BUILDING, Role.ESTATE: AreaKind.ESTATE}


@transaction.atomic
def appoint(*, actor: Actor, role: str, area_id: int, member_id: int):
    """Makes a member the building head (楼栋长) of the building they live in, or the branch secretary of
    their estate: the role is granted to their account on that building or estate."""
    if role not in APPOINTABLE:
        raise InvalidInput(
            _("只能任命楼栋长或小区党支部书记"),
            code="bad_role",
            fields={"role": [_("只能任命楼栋长或小区党支部书记")]},
        )
    area = Area.objects.filter(pk=area_id, kind=APPOINTABLE[role]).first()
    if area is None:
        raise NotFound()
    if not actor.covers(Perm.MANAGE_TEAMS, area.path):
        _refuse(actor, area.path, _("您可以查看，但任命由社区党委进行"))
    member = Member.objects.select_related("user", "household__building").filter(pk=member_id).first()
    where = _("本楼栋") if role == Role.BUILDING else _("本小区")
    if (
        member is None
        or member.community_id not in area.ancestor_ids()
        or member.household is None
        or not member.household.building.path.startswith(area.path)
    ):
        message = _("只能任命住在{w}、在本社区报到的党员").format(w=where)
        raise InvalidInput(message, code="not_living_here", fields={"member_id": [message]})
    if member.user is None:
        message = _("该党员还没有登录账号，无法任命")
        raise InvalidInput(message, code="no_account", fields={"member_id": [message]})
    if member.light_duty:
        message = _("该党员申请了少安排任务，不宜任命")
        raise InvalidInput(message, code="light_duty", fields={"member_id": [message]})
    title = Role(role).label
    # one building head per building, one secretary per estate: the new one takes over (audited, told)
    previous = RoleGrant.objects.filter(role=role, area=area).exclude(user_id=member.user_id)
    for old in previous:
        audit(actor=actor, action="role.revoke", target=old, role=role, reason="replaced", by=member.pk)
        notify(user_id=old.user_id, text=_("{a}{r}已由{n}接任。").format(a=area.name, r=title, n=member.name))
    previous.delete()
    grant = grant_role(actor=actor, user=member.user, role=role, area=area)
    audit(actor=actor, action="teams.appoint", target=member, role=role, area=area.pk)
    notify(
        user_id=member.user_id,
        text=_("您已被任命为{a}{r}。").format(a=area.name, r=title),
        url=reverse("members:my_team"),
    )
    return grant

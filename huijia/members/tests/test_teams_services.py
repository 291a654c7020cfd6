"""Teams and zones as staff run them: propose a plan, adjust it, commit it (history kept, access list
and notifications right), appoint building heads and estate secretaries. Bad input and stale plans
are refused with a clear message and store nothing."""

import pytest

from huijia.accounts.models import AuditLog, Notification, RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import restrict
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.grid.models import AreaKind, Household
from huijia.grid.services import _new_area
from huijia.members import team_selectors
from huijia.members.models import (
    HouseholdAccess,
    HouseholdLink,
    Member,
    RegistrationStatus,
    Team,
    TeamMembership,
    TeamPlan,
    ZoneAssignment,
)
from huijia.members.team_services import PlanChange, adjust_plan, appoint, commit_plan, propose_teams

pytestmark = pytest.mark.django_db


def add_neighbours(
    world, count: int, *, start_serial: int = 100, light: tuple[int, ...] = ()
) -> list[Member]:
    """`count` more approved members of A1, each in a new household of building 3 (floors 3 and up)."""
    building = world.areas["a1_bldg"]
    added = []
    for i in range(count):
        serial = start_serial + i
        key = f"n{serial}"
        household = Household.objects.create(
            building=building, unit="1单元", floor=3 + i, room=f"{3 + i}{serial:03d}"
        )
        world.households[key] = household
        make_member(world, key, name=f"邻居{i}", serial=serial, unit="u1")
        register(world, key, "a1", key)
        if i in light:
            Member.objects.filter(pk=world.members[key].pk).update(light_duty=True)
        added.append(world.members[key])
    return added


def snapshot() -> tuple:
    """What a refused write must leave as it was."""
    return (
        TeamPlan.objects.count(),
        tuple(TeamPlan.objects.order_by("pk").values_list("pk", "data", "committed_at")),
        Team.objects.count(),
        tuple(Team.objects.order_by("pk").values_list("pk", "ended_at")),
        TeamMembership.objects.filter(ended_at=None).count(),
        ZoneAssignment.objects.filter(ended_at=None).count(),
        HouseholdLink.objects.filter(ended_at=None).count(),
        tuple(HouseholdAccess.objects.order_by("pk").values_list("pk", "by_zone", "by_link", "by_care")),
        RoleGrant.objects.count(),
    )


def plan_of(world, **kwargs) -> TeamPlan:
    return propose_teams(actor=world.actor("staff"), community_id=world.areas["a1"].pk, **kwargs)


# --- propose --------------------------------------------------------------------------------------


def test_propose_for_the_community_covers_every_household_once(world):
    add_neighbours(world, 5)
    plan = plan_of(world)
    teams = plan.data["teams"]
    assert len(teams) == 2  # six members in building 3: two teams of three
    held = [h for t in teams for h in t["household_ids"]]
    community = set(
        Household.objects.filter(building__path__startswith=world.areas["a1"].path).values_list(
            "pk", flat=True
        )
    )
    assert sorted(held) == sorted(community)
    assert plan.data["version"] == 1
    assert plan.committed_at is None
    assert all(t["label"].startswith("3栋") for t in teams)
    assert any("5栋没有党员居住" in n for n in plan.data["notes"])
    assert AuditLog.objects.filter(action="teams.propose", target_id=str(plan.pk)).exists()


def test_propose_for_one_estate(world):
    plan = plan_of(world, estate_id=world.areas["a1_estate"].pk, team_size=2)
    assert plan.estate == world.areas["a1_estate"]
    assert plan.team_size == 2
    assert [t["member_ids"] for t in plan.data["teams"]] == [[world.members["member"].pk]]


def test_propose_with_nobody_says_so(world):
    Member.objects.filter(community=world.areas["a1"]).update(community=None)
    plan = plan_of(world)
    assert plan.data["teams"] == []
    assert len(plan.data["uncovered"]) == 5
    assert any("没有已报到的党员" in n for n in plan.data["notes"])


@pytest.mark.parametrize("size", [0, 11, -1])
def test_bad_team_size_is_refused_and_stores_nothing(world, size):
    before = snapshot()
    with pytest.raises(InvalidInput, match="每组人数") as caught:
        plan_of(world, team_size=size)
    assert "team_size" in caught.value.fields
    assert snapshot() == before


def test_estate_of_another_community_is_refused(world):
    before = snapshot()
    with pytest.raises(InvalidInput, match="所选小区不在该社区"):
        plan_of(world, estate_id=world.areas["a2_estate"].pk)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("other_staff", NotFound),
        ("member", NotFound),
        ("outsider", NotFound),
        ("street_staff", Forbidden),
        ("estate_secretary", NotFound),  # sees the estate, not the community
    ],
)
def test_only_community_staff_propose(world, who, error):
    before = snapshot()
    with pytest.raises(error):
        propose_teams(actor=world.actor(who), community_id=world.areas["a1"].pk)
    assert snapshot() == before


def test_estate_secretary_may_not_propose_for_their_estate(world):
    with pytest.raises(Forbidden, match="社区党委"):
        propose_teams(
            actor=world.actor("estate_secretary"),
            community_id=world.areas["a1"].pk,
            estate_id=world.areas["a1_estate"].pk,
        )


# --- adjust ---------------------------------------------------------------------------------------


def test_move_a_member_to_a_new_team_and_back(world):
    neighbours = add_neighbours(world, 5)
    plan = plan_of(world)
    moving = neighbours[0].pk
    source = next(t for t in plan.data["teams"] if moving in t["member_ids"])
    plan = adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=1,
        change=PlanChange("move_member", "new", moving),
    )
    assert plan.data["version"] == 2
    new = next(t for t in plan.data["teams"] if moving in t["member_ids"])
    assert new["key"] == 3
    assert new["member_ids"] == [moving]
    assert new["leader_id"] == moving
    assert new["household_ids"] == []
    assert moving not in next(t for t in plan.data["teams"] if t["key"] == source["key"])["member_ids"]
    plan = adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=2,
        change=PlanChange("move_member", source["key"], moving),
    )
    assert [t["key"] for t in plan.data["teams"]] == [1, 2]  # the emptied team is gone
    assert AuditLog.objects.filter(action="teams.plan.adjust", target_id=str(plan.pk)).count() == 2


def test_move_households_updates_floor_ranges(world):
    add_neighbours(world, 5)
    plan = plan_of(world)
    low, high = plan.data["teams"]
    top_two = high["household_ids"][-2:]
    plan = adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=1,
        change=PlanChange("move_households", low["key"], household_ids=top_two),
    )
    low, high = plan.data["teams"]
    assert set(top_two) <= set(low["household_ids"])
    assert not set(top_two) & set(high["household_ids"])
    floors = Household.objects.filter(pk__in=low["household_ids"]).values_list("floor", flat=True)
    assert low["label"].startswith(f"3栋 {min(floors)}–{max(floors)}层") or "5栋" in low["label"]
    held = [h for t in plan.data["teams"] for h in t["household_ids"]]
    assert len(held) == len(set(held))


def test_set_leader(world):
    neighbours = add_neighbours(world, 2, light=(1,))
    plan = plan_of(world)
    team = plan.data["teams"][0]
    plan = adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=1,
        change=PlanChange("set_leader", team["key"], neighbours[0].pk),
    )
    assert plan.data["teams"][0]["leader_id"] == neighbours[0].pk
    with pytest.raises(InvalidInput, match="少安排任务"):
        adjust_plan(
            actor=world.actor("staff"),
            plan_id=plan.pk,
            version=2,
            change=PlanChange("set_leader", team["key"], neighbours[1].pk),
        )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (PlanChange("move_member", 1, member_id=999999), "不在这个方案中"),
        (PlanChange("move_member", 99, member_id=None), "不在这个方案中"),
        (PlanChange("move_households", 1, household_ids=[]), "请先勾选"),
        (PlanChange("move_households", 1, household_ids=[999999]), "不在这个方案中"),
        (PlanChange("move_households", 42, household_ids=["first"]), "所选小组不在方案中"),
        (PlanChange("move_households", 1, household_ids=["first"]), "已经在这个小组"),
        (PlanChange("set_leader", 1, member_id=999999), "组长须是本组的党员"),
    ],
)
def test_bad_adjustments_are_refused_and_store_nothing(world, change, message):
    plan = plan_of(world)
    first = plan.data["teams"][0]["household_ids"][0]
    change = PlanChange(
        change.kind,
        change.to_team,
        change.member_id,
        [first if h == "first" else h for h in change.household_ids],
    )
    before = snapshot()
    with pytest.raises(InvalidInput, match=message):
        adjust_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1, change=change)
    assert snapshot() == before


def test_a_stale_version_is_a_conflict(world):
    add_neighbours(world, 5)
    plan = plan_of(world)
    first = plan.data["teams"][0]["household_ids"][0]
    adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=1,
        change=PlanChange("move_households", 2, household_ids=[first]),
    )
    before = snapshot()
    with pytest.raises(Conflict, match="刚被其他人修改过"):
        adjust_plan(
            actor=world.actor("staff"),
            plan_id=plan.pk,
            version=1,
            change=PlanChange("move_households", 1, household_ids=[first]),
        )
    with pytest.raises(Conflict, match="刚被其他人修改过"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    assert snapshot() == before


def test_others_may_not_adjust(world):
    plan = plan_of(world)
    change = PlanChange("move_member", "new", world.members["member"].pk)
    before = snapshot()
    for who, error in (("other_staff", NotFound), ("street_staff", Forbidden), ("member", NotFound)):
        with pytest.raises(error):
            adjust_plan(actor=world.actor(who), plan_id=plan.pk, version=1, change=change)
    assert snapshot() == before


# --- commit ---------------------------------------------------------------------------------------


def test_commit_puts_the_plan_in_force_and_keeps_history(world, django_capture_on_commit_callbacks):
    neighbours = add_neighbours(world, 5)
    old_team = world.teams["a1_team"]
    plan = plan_of(world)
    with django_capture_on_commit_callbacks(execute=True):
        teams = commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    assert len(teams) == 2
    old_team.refresh_from_db()
    assert old_team.ended_at is not None
    assert not ZoneAssignment.objects.filter(team=old_team, ended_at=None).exists()
    assert not TeamMembership.objects.filter(team=old_team, ended_at=None).exists()
    assert TeamMembership.objects.filter(team=old_team).exists()  # still on record
    for key in ["member", *(f"n{100 + i}" for i in range(len(neighbours)))]:
        m = world.members[key]
        membership = TeamMembership.objects.get(member=m, ended_at=None)
        zone = set(
            ZoneAssignment.objects.filter(team=membership.team, ended_at=None).values_list(
                "household_id", flat=True
            )
        )
        access = set(
            HouseholdAccess.objects.filter(member=m, by_zone=True).values_list("household_id", flat=True)
        )
        assert access == zone
        links = set(
            HouseholdLink.objects.filter(member=m, ended_at=None).values_list("household_id", flat=True)
        )
        assert links == set(
            HouseholdAccess.objects.filter(member=m, by_link=True).values_list("household_id", flat=True)
        )
        assert 1 <= len(links) <= 3
        visible = restrict(Household.objects.all(), world.actor(key), Perm.VISIT)
        assert zone <= set(visible.values_list("pk", flat=True))
    held = ZoneAssignment.objects.filter(ended_at=None).filter(
        household__building__path__startswith=world.areas["a1"].path
    )
    assert held.count() == 10  # 5 households of the world + 5 new ones
    plan.refresh_from_db()
    assert plan.committed_at is not None
    assert AuditLog.objects.filter(action="teams.commit", target_id=str(plan.pk)).exists()
    note = Notification.objects.get(user=world.users["member"])
    assert "您已编入" in note.text
    assert "3栋" in note.text
    # the other community's link is untouched
    assert HouseholdLink.objects.filter(member=world.members["other_member"], ended_at=None).exists()
    # history: the ended team is listed as such
    ended = list(
        team_selectors.teams_for(actor=world.actor("staff"), community_id=world.areas["a1"].pk, active=False)
    )
    assert [t.pk for t in ended] == [old_team.pk]
    assert ended[0].households == 4
    assert [m.member.pk for m in ended[0].crew] == [world.members["member"].pk]


def test_commit_twice_is_a_conflict(world):
    plan = plan_of(world)
    commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    before = snapshot()
    with pytest.raises(Conflict, match="已经确认生效"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=2)
    with pytest.raises(Conflict, match="已经确认生效"):
        adjust_plan(
            actor=world.actor("staff"),
            plan_id=plan.pk,
            version=2,
            change=PlanChange("move_member", "new", world.members["member"].pk),
        )
    assert snapshot() == before


def test_an_older_plan_after_a_newer_one_was_committed_is_a_conflict(world):
    older = plan_of(world)
    newer = plan_of(world, estate_id=world.areas["a1_estate"].pk)
    commit_plan(actor=world.actor("staff"), plan_id=newer.pk, version=1)
    before = snapshot()
    with pytest.raises(Conflict, match="已有新的方案确认生效"):
        commit_plan(actor=world.actor("staff"), plan_id=older.pk, version=1)
    assert snapshot() == before


def test_households_added_since_the_proposal_are_a_conflict(world):
    plan = plan_of(world)
    Household.objects.create(building=world.areas["a1_bldg2"], unit="", floor=2, room="201")
    before = snapshot()
    with pytest.raises(Conflict, match="住户有变化"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    assert snapshot() == before


def test_a_member_who_left_since_the_proposal_is_a_conflict(world):
    neighbours = add_neighbours(world, 2)
    plan = plan_of(world)
    Member.objects.filter(pk=neighbours[1].pk).update(community=None)
    before = snapshot()
    with pytest.raises(Conflict, match="已不在本社区报到"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    assert snapshot() == before


def test_a_team_left_without_members_cannot_be_committed(world):
    plan = plan_of(world)
    plan = adjust_plan(
        actor=world.actor("staff"),
        plan_id=plan.pk,
        version=1,
        change=PlanChange("move_member", "new", world.members["member"].pk),
    )
    before = snapshot()
    with pytest.raises(InvalidInput, match="还没有党员"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=2)
    assert snapshot() == before


def test_a_plan_with_no_team_cannot_be_committed(world):
    Member.objects.filter(community=world.areas["a1"]).update(community=None)
    plan = plan_of(world)
    with pytest.raises(InvalidInput, match="没有小组"):
        commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    assert Team.objects.filter(ended_at=None).count() == 1


def test_an_estate_commit_leaves_other_estates_alone(world):
    east = _new_area(parent=world.areas["a1"], kind=AreaKind.ESTATE, name="东区")
    building = _new_area(parent=east, kind=AreaKind.BUILDING, name="1栋")
    world.households["east"] = Household.objects.create(building=building, unit="", floor=1, room="101")
    make_member(world, "east", name="东区党员", serial=300, unit="u1")
    register(world, "east", "a1", "east")
    commit_plan(actor=world.actor("staff"), plan_id=plan_of(world).pk, version=1)
    east_team = Team.objects.get(ended_at=None, estate=east)
    plan = plan_of(world, estate_id=world.areas["a1_estate"].pk)
    commit_plan(actor=world.actor("staff"), plan_id=plan.pk, version=1)
    east_team.refresh_from_db()
    assert east_team.ended_at is None
    assert ZoneAssignment.objects.get(household=world.households["east"], ended_at=None).team == east_team
    assert Team.objects.filter(community=world.areas["a1"], ended_at=None).count() == 2


def test_an_estate_commit_takes_its_households_back_from_other_teams(world):
    east = _new_area(parent=world.areas["a1"], kind=AreaKind.ESTATE, name="东区")
    building = _new_area(parent=east, kind=AreaKind.BUILDING, name="1栋")
    home = world.households["east"] = Household.objects.create(
        building=building, unit="", floor=1, room="101"
    )
    commit_plan(actor=world.actor("staff"), plan_id=plan_of(world).pk, version=1)
    member = world.members["member"]
    assert HouseholdAccess.objects.filter(member=member, household=home, by_zone=True).exists()
    make_member(world, "east", name="东区党员", serial=300, unit="u1")
    register(world, "east", "a1", "east")
    commit_plan(actor=world.actor("staff"), plan_id=plan_of(world, estate_id=east.pk).pk, version=1)
    assert not HouseholdAccess.objects.filter(member=member, household=home, by_zone=True).exists()
    assert HouseholdAccess.objects.filter(member=world.members["east"], household=home, by_zone=True).exists()
    team = TeamMembership.objects.get(member=member, ended_at=None).team
    assert team.ended_at is None
    assert ZoneAssignment.objects.filter(team=team, ended_at=None).count() == 5


# --- appointments ---------------------------------------------------------------------------------


def test_appoint_a_building_head_among_members_living_there(world, django_capture_on_commit_callbacks):
    neighbour = add_neighbours(world, 1)[0]
    with django_capture_on_commit_callbacks(execute=True):
        grant = appoint(
            actor=world.actor("staff"),
            role=Role.BUILDING,
            area_id=world.areas["a1_bldg"].pk,
            member_id=neighbour.pk,
        )
    assert grant.user == neighbour.user
    assert grant.area == world.areas["a1_bldg"]
    assert AuditLog.objects.filter(action="teams.appoint", target_id=str(neighbour.pk)).exists()
    assert AuditLog.objects.filter(action="role.grant").exists()
    assert "楼栋长" in Notification.objects.get(user=neighbour.user).text
    actor = world.actor(neighbour.user.username)
    assert actor.covers(Perm.VISIT, world.areas["a1_bldg"].path)


def test_appoint_an_estate_secretary(world):
    grant = appoint(
        actor=world.actor("staff"),
        role=Role.ESTATE,
        area_id=world.areas["a1_estate"].pk,
        member_id=world.members["member"].pk,
    )
    assert grant.role == Role.ESTATE


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("elsewhere", "只能任命住在本楼栋"),
        ("light", "少安排任务"),
        ("no_account", "没有登录账号"),
        ("pending", "只能任命住在本楼栋"),
    ],
)
def test_appointments_refused_store_nothing(world, setup, message):
    member = world.members["member"]
    area = world.areas["a1_bldg"]
    if setup == "elsewhere":
        area = world.areas["a1_bldg2"]
    elif setup == "light":
        Member.objects.filter(pk=member.pk).update(light_duty=True)
    elif setup == "no_account":
        Member.objects.filter(pk=member.pk).update(user=None)
    elif setup == "pending":
        member = world.members["pending_member"]
    before = snapshot()
    with pytest.raises(InvalidInput, match=message):
        appoint(actor=world.actor("staff"), role=Role.BUILDING, area_id=area.pk, member_id=member.pk)
    assert snapshot() == before


def test_appointments_need_community_staff(world):
    before = snapshot()
    for who, error in (
        ("other_staff", NotFound),
        ("estate_secretary", Forbidden),
        ("building_head", Forbidden),
        ("member", NotFound),
    ):
        with pytest.raises(error):
            appoint(
                actor=world.actor(who),
                role=Role.BUILDING,
                area_id=world.areas["a1_bldg"].pk,
                member_id=world.members["member"].pk,
            )
    with pytest.raises(InvalidInput, match="只能任命楼栋长"):
        appoint(actor=world.actor("staff"), role=Role.COMMUNITY, area_id=world.areas["a1"].pk, member_id=1)
    assert snapshot() == before


def test_a_pending_registration_is_not_a_member_of_the_community(world):
    assert world.registrations["pending_member"].status == RegistrationStatus.PENDING
    plan = plan_of(world)
    placed = {m for t in plan.data["teams"] for m in t["member_ids"]}
    assert world.members["pending_member"].pk not in placed


def test_a_new_building_head_takes_over_from_the_previous_one(world, django_capture_on_commit_callbacks):
    from huijia.accounts.models import RoleGrant

    neighbour = add_neighbours(world, 1)[0]
    building = world.areas["a1_bldg"]
    before = RoleGrant.objects.filter(user=world.users["building_head"], role=Role.BUILDING, area=building)
    assert before.exists()
    with django_capture_on_commit_callbacks(execute=True):
        appoint(actor=world.actor("staff"), role=Role.BUILDING, area_id=building.pk, member_id=neighbour.pk)
    holders = RoleGrant.objects.filter(role=Role.BUILDING, area=building).values_list("user_id", flat=True)
    assert list(holders) == [neighbour.user_id]
    assert "接任" in Notification.objects.get(user=world.users["building_head"]).text
    assert AuditLog.objects.filter(action="role.revoke", detail__reason="replaced").count() == 1

"""The reads of the three lists and matching: what each role sees, grouping, order and reasons, and a
fixed number of queries whatever the size of the lists."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huijia.core.errors import NotFound
from huijia.demands import list_selectors as lists
from huijia.demands.matching import suggest_members
from huijia.demands.models import DemandStatus, NeedStatus, ServiceItemStatus
from huijia.demands.tests.test_lists_fixtures import category, claim, demand, item, need, reporting

# --- the community picker -----------------------------------------------------------------------------


def test_each_role_picks_among_the_communities_they_work_in(world):
    names = {who: [c.name for c in lists.list_communities(actor=world.actor(who))] for who in world.users}
    assert names["staff"] == ["识字岭社区"]
    assert names["estate_secretary"] == ["识字岭社区"]  # the community of their estate
    assert names["building_head"] == ["识字岭社区"]
    assert names["unit_organiser"] == ["识字岭社区"]  # where U1's members report
    assert sorted(names["street_staff"]) == sorted(["识字岭社区", "燕子岭社区"])
    assert len(names["org_dept"]) == 3
    assert names["member"] == names["resident"] == names["outsider"] == []
    with pytest.raises(NotFound):
        lists.list_community(actor=world.actor("staff"), community_id=world.areas["a2"].pk)
    with pytest.raises(NotFound):  # a street is no community
        lists.list_community(actor=world.actor("street_staff"), community_id=world.areas["street_a"].pk)


# --- resources ----------------------------------------------------------------------------------------


@pytest.fixture
def skilled(world):
    """Members of A1 with skills; 李建国 (the world's member, U1) has none."""
    return {
        "plumber": reporting(
            world, "plumber", "张水电", "a1_202", skills=("水电维修",), free_time=("weekend",), user=True
        ),
        "doctor": reporting(
            world,
            "doctor",
            "钱医生",
            "a1_bldg2_101",
            skills=("医疗", "护理"),
            free_time=("weekday_evening", "weekend"),
            resources="可以上门量血压",
        ),
        "lawyer": reporting(world, "lawyer", "孙律师", "a1_102", skills=("法律",), free_time=("holiday",)),
        "far": reporting(world, "far", "赵远", "a2_102", skills=("水电维修",)),
    }


def test_the_resource_list_groups_members_by_skill(world, skilled):
    data = lists.resource_list(actor=world.actor("staff"), community=world.areas["a1"])
    assert data.total == 4  # 李建国 and the three above; 赵远 reports in A2
    assert {g.name: [m.name for m in g.members] for g in data.groups} == {
        "水电维修": ["张水电"],
        "医疗": ["钱医生"],
        "护理": ["钱医生"],
        "法律": ["孙律师"],
    }
    assert [m.name for m in data.no_skill] == ["李建国"]
    assert [m.name for m in data.with_resources] == ["钱医生"]
    assert {c: n for c, _label, n in data.free_time_counts} == {
        "weekday_evening": 1,
        "weekend": 2,
        "holiday": 1,
        "flexible": 0,
    }
    doctor = next(m for m in data.members if m.name == "钱医生")
    assert doctor.place == "识字岭社区幸福小区 5栋"
    assert doctor.free_time_labels == ["工作日晚上", "周末"]
    assert not hasattr(doctor, "phone")


def test_filters_by_skill_and_free_time(world, skilled):
    staff, a1 = world.actor("staff"), world.areas["a1"]
    nursing = next(s for s in lists.resource_list(actor=staff, community=a1).skill_options if s[1] == "护理")
    by_skill = lists.resource_list(actor=staff, community=a1, skill_id=nursing[0])
    assert [m.name for m in by_skill.members] == ["钱医生"]
    assert [g.name for g in by_skill.groups] == ["护理"]
    weekend = lists.resource_list(actor=staff, community=a1, free_time="weekend")
    assert sorted(m.name for m in weekend.members) == ["张水电", "钱医生"]
    assert weekend.total == 4  # the counts above the filters stay whole
    both = lists.resource_list(actor=staff, community=a1, skill_id=nursing[0], free_time="holiday")
    assert both.members == []


def test_each_role_sees_its_part_of_the_resource_list(world, skilled):
    a1 = world.areas["a1"]

    def names(who: str) -> list[str]:
        return sorted(m.name for m in lists.resource_list(actor=world.actor(who), community=a1).members)

    assert names("estate_secretary") == ["孙律师", "张水电", "李建国", "钱医生"]
    assert names("building_head") == ["孙律师", "张水电", "李建国"]  # building 3 only
    assert names("unit_organiser") == ["李建国"]  # their own unit's member


def test_the_resource_list_takes_two_queries_however_many_members(world, skilled):
    for i in range(15):
        reporting(world, f"extra{i}", f"党员{i:02d}", "a1_201", skills=("医疗", f"专长{i}"))
    secretary, a1 = world.actor("estate_secretary"), world.areas["a1"]
    with CaptureQueriesContext(connection) as queries:
        data = lists.resource_list(actor=secretary, community=a1)
    assert data.total == 19
    assert len(queries) == 2, [q["sql"] for q in queries]


# --- matching -----------------------------------------------------------------------------------------


@pytest.fixture
def plumbers(world):
    """Plumbers of A1 in building 3 (near, busy, light duty) and building 5, and one of A2."""
    return {
        "near": reporting(world, "near", "甲", "a1_202", skills=("水电维修",), free_time=("weekend",)),
        "estate": reporting(world, "estate", "乙", "a1_bldg2_101", skills=("家电水电维修",)),
        "busy": reporting(world, "busy", "丙", "a1_102", skills=("水电维修",)),
        "light": reporting(world, "light", "丁", "a1_201", skills=("水电维修", "医疗"), light_duty=True),
        "doctor": reporting(world, "doctor", "戊", "a1_201", skills=("医疗",)),
        "far": reporting(world, "far", "己", "a2_101", skills=("水电维修",)),
    }


def give_tasks(world, member, n: int) -> None:
    for _ in range(n):
        demand(world, status=DemandStatus.ASSIGNED, assignee_kind="member", assigned_member=member)


def test_matching_proposes_skilled_neighbours_who_are_free_first(world, plumbers):
    give_tasks(world, plumbers["busy"], 3)
    found = suggest_members(world.areas["a1"].pk, category("drain"), world.areas["a1_bldg"])
    assert [s.name for s in found] == ["甲", "乙", "丁", "丙"]  # 戊 (医疗) and 己 (A2) are not proposed
    assert [s.reason for s in found] == [
        "专长：水电维修 · 同楼栋 · 当前无任务",
        "专长：家电水电维修 · 同小区 · 当前无任务",
        "专长：水电维修 · 同楼栋 · 当前无任务 · 少安排任务",  # only the matching skill is named
        "专长：水电维修 · 同楼栋 · 当前3项任务",
    ]
    assert found[0].free_time == ("周末",)


def test_the_load_counts_open_tasks_and_active_claims_only(world, plumbers):
    near = plumbers["near"]
    give_tasks(world, near, 1)
    demand(world, status=DemandStatus.RESOLVED, assignee_kind="member", assigned_member=near)
    claim(item(world), member=near)
    claim(item(world, status=ServiceItemStatus.DONE), member=near)
    gone = claim(item(world), member=near)
    gone.withdrawn_at = gone.claimed_at
    gone.save()
    found = {s.name: s for s in suggest_members(world.areas["a1"].pk, category("drain"))}
    assert found["甲"].load == 2
    assert found["甲"].reason == "专长：水电维修 · 同社区 · 当前2项任务"  # no place given: the community


def test_without_skill_words_anyone_nearby_is_proposed(world, plumbers):
    road = category("road")
    assert road.skill_words == ""
    found = suggest_members(world.areas["a1"].pk, road, world.areas["a1_estate"], limit=3)
    assert len(found) == 3
    assert all(s.nearness == 1 and not s.light_duty for s in found)
    assert found[0].reason == "同小区 · 当前无任务"
    assert suggest_members(world.areas["b1"].pk, category("drain")) == []


def test_matching_takes_two_queries_however_many_candidates(world, plumbers):
    for i in range(12):
        m = reporting(world, f"p{i}", f"水电工{i:02d}", "a1_202", skills=("水电维修",))
        give_tasks(world, m, i % 3)
    drain = category("drain")
    with CaptureQueriesContext(connection) as queries:
        found = suggest_members(world.areas["a1"].pk, drain, world.areas["a1_bldg"], limit=50)
    assert len(found) == 16
    assert len(queries) == 2, [q["sql"] for q in queries]


def test_need_matches_are_scoped_to_who_may_see_the_need(world, plumbers):
    n = need(world, "a1_bldg")
    need_, found = lists.need_matches(actor=world.actor("estate_secretary"), need_id=n.pk)
    assert need_ == n
    assert [s.name for s in found] == ["丙", "甲", "乙", "丁"]  # same building first, then by name
    with pytest.raises(NotFound):
        lists.need_matches(actor=world.actor("other_staff"), need_id=n.pk)
    with pytest.raises(NotFound):
        lists.need_matches(actor=world.actor("member"), need_id=n.pk)


# --- needs --------------------------------------------------------------------------------------------


def test_open_demands_of_a_category_and_estate_are_proposed_as_a_common_need(world):
    drains = [demand(world), demand(world, "a1_bldg2"), demand(world, household="a1_101")]
    demand(world, status=DemandStatus.RESOLVED)  # done: not proposed
    listed = demand(world)
    need(world).demands.add(listed)  # on the list already
    lonely = demand(world, household="a1_201", code="elderly", text="独居老人需要助餐")
    demand(world, "a2_bldg")  # another community
    common, singles = lists.need_proposals(actor=world.actor("staff"), community=world.areas["a1"])
    assert [(p.estate, p.category, p.count) for p in common] == [("识字岭社区幸福小区", "下水道堵塞", 3)]
    assert sorted(d.pk for d in common[0].demands) == sorted(d.pk for d in drains)
    assert [d.pk for d in singles] == [lonely.pk]  # one household's demand, outside the groups


def test_the_need_list_counts_demands_and_items(world):
    n = need(world)
    n.demands.add(demand(world), demand(world))
    item(world).needs.add(n)
    need(world, "a1_bldg", title="照明", status=NeedStatus.MET)
    need(world, "a2_estate", title="别处的需求")
    rows = list(lists.needs_for(actor=world.actor("staff"), community_id=world.areas["a1"].pk, active=True))
    assert [(r.title, r.demand_count, r.item_count) for r in rows] == [("下水道疏通", 2, 1)]
    assert lists.needs_for(actor=world.actor("building_head")).count() == 1  # the building's need only
    assert lists.needs_for(actor=world.actor("member")).count() == 0


# --- service items -------------------------------------------------------------------------------------


def test_who_sees_which_service_items(world):
    a1, a2, b1 = item(world, "a1"), item(world, "a2"), item(world, "b1")

    def seen(who: str) -> set[int]:
        return set(lists.services_for(actor=world.actor(who)).values_list("pk", flat=True))

    assert seen("staff") == {a1.pk}
    assert seen("member") == {a1.pk}  # their community's list, to claim from
    assert seen("other_member") == {a2.pk}
    assert seen("unit_organiser") == {a1.pk}  # where U1's members report
    assert seen("street_staff") == {a1.pk, a2.pk}
    assert seen("estate_secretary") == seen("resident") == seen("outsider") == set()
    assert b1.pk in seen("org_dept")


def test_the_service_list_shows_active_claims_in_a_fixed_number_of_queries(world):
    items = [item(world, title=f"服务{i}", places_=5) for i in range(6)]
    for i, it in enumerate(items):
        for j in range(i % 3):
            claim(it, member=reporting(world, f"c{i}{j}", f"认领人{i}{j}", "a1_202"))
        it.needs.add(need(world, title=f"需求{i}"))
    gone = claim(items[0], team=world.teams["a1_team"])
    gone.withdrawn_at = gone.claimed_at
    gone.save()
    unit, a1 = world.actor("unit_organiser"), world.areas["a1"].pk
    with CaptureQueriesContext(connection) as queries:
        rows = list(lists.services_for(actor=unit, community_id=a1))
        shown = [(r.title, r.taken, len(r.active_claims), [n.title for n in r.need_rows]) for r in rows]
    assert len(queries) == 3, [q["sql"] for q in queries]
    assert shown[-1] == ("服务0", 0, 0, ["需求0"])  # the withdrawn team claim is not counted
    assert shown[0] == ("服务5", 2, 2, ["需求5"])


def test_a_members_phone_list(world):
    open_, full, done = item(world, places_=2), item(world, places_=1, title="满了"), item(world)
    mine = claim(open_, member=world.members["member"])
    team_claim = claim(full, team=world.teams["a1_team"])
    claim(done, member=world.members["member"])
    done.status = ServiceItemStatus.DONE
    done.save()
    item(world, "a2", title="别的社区")
    me = world.actor("member")
    with CaptureQueriesContext(connection) as queries:
        data = lists.my_services(actor=me)
    assert len(queries) == 4
    assert [t.name for t in data.teams] == ["3栋第1组"]  # they lead it
    by_title = {i.title: i for i in data.items}
    assert set(by_title) == {"上门疏通下水道", "满了"}
    assert by_title["上门疏通下水道"].my_claim == mine.pk
    assert by_title["满了"].team_claim == team_claim.pk
    assert [i.pk for i in data.done] == [done.pk]
    nobody = lists.my_services(actor=world.actor("staff"))
    assert (nobody.member, nobody.items) == (None, [])

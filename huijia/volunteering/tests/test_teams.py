"""Service teams (服务队): staff set up a team, add members reporting in the community, appoint leaders,
dissolve it; the team's page shows members, areas, activities and its record per year; a member sees
their teams on the phone. Services, screens and the API; bad input gives a clear error and stores
nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import make_member, register
from huijia.volunteering import team_selectors as selectors
from huijia.volunteering.models import ActivityStatus, OrganiserKind, ServiceTeam, ServiceTeamMember
from huijia.volunteering.teams import (
    TeamInput,
    add_team_member,
    create_team,
    dissolve_team,
    remove_team_member,
    set_team_leader,
    split_areas,
    update_team,
)
from huijia.volunteering.testing import make_activity, record

NINE = (
    "课业辅导",
    "心理疏导",
    "家庭教育",
    "法律咨询",
    "科普讲座",
    "书法培训",
    "英语角",
    "体育健身",
    "暑期托管",
)


@pytest.fixture
def crew(world):
    """A second member reporting in A1 (张老师) and one of A1 with no account (刘老师)."""
    make_member(world, "teacher", name="张老师", serial=11, unit="u1")
    register(world, "teacher", "a1", "a1_202")
    make_member(world, "no_account", name="刘老师", serial=12, unit=None, user=False)
    register(world, "no_account", "a1", "a1_bldg2_101")
    return world


def new_team(w, name="教师志愿服务队", areas=NINE, who="staff", community="a1") -> ServiceTeam:
    data = TeamInput(name=name, description="区教育局在本社区报到的老师", service_areas=tuple(areas))
    return create_team(actor=w.actor(who), community_id=w.areas[community].pk, data=data)


def stored() -> tuple:
    return (
        tuple(ServiceTeam.objects.order_by("pk").values_list("pk", "name", "ended_at", "service_areas")),
        tuple(ServiceTeamMember.objects.order_by("pk").values_list("pk", "is_leader", "ended_at")),
        AuditLog.objects.count(),
    )


def inbox(w, who) -> list[str]:
    return list(Notification.objects.filter(user=w.users[who]).order_by("pk").values_list("text", flat=True))


# --- services -------------------------------------------------------------------------------------------


def test_staff_create_a_team_with_nine_service_areas(world):
    team = new_team(world)
    assert (team.community, team.name, team.service_areas) == (
        world.areas["a1"],
        "教师志愿服务队",
        list(NINE),
    )
    assert team.created_by == world.users["staff"]
    assert AuditLog.objects.filter(action="service_team.create", target_id=str(team.pk)).exists()


def test_service_areas_typed_in_one_box_are_split_and_deduplicated(world):
    assert split_areas("课业辅导、心理疏导\n法律咨询，课业辅导; 义诊") == (
        "课业辅导",
        "心理疏导",
        "法律咨询",
        "课业辅导",
        "义诊",
    )
    team = new_team(world, areas=split_areas("义诊、义诊、 量血压 "))
    assert team.service_areas == ["义诊", "量血压"]


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        (TeamInput(name="  "), "name", "name_empty"),
        (TeamInput(name="队" * 65), "name", "name_too_long"),
        (TeamInput(name="医疗队", description="长" * 1001), "description", "description_too_long"),
        (
            TeamInput(name="医疗队", service_areas=tuple(f"领域{i}" for i in range(13))),
            "service_areas",
            "too_many_areas",
        ),
        (
            TeamInput(name="医疗队", service_areas=("这是一个非常非常非常非常长的服务领域名称",)),
            "service_areas",
            "area_too_long",
        ),
    ],
)
def test_bad_team_input_is_refused_with_a_clear_error(world, data, field, code):
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        create_team(actor=world.actor("staff"), community_id=world.areas["a1"].pk, data=data)
    assert (refused.value.code, list(refused.value.fields)) == (code, [field])
    assert stored() == before


def test_a_name_is_unique_among_the_communitys_current_teams(world):
    first = new_team(world)
    with pytest.raises(InvalidInput) as taken:
        new_team(world)
    assert taken.value.code == "name_taken"
    assert "同名" in taken.value.message
    new_team(world, who="other_staff", community="a2")  # another community may use the name
    dissolve_team(actor=world.actor("staff"), team_id=first.pk)
    assert new_team(world).pk != first.pk  # once dissolved, the name is free again


@pytest.mark.parametrize(
    ("who", "community", "error"),
    [
        ("other_staff", "a1", NotFound),  # another community's staff
        ("estate_secretary", "a1", NotFound),  # an estate's grant does not reach the community
        ("street_staff", "a1", Forbidden),  # sees the community, does not manage its volunteering
        ("org_dept", "a1", Forbidden),
        ("unit_organiser", "a1", NotFound),
        ("member", "a1", NotFound),
        ("staff", "a1_estate", NotFound),  # a team belongs to a community, not an estate
    ],
)
def test_only_the_communitys_staff_create_its_teams(world, who, community, error):
    before = stored()
    with pytest.raises(error):
        new_team(world, who=who, community=community)
    assert stored() == before


def test_members_reporting_in_the_community_join_and_are_told(crew, django_capture_on_commit_callbacks):
    team = new_team(crew)
    with django_capture_on_commit_callbacks(execute=True):
        add_team_member(
            actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members["teacher"].pk, is_leader=True
        )
        add_team_member(actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members["member"].pk)
        add_team_member(actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members["no_account"].pk)
    rows = {m.member.name: m.is_leader for m in ServiceTeamMember.objects.filter(team=team, ended_at=None)}
    assert rows == {"张老师": True, "李建国": False, "刘老师": False}
    assert inbox(crew, "teacher") == ["您已加入服务队“教师志愿服务队”，担任队长"]
    assert inbox(crew, "member") == ["您已加入服务队“教师志愿服务队”"]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        ("other_member", "member_elsewhere"),  # reports in A2
        ("pending_member", "member_elsewhere"),  # registration not approved yet
        ("member", "already_member"),
    ],
)
def test_adding_someone_who_may_not_join_is_refused(world, who, code):
    team = new_team(world)
    add_team_member(actor=world.actor("staff"), team_id=team.pk, member_id=world.members["member"].pk)
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        add_team_member(actor=world.actor("staff"), team_id=team.pk, member_id=world.members[who].pk)
    assert refused.value.code == code
    assert stored() == before


def test_leaders_are_appointed_and_dismissed_and_members_removed(crew, django_capture_on_commit_callbacks):
    staff = crew.actor("staff")
    team = new_team(crew)
    teacher = crew.members["teacher"].pk
    add_team_member(actor=staff, team_id=team.pk, member_id=teacher)
    with django_capture_on_commit_callbacks(execute=True):
        set_team_leader(actor=staff, team_id=team.pk, member_id=teacher, is_leader=True)
    assert ServiceTeamMember.objects.get(team=team, member_id=teacher).is_leader
    assert "担任服务队“教师志愿服务队”的队长" in inbox(crew, "teacher")[-1]
    set_team_leader(actor=staff, team_id=team.pk, member_id=teacher, is_leader=False)
    assert not ServiceTeamMember.objects.get(team=team, member_id=teacher).is_leader
    remove_team_member(actor=staff, team_id=team.pk, member_id=teacher)
    assert ServiceTeamMember.objects.get(team=team, member_id=teacher).ended_at is not None  # kept as history
    with pytest.raises(InvalidInput) as gone:
        remove_team_member(actor=staff, team_id=team.pk, member_id=teacher)
    assert gone.value.code == "not_a_member"
    add_team_member(actor=staff, team_id=team.pk, member_id=teacher)  # may join again
    assert ServiceTeamMember.objects.filter(team=team, member_id=teacher).count() == 2


def test_editing_changes_name_description_and_areas(world):
    team = new_team(world)
    update_team(
        actor=world.actor("staff"),
        team_id=team.pk,
        data=TeamInput(name="教师服务队", description="", service_areas=("课业辅导",)),
    )
    team.refresh_from_db()
    assert (team.name, team.description, team.service_areas) == ("教师服务队", "", ["课业辅导"])
    with pytest.raises(Forbidden):
        update_team(actor=world.actor("street_staff"), team_id=team.pk, data=TeamInput(name="x"))


def test_dissolving_ends_memberships_and_keeps_the_record(world):
    team = new_team(world)
    add_team_member(actor=world.actor("staff"), team_id=team.pk, member_id=world.members["member"].pk)
    past = make_activity(
        world, organiser_kind=OrganiserKind.TEAM, service_team=team, slots=[("社区活动室", -30, 2, 10)]
    )
    record(past.slots.get(), world.members["member"])
    dissolve_team(actor=world.actor("staff"), team_id=team.pk)
    team.refresh_from_db()
    assert team.ended_at is not None
    assert not ServiceTeamMember.objects.filter(team=team, ended_at=None).exists()
    assert selectors.team_record(team=team)[0].services == 1
    with pytest.raises(Conflict) as again:
        add_team_member(actor=world.actor("staff"), team_id=team.pk, member_id=world.members["member"].pk)
    assert again.value.code == "team_dissolved"


def test_a_team_with_an_activity_to_come_is_not_dissolved(world):
    team = new_team(world)
    make_activity(world, organiser_kind=OrganiserKind.TEAM, service_team=team)  # tomorrow
    before = stored()
    with pytest.raises(Conflict) as refused:
        dissolve_team(actor=world.actor("staff"), team_id=team.pk)
    assert refused.value.code == "team_has_activities"
    assert stored() == before


# --- reads ----------------------------------------------------------------------------------------------


def test_the_team_record_counts_per_year_services_hours_and_people_served(world):
    team = new_team(world)
    now = timezone.now()
    held = make_activity(
        world,
        organiser_kind=OrganiserKind.TEAM,
        service_team=team,
        slots=[("社区活动室", -48, 2, 10), ("小学操场", -24, 1.5, 10)],
        people_served=40,
    )
    morning, afternoon = held.slots.order_by("starts_at")
    record(morning, world.members["member"])
    record(afternoon, world.members["member"], hours="1.25")
    record(afternoon, world.members["other_member"], hours=None, checked_in_at=afternoon.starts_at)  # open
    record(morning, world.members["pending_member"], hours="0")  # 0 hours: not a service
    cancelled = make_activity(world, organiser_kind=OrganiserKind.TEAM, service_team=team, people_served=99)
    cancelled.status = ActivityStatus.CANCELLED
    cancelled.save()
    make_activity(world, title="别的活动", people_served=7)  # not the team's
    [year] = selectors.team_record(team=team)
    assert (year.year, year.activities, year.services, year.volunteers) == (now.year, 1, 2, 1)
    assert (year.hours, year.people_served) == (Decimal("3.25"), 40)


def test_a_member_sees_their_teams_on_the_phone(crew, client):
    team = new_team(crew)
    other = new_team(crew, name="医疗义诊队", areas=("义诊",))
    add_team_member(
        actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members["member"].pk, is_leader=True
    )
    add_team_member(actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members["teacher"].pk)
    add_team_member(actor=crew.actor("staff"), team_id=other.pk, member_id=crew.members["teacher"].pk)
    mine = selectors.my_teams(actor=crew.actor("member"))
    assert [(r.team.name, r.is_leader, r.member_count) for r in mine] == [("教师志愿服务队", True, 2)]
    client.force_login(crew.users["member"])
    page = client.get(reverse("volunteering:my_teams")).content.decode()
    assert "教师志愿服务队" in page
    assert "队长" in page
    assert "医疗义诊队" not in page
    detail = client.get(reverse("volunteering:my_team", args=[team.pk])).content.decode()
    assert "张老师" in detail
    assert "课业辅导" in detail
    assert client.get(reverse("volunteering:my_team", args=[other.pk])).status_code == 404


def test_no_teams_page_says_how_to_join(world, client):
    client.force_login(world.users["member"])
    assert "您还没有加入服务队" in client.get(reverse("volunteering:my_teams")).content.decode()


def test_the_phone_team_page_counts_a_few_queries(crew, client, django_assert_max_num_queries):
    team = new_team(crew)
    for key in ("member", "teacher", "no_account"):
        add_team_member(actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members[key].pk)
    for i in range(5):
        make_activity(crew, title=f"活动{i}", organiser_kind=OrganiserKind.TEAM, service_team=team)
    client.force_login(crew.users["member"])
    with django_assert_max_num_queries(12):
        assert client.get(reverse("volunteering:my_team", args=[team.pk])).status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("volunteering:my_teams")).status_code == 200


# --- console screens ------------------------------------------------------------------------------------


def test_staff_create_a_team_on_the_console_and_see_it_listed(world, client):
    client.force_login(world.users["staff"])
    assert client.get(reverse("volunteering:team_new")).status_code == 200
    response = client.post(
        reverse("volunteering:team_new"),
        {"community": world.areas["a1"].pk, "name": "教师志愿服务队", "service_areas": "课业辅导、心理疏导"},
    )
    team = ServiceTeam.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteering:team", args=[team.pk])
    assert team.service_areas == ["课业辅导", "心理疏导"]
    listed = client.get(reverse("volunteering:teams")).content.decode()
    assert "教师志愿服务队" in listed
    assert "心理疏导" in listed


def test_a_bad_new_team_form_says_what_is_wrong_and_stores_nothing(world, client):
    client.force_login(world.users["staff"])
    response = client.post(reverse("volunteering:team_new"), {"community": world.areas["a1"].pk, "name": ""})
    assert response.status_code == 400
    assert "请填写服务队名称" in response.content.decode()
    assert not ServiceTeam.objects.exists()


def test_the_new_team_page_is_refused_to_those_who_do_not_manage_teams(world, client):
    client.force_login(world.users["street_staff"])
    assert client.get(reverse("volunteering:team_new")).status_code == 403
    client.force_login(world.users["member"])
    assert client.get(reverse("volunteering:teams")).status_code == 403  # the console is for staff


def test_staff_manage_members_from_the_team_page(crew, client):
    team = new_team(crew)
    client.force_login(crew.users["staff"])
    url = reverse("volunteering:team", args=[team.pk])
    page = client.get(url).content.decode()
    assert "张老师" in page
    assert "赵敏" not in page
    picks = client.get(reverse("volunteering:team_member_picks", args=[team.pk]), {"member_q": "张"})
    assert "张老师" in picks.content.decode()
    assert "李建国" not in picks.content.decode()
    teacher = crew.members["teacher"].pk
    added = client.post(
        reverse("volunteering:team_member_add", args=[team.pk]), {"member": teacher, "is_leader": "on"}
    )
    assert added.status_code == 302
    assert ServiceTeamMember.objects.get(team=team, member_id=teacher).is_leader
    refused = client.post(reverse("volunteering:team_member_add", args=[team.pk]), {"member": teacher})
    assert refused.status_code == 400
    assert "已经是这支服务队的队员" in refused.content.decode()
    client.post(reverse("volunteering:team_leader", args=[team.pk, teacher]), {"is_leader": "0"})
    assert not ServiceTeamMember.objects.get(team=team, member_id=teacher).is_leader
    client.post(reverse("volunteering:team_member_remove", args=[team.pk, teacher]))
    assert not ServiceTeamMember.objects.filter(team=team, ended_at=None).exists()


def test_editing_and_dissolving_from_the_team_page(world, client):
    team = new_team(world)
    client.force_login(world.users["staff"])
    bad = client.post(reverse("volunteering:team_edit", args=[team.pk]), {"name": "", "service_areas": ""})
    assert bad.status_code == 400
    assert "请填写服务队名称" in bad.content.decode()
    client.post(
        reverse("volunteering:team_edit", args=[team.pk]), {"name": "教师服务队", "service_areas": "义诊"}
    )
    team.refresh_from_db()
    assert (team.name, team.service_areas) == ("教师服务队", ["义诊"])
    make_activity(world, organiser_kind=OrganiserKind.TEAM, service_team=team)
    refused = client.post(reverse("volunteering:team_dissolve", args=[team.pk]), follow=True)
    assert "还有未结束的活动" in refused.content.decode()
    assert ServiceTeam.objects.get(pk=team.pk).ended_at is None


def test_other_communities_teams_are_not_found_on_the_console(world, client):
    team = new_team(world)
    client.force_login(world.users["other_staff"])
    assert client.get(reverse("volunteering:team", args=[team.pk])).status_code == 404
    assert client.post(reverse("volunteering:team_dissolve", args=[team.pk])).status_code == 404
    client.force_login(world.users["street_staff"])  # sees it, manages nothing: no forms
    page = client.get(reverse("volunteering:team", args=[team.pk])).content.decode()
    assert "教师志愿服务队" in page
    assert "添加队员" not in page


def test_the_team_list_and_page_count_a_few_queries(crew, client, django_assert_max_num_queries):
    for i in range(12):
        team = new_team(crew, name=f"服务队{i}")
        for key in ("member", "teacher", "no_account"):
            add_team_member(actor=crew.actor("staff"), team_id=team.pk, member_id=crew.members[key].pk)
        make_activity(crew, title=f"活动{i}", organiser_kind=OrganiserKind.TEAM, service_team=team)
    client.force_login(crew.users["staff"])
    with django_assert_max_num_queries(10):
        assert client.get(reverse("volunteering:teams")).status_code == 200
    with django_assert_max_num_queries(16):
        assert client.get(reverse("volunteering:team", args=[team.pk])).status_code == 200


# --- API ------------------------------------------------------------------------------------------------


def api(client, method, url, body=None):
    call = getattr(client, method)
    return (
        call(f"/api/v1{url}", body, content_type="application/json")
        if body is not None
        else call(f"/api/v1{url}")
    )


def test_the_api_creates_a_team_adds_members_and_reads_it_back(crew, client):
    client.force_login(crew.users["staff"])
    created = api(
        client,
        "post",
        "/volunteer/teams",
        {"community_id": crew.areas["a1"].pk, "name": "教师志愿服务队", "service_areas": list(NINE)},
    )
    assert created.status_code == 201, created.content
    team_id = created.json()["id"]
    added = api(
        client,
        "post",
        f"/volunteer/teams/{team_id}/members",
        {"member_id": crew.members["teacher"].pk, "is_leader": True},
    )
    assert added.status_code == 201
    body = api(client, "get", f"/volunteer/teams/{team_id}").json()
    assert (body["member_count"], body["leaders"], body["service_areas"]) == (1, ["张老师"], list(NINE))
    assert body["members"][0]["work_unit"] == "芙蓉区教育局"
    put = api(client, "put", f"/volunteer/teams/{team_id}", {"name": "教师服务队", "service_areas": ["义诊"]})
    assert put.json()["name"] == "教师服务队"
    led = api(
        client,
        "put",
        f"/volunteer/teams/{team_id}/members/{crew.members['teacher'].pk}/leader",
        {"is_leader": False},
    )
    assert led.json()["leaders"] == []
    removed = api(client, "delete", f"/volunteer/teams/{team_id}/members/{crew.members['teacher'].pk}")
    assert removed.json()["member_count"] == 0
    dissolved = api(client, "post", f"/volunteer/teams/{team_id}/dissolve", {})
    assert dissolved.json()["ended_at"] is not None


def test_api_errors_are_clear_and_store_nothing(world, client):
    client.force_login(world.users["staff"])
    team = new_team(world)
    before = stored()
    empty = api(client, "post", "/volunteer/teams", {"community_id": world.areas["a1"].pk, "name": ""})
    assert (empty.status_code, empty.json()["code"], empty.json()["fields"]) == (
        400,
        "name_empty",
        {"name": ["请填写服务队名称"]},
    )
    elsewhere = api(
        client, "post", f"/volunteer/teams/{team.pk}/members", {"member_id": world.members["other_member"].pk}
    )
    assert (elsewhere.status_code, elsewhere.json()["message"]) == (
        400,
        "只有在本社区报到的党员可以加入服务队",
    )
    assert (
        api(
            client, "post", "/volunteer/teams", {"community_id": world.areas["a2"].pk, "name": "x"}
        ).status_code
        == 404
    )
    assert api(client, "post", "/volunteer/teams", {"name": "x"}).status_code == 422
    assert stored() == before
    client.force_login(world.users["street_staff"])
    refused = api(client, "post", f"/volunteer/teams/{team.pk}/dissolve", {})
    assert (refused.status_code, refused.json()["message"]) == (403, "服务队由社区党委管理")


def test_the_api_lists_teams_in_scope_and_mine(world, client, django_assert_max_num_queries):
    for i in range(8):
        team = new_team(world, name=f"服务队{i}")
        add_team_member(actor=world.actor("staff"), team_id=team.pk, member_id=world.members["member"].pk)
    new_team(world, who="other_staff", community="a2", name="燕子岭服务队")
    client.force_login(world.users["staff"])
    with django_assert_max_num_queries(8):
        listed = api(client, "get", "/volunteer/teams?limit=100").json()
    assert listed["count"] == 8
    assert "燕子岭服务队" not in {t["name"] for t in listed["items"]}
    client.force_login(world.users["member"])
    with django_assert_max_num_queries(8):
        mine = api(client, "get", "/volunteer/teams/mine").json()
    assert len(mine) == 8
    assert mine[0]["team"]["member_count"] == 1
    assert mine[0]["is_leader"] is False
    assert api(client, "get", "/volunteer/teams?limit=100").json()["count"] == 8  # a member: their own teams


def test_openapi_documents_the_team_endpoints(world, client):
    client.force_login(world.users["staff"])
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"/api/v1/volunteer/teams", "/api/v1/volunteer/teams/{team_id}/members"} <= set(paths)
    assert "409" in paths["/api/v1/volunteer/teams/{team_id}/dissolve"]["post"]["responses"]


def test_a_past_team_activity_does_not_block_dissolving(world):
    team = new_team(world)
    activity = make_activity(
        world, organiser_kind=OrganiserKind.TEAM, service_team=team, slots=[("活动室", -5, 2, 5)]
    )
    assert activity.ends_at < timezone.now() + timedelta(minutes=1)
    dissolve_team(actor=world.actor("staff"), team_id=team.pk)

"""The team screens: the console (teams in force, history, appointments, a plan building by building,
its adjustments and its commit) and the member's own team page; bad input, scope and query counts."""

import pytest
from django.urls import reverse

from huijia.accounts.models import Notification, RoleGrant
from huijia.accounts.roles import Role
from huijia.members.models import Team, TeamMembership, TeamPlan
from huijia.members.team_services import commit_plan, propose_teams
from huijia.members.tests.test_teams_services import add_neighbours

pytestmark = pytest.mark.django_db


def signed_in(client, world, name):
    client.force_login(world.users[name])
    return client


def html(response) -> str:
    return response.content.decode()


def teams_url(world, view: str = "") -> str:
    url = reverse("members:teams") + f"?community={world.areas['a1'].pk}"
    return url + (f"&view={view}" if view else "")


def a_plan(world, **kwargs) -> TeamPlan:
    return propose_teams(actor=world.actor("staff"), community_id=world.areas["a1"].pk, **kwargs)


# --- teams of a community -------------------------------------------------------------------------


def test_teams_page_shows_teams_in_force_and_the_proposal_form(client, world):
    page = html(signed_in(client, world, "staff").get(teams_url(world)))
    assert "3栋第1组" in page
    assert "3栋 1–2层" in page
    assert "李建国" in page
    assert reverse("members:team_propose") in page
    assert 'name="team_size"' in page


def test_street_staff_see_teams_but_cannot_propose(client, world):
    page = html(signed_in(client, world, "street_staff").get(teams_url(world)))
    assert "3栋第1组" in page
    assert reverse("members:team_propose") not in page


def test_console_pages_are_for_staff_and_their_communities(client, world):
    assert signed_in(client, world, "member").get(reverse("members:teams")).status_code == 403
    other = signed_in(client, world, "other_staff")
    assert other.get(teams_url(world)).status_code == 404
    page = html(other.get(reverse("members:teams")))
    assert "燕子岭社区" in page
    assert "3栋第1组" not in page


def test_anonymous_is_sent_to_sign_in(client, world):
    response = client.get(reverse("members:teams"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_teams_page_runs_the_same_queries_for_few_and_many_teams(
    client, world, django_assert_max_num_queries
):
    staff = signed_in(client, world, "staff")
    staff.get(teams_url(world))
    counts = []
    for extra in (0, 15):
        for i in range(extra):
            team = Team.objects.create(
                community=world.areas["a1"],
                estate=world.areas["a1_estate"],
                building=world.areas["a1_bldg"],
                name=f"小组{i}",
            )
            TeamMembership.objects.create(team=team, member=add_neighbours(world, 1, start_serial=500 + i)[0])
        with django_assert_max_num_queries(12) as captured:
            page = html(staff.get(teams_url(world)))
        assert page.count('id="team-') == 1 + extra
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_history_lists_ended_teams(client, world, django_assert_max_num_queries):
    commit_plan(actor=world.actor("staff"), plan_id=a_plan(world).pk, version=1)
    staff = signed_in(client, world, "staff")
    with django_assert_max_num_queries(12):
        page = html(staff.get(teams_url(world, "history")))
    assert f'id="team-{world.teams["a1_team"].pk}"' in page
    assert "3栋 1–2层" in page


def test_appointments_tab_and_appointing(client, world, django_capture_on_commit_callbacks):
    staff = signed_in(client, world, "staff")
    page = html(staff.get(teams_url(world, "appointments")))
    assert "楼栋长" in page
    assert f'<option value="{world.members["member"].pk}">李建国</option>' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("members:team_appoint"),
            {
                "community": world.areas["a1"].pk,
                "role": "building",
                "area": world.areas["a1_bldg"].pk,
                "member": world.members["member"].pk,
            },
            follow=True,
        )
    assert "已任命李建国为3栋楼栋长" in html(response)
    assert RoleGrant.objects.filter(user=world.users["member"], role=Role.BUILDING).exists()


def test_appointing_someone_living_elsewhere_is_refused(client, world):
    before = RoleGrant.objects.count()
    response = signed_in(client, world, "staff").post(
        reverse("members:team_appoint"),
        {
            "community": world.areas["a1"].pk,
            "role": "building",
            "area": world.areas["a1_bldg2"].pk,
            "member": world.members["member"].pk,
        },
        follow=True,
    )
    assert "只能任命住在本楼栋" in html(response)
    assert RoleGrant.objects.count() == before


# --- a plan ---------------------------------------------------------------------------------------


def test_propose_then_see_the_plan_building_by_building(client, world):
    add_neighbours(world, 5)
    staff = signed_in(client, world, "staff")
    response = staff.post(
        reverse("members:team_propose"), {"community": world.areas["a1"].pk, "team_size": 3}
    )
    plan = TeamPlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("members:team_plan", args=[plan.pk])
    page = html(staff.get(response["Location"]))
    assert "3栋第1组" in page
    assert "3栋第2组" in page
    assert "5栋没有党员居住" in page
    assert "确认方案，正式生效" in page
    assert "139****0001" in page  # phones masked
    assert "13900000001" not in page


@pytest.mark.parametrize("size", ["0", "abc", ""])
def test_bad_team_size_stores_nothing(client, world, size):
    response = signed_in(client, world, "staff").post(
        reverse("members:team_propose"), {"community": world.areas["a1"].pk, "team_size": size}, follow=True
    )
    assert "每组人数" in html(response)
    assert not TeamPlan.objects.exists()


def test_plan_page_runs_the_same_queries_for_small_and_large_plans(
    client, world, django_assert_max_num_queries
):
    staff = signed_in(client, world, "staff")
    counts = []
    for extra in (0, 12):
        add_neighbours(world, extra, start_serial=600)
        plan = a_plan(world)
        url = reverse("members:team_plan", args=[plan.pk])
        staff.get(url)
        with django_assert_max_num_queries(12) as captured:
            assert staff.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_move_a_member_then_a_stale_form_is_refused(client, world):
    neighbours = add_neighbours(world, 5)
    plan = a_plan(world)
    staff = signed_in(client, world, "staff")
    url = reverse("members:team_plan_change", args=[plan.pk])
    moving = neighbours[0].pk
    body = {"version": 1, "kind": "move_member", "member": moving, "to_team": "new"}
    page = html(staff.post(url, body, follow=True))
    assert "已调整" in page
    assert "新小组3" in page
    page = html(staff.post(url, {**body, "to_team": 1}, follow=True))
    assert "刚被其他人修改过" in page
    plan.refresh_from_db()
    assert plan.data["version"] == 2


def test_move_households_by_ticking_them(client, world):
    add_neighbours(world, 5)
    plan = a_plan(world)
    low, high = plan.data["teams"]
    staff = signed_in(client, world, "staff")
    body = {
        "version": 1,
        "kind": "move_households",
        "households": high["household_ids"][:2],
        "to_team": low["key"],
    }
    staff.post(reverse("members:team_plan_change", args=[plan.pk]), body)
    plan.refresh_from_db()
    assert set(high["household_ids"][:2]) <= set(plan.data["teams"][0]["household_ids"])
    response = staff.post(
        reverse("members:team_plan_change", args=[plan.pk]),
        {"version": 2, "kind": "move_households", "households": ["x"], "to_team": low["key"]},
        follow=True,
    )
    assert "所选住户不正确" in html(response)


def test_commit_from_the_screen(client, world, django_capture_on_commit_callbacks):
    plan = a_plan(world)
    staff = signed_in(client, world, "staff")
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            reverse("members:team_plan_commit", args=[plan.pk]), {"version": 1}, follow=True
        )
    assert "方案已生效：1个小组" in html(response)
    assert Team.objects.filter(ended_at=None).count() == 1
    assert Notification.objects.filter(user=world.users["member"]).exists()
    page = html(staff.get(reverse("members:team_plan", args=[plan.pk])))
    assert "已确认生效" in page
    assert "确认方案，正式生效" not in page


def test_other_communities_plans_are_not_found(client, world):
    plan = a_plan(world)
    other = signed_in(client, world, "other_staff")
    assert other.get(reverse("members:team_plan", args=[plan.pk])).status_code == 404
    body = {"version": 1, "kind": "move_member", "member": world.members["member"].pk, "to_team": "new"}
    assert other.post(reverse("members:team_plan_change", args=[plan.pk]), body).status_code == 404
    assert other.post(reverse("members:team_plan_commit", args=[plan.pk]), {"version": 1}).status_code == 404
    plan.refresh_from_db()
    assert plan.data["version"] == 1
    assert plan.committed_at is None


# --- the member's own team ------------------------------------------------------------------------


def test_my_team_page(client, world, django_assert_max_num_queries):
    add_neighbours(world, 2)
    commit_plan(actor=world.actor("staff"), plan_id=a_plan(world).pk, version=1)
    member = signed_in(client, world, "member")
    member.get(reverse("members:my_team"))
    with django_assert_max_num_queries(10):
        page = html(member.get(reverse("members:my_team")))
    assert "3栋第1组" in page
    assert "邻居0" in page
    assert "139****0100" in page  # a teammate's phone, masked
    assert "13900000100" not in page
    assert "包干住户" in page
    assert "我联系的邻居" in page
    assert "还没有走访记录" in page
    assert reverse("visits:household", args=[world.households["a1_101"].pk]) in page


def test_my_team_page_without_a_team_or_a_profile(client, world):
    page = html(signed_in(client, world, "pending_member").get(reverse("members:my_team")))
    assert "还没有编入包干小组" in page
    page = html(signed_in(client, world, "outsider").get(reverse("members:my_team")))
    assert "您还没有报到" in page


def test_member_home_links_to_my_team_and_service_pages(client, world):
    page = html(signed_in(client, world, "member").get(reverse("members:home")))
    for name in ("members:my_team", "visits:mine", "campaigns:mine", "care:mine"):
        assert reverse(name) in page


def test_a_plan_overtaken_by_a_newer_commit_is_marked_and_offers_no_forms(client, world):
    older = a_plan(world)
    commit_plan(actor=world.actor("staff"), plan_id=a_plan(world).pk, version=1)
    staff = signed_in(client, world, "staff")
    assert "已过期：之后有新方案生效" in html(staff.get(teams_url(world)))
    page = html(staff.get(reverse("members:team_plan", args=[older.pk])))
    assert "不能再确认" in page
    assert reverse("members:team_plan_change", args=[older.pk]) not in page
    assert "确认方案，正式生效" not in page

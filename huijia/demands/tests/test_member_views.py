"""The member's phone screens of demands as members use them: the demands assigned to them or their
team, one demand with start, note and resolve (photos optional), and the opinion-collection post
(社情民意收集岗) where a member takes down a resident's demand. Right members reach them, others are
refused, bad input is said plainly with nothing stored, stale forms get a conflict."""

import re
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from huijia.accounts.scope import ANONYMOUS
from huijia.demands import services
from huijia.demands.models import (
    AssigneeKind,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandSource,
    DemandStatus,
    EventKind,
)

SCRIPT = '<script>alert("x")</script>'
DRAIN = "3栋楼道的下水道堵了，污水冒出来两天了"


def png(colour=(30, 160, 60)) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return SimpleUploadedFile("done.png", buffer.getvalue(), content_type="image/png")


def browser(world, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    return client


def filed(world, text: str = DRAIN, where: str = "a1_bldg") -> Demand:
    data = services.DemandInput(description=text, area_id=world.areas[where].pk)
    return services.submit_demand(actor=ANONYMOUS, data=data)


def assigned(world, text: str = DRAIN, kind=AssigneeKind.MEMBER, where: str = "a1_bldg") -> Demand:
    demand = filed(world, text, where)
    target = {
        AssigneeKind.MEMBER: world.members["member"].pk,
        AssigneeKind.TEAM: world.teams["a1_team"].pk,
        AssigneeKind.BRANCH: world.areas["a1_estate"].pk,
    }[kind]
    staff = "staff" if where.startswith("a1") else "other_staff"
    if where.startswith("a2"):
        target = world.members["other_member"].pk
    return services.assign_demand(actor=world.actor(staff), demand_id=demand.pk, kind=kind, target_id=target)


def detail_url(demand: Demand) -> str:
    return reverse("demands:mine_detail", args=[demand.pk])


def step_url(demand: Demand, step: str) -> str:
    return reverse("demands:mine_act", args=[demand.pk, step])


def fresh(demand: Demand) -> Demand:
    return Demand.objects.get(pk=demand.pk)


# --- my list ------------------------------------------------------------------------------------------


def test_a_member_sees_what_is_assigned_to_them_and_their_team(world):
    mine = assigned(world)
    team = assigned(world, "5栋楼道灯不亮", AssigneeKind.TEAM)
    branch = assigned(world, "垃圾没人清运", AssigneeKind.BRANCH)
    unassigned = filed(world, "楼下广场舞太吵")
    elsewhere = assigned(world, "燕子岭的下水道", where="a2_bldg")
    html = browser(world, "member").get(reverse("demands:mine_list")).content.decode()
    for shown in (mine, team):
        assert detail_url(shown) in html
    for hidden in (branch, unassigned, elsewhere):
        assert detail_url(hidden) not in html
    other = browser(world, "other_member").get(reverse("demands:mine_list")).content.decode()
    assert detail_url(elsewhere) in other
    assert detail_url(mine) not in other


def test_done_demands_show_under_all(world):
    demand = assigned(world)
    services.resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已疏通")
    client = browser(world, "member")
    assert detail_url(demand) not in client.get(reverse("demands:mine_list")).content.decode()
    assert "现在没有待办的诉求" in client.get(reverse("demands:mine_list")).content.decode()
    assert detail_url(demand) in client.get(reverse("demands:mine_list") + "?show=all").content.decode()


def test_the_list_is_for_members_and_says_so_to_others(world):
    assert "请先到社区报到" in browser(world, "resident").get(reverse("demands:mine_list")).content.decode()
    assert browser(world, "anonymous").get(reverse("demands:mine_list")).status_code == 302


def test_the_list_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    assigned(world)
    client = browser(world, "member")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("demands:mine_list"))
    page_queries = len(one)
    for i in range(8):
        assigned(world, f"5栋楼道灯不亮{i}", AssigneeKind.TEAM if i % 2 else AssigneeKind.MEMBER)
    with django_assert_max_num_queries(page_queries):
        html = client.get(reverse("demands:mine_list")).content.decode()
    assert len(re.findall(r'href="/m/demands/\d+/"', html)) == 9


# --- one demand -----------------------------------------------------------------------------------------


def test_a_member_starts_notes_and_resolves_without_a_photo(world):
    demand = assigned(world)
    client = browser(world, "member")
    html = client.get(detail_url(demand)).content.decode()
    assert DRAIN in html
    assert step_url(demand, "start") in html
    assert client.post(step_url(demand, "start"), {"version": demand.version}).status_code == 302
    demand = fresh(demand)
    assert demand.status == DemandStatus.IN_PROGRESS
    assert step_url(demand, "start") not in client.get(detail_url(demand)).content.decode()
    client.post(step_url(demand, "note"), {"text": "约好周六上门"})
    assert DemandEvent.objects.filter(demand=demand, kind=EventKind.NOTE, text="约好周六上门").exists()
    response = client.post(step_url(demand, "resolve"), {"version": demand.version, "resolution": "已疏通"})
    assert response.status_code == 302
    demand = fresh(demand)
    assert (demand.status, demand.resolution) == (DemandStatus.RESOLVED, "已疏通")
    assert not DemandPhoto.objects.exists()


def test_a_team_member_resolves_with_a_photo(world, media):
    demand = assigned(world, kind=AssigneeKind.TEAM)
    client = browser(world, "member")
    response = client.post(
        step_url(demand, "resolve"), {"version": demand.version, "resolution": "已疏通", "photos": png()}
    )
    assert response.status_code == 302
    photo = DemandPhoto.objects.get(demand=demand)
    assert photo.stage == "resolution"
    assert (
        reverse("demands:demand_photo", args=[demand.pk, photo.pk])
        in client.get(detail_url(demand)).content.decode()
    )
    assert client.get(reverse("demands:demand_photo", args=[demand.pk, photo.pk])).status_code == 200
    assert (
        browser(world, "other_member")
        .get(reverse("demands:demand_photo", args=[demand.pk, photo.pk]))
        .status_code
        == 404
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"resolution": ""}, "请写明办理结果"),
        ({"resolution": "长" * 2001}, "办理结果不超过2000个字"),
        ({"resolution": "已疏通", "photos": "not-a-file"}, None),
    ],
)
def test_a_bad_resolution_says_what_is_wrong_and_changes_nothing(world, form, message):
    demand = assigned(world)
    response = browser(world, "member").post(step_url(demand, "resolve"), {"version": demand.version, **form})
    if message is None:  # a text value where a file goes is ignored: photos are optional
        assert response.status_code == 302
        return
    assert response.status_code == 400
    assert message in response.content.decode()
    assert fresh(demand).status == DemandStatus.ASSIGNED


def test_a_file_that_is_not_a_photo_is_refused(world, media):
    demand = assigned(world)
    junk = SimpleUploadedFile("done.png", b"%PDF-1.4 not a picture", content_type="image/png")
    response = browser(world, "member").post(
        step_url(demand, "resolve"), {"version": demand.version, "resolution": "已疏通", "photos": junk}
    )
    assert response.status_code == 400
    assert "只能上传照片" in response.content.decode()
    assert fresh(demand).status == DemandStatus.ASSIGNED
    assert not DemandPhoto.objects.exists()


def test_a_stale_form_gets_a_conflict(world):
    demand = assigned(world)
    shown = demand.version
    services.assign_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        kind=AssigneeKind.TEAM,
        target_id=world.teams["a1_team"].pk,
        reassign=True,
    )
    response = browser(world, "member").post(
        step_url(demand, "resolve"), {"version": shown, "resolution": "已疏通"}
    )
    assert response.status_code == 409
    assert "这条诉求刚刚已被他人处理，请刷新后查看最新状态" in response.content.decode()
    assert fresh(demand).status == DemandStatus.ASSIGNED


def test_others_cannot_reach_or_work_on_the_demand(world):
    demand = assigned(world)
    for who in ("other_member", "resident", "outsider"):
        assert browser(world, who).get(detail_url(demand)).status_code == 404, who
        assert (
            browser(world, who).post(step_url(demand, "start"), {"version": demand.version}).status_code
            == 404
        )
    assert (
        browser(world, "member").post(step_url(demand, "accept"), {"version": demand.version}).status_code
        == 404
    )
    assert fresh(demand).status == DemandStatus.ASSIGNED


def test_a_member_who_collected_a_demand_follows_it_without_working_on_it(world):
    client = browser(world, "member")
    client.post(reverse("demands:member_post"), post_form(world))
    demand = Demand.objects.get()
    html = client.get(detail_url(demand)).content.decode()
    assert "待受理" in html
    for step in ("start", "resolve", "note"):
        assert step_url(demand, step) not in html
    response = client.post(step_url(demand, "resolve"), {"version": demand.version, "resolution": "x"})
    assert response.status_code == 403
    assert "这条诉求没有派给您" in response.content.decode()


def test_what_residents_typed_is_shown_escaped(world):
    demand = assigned(world, SCRIPT + "下水道堵了")
    html = browser(world, "member").get(detail_url(demand)).content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html


# --- the opinion-collection post (社情民意收集岗) --------------------------------------------------------


def post_form(world, **fields) -> dict:
    form = {
        "estate": world.areas["a1_estate"].pk,
        "building": world.areas["a1_bldg2"].pk,
        "household": world.households["a1_bldg2_101"].pk,
        "description": "5栋101的王大爷说楼道灯坏了一个星期",
        "category": "",
        "reporter_name": "王大爷",
        "reporter_phone": "",
    }
    return {**form, **fields}


def test_a_member_takes_down_a_residents_demand_at_the_post(world):
    client = browser(world, "member")
    page = client.get(reverse("demands:member_post")).content.decode()
    assert "识字岭社区" in page
    assert "识字岭社区幸福小区" in page
    assert "燕子岭" not in page
    rooms = client.get(
        reverse("demands:member_post")
        + f"?estate={world.areas['a1_estate'].pk}&building={world.areas['a1_bldg2'].pk}"
    ).content.decode()
    assert "101室" in rooms
    response = client.post(reverse("demands:member_post"), post_form(world), follow=True)
    demand = Demand.objects.get()
    assert demand.tracking_code in response.content.decode()
    assert (demand.source, demand.member_id, demand.area_id, demand.household_id) == (
        DemandSource.POST,
        world.members["member"].pk,
        world.areas["a1_bldg2"].pk,
        world.households["a1_bldg2_101"].pk,
    )
    assert demand.category.code == "streetlight"
    assert demand.reporter_name == "王大爷"


def test_a_demand_for_the_whole_community(world):
    client = browser(world, "member")
    client.post(reverse("demands:member_post"), post_form(world, estate="", building="", household=""))
    demand = Demand.objects.get()
    assert demand.area_id == world.areas["a1_estate"].pk  # the community's lone estate is implied


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": " "}, "请填写诉求内容"),
        ({"description": "灯" * 100_000}, "诉求内容不超过2000个字"),
        ({"reporter_phone": "110"}, "联系电话请填写11位手机号"),
        ({"category": "nonsense"}, "选择"),
        ({"building": "999999"}, "所选楼栋不在这个小区"),
        ({"household": "999999"}, "所选住户不在这栋楼"),
    ],
)
def test_bad_input_at_the_post_says_what_is_wrong_and_stores_nothing(world, fields, message):
    response = browser(world, "member").post(reverse("demands:member_post"), post_form(world, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Demand.objects.exists()


def test_a_place_in_another_community_is_refused(world):
    form = post_form(
        world,
        estate=world.areas["a2_estate"].pk,
        building=world.areas["a2_bldg"].pk,
        household=world.households["a2_101"].pk,
    )
    response = browser(world, "member").post(reverse("demands:member_post"), form)
    assert response.status_code == 400
    assert "所选小区不在您负责的范围" in response.content.decode()
    assert not Demand.objects.exists()


def test_html_at_the_post_is_kept_as_text(world):
    browser(world, "member").post(
        reverse("demands:member_post"), post_form(world, description=SCRIPT + "灯坏了")
    )
    assert Demand.objects.get().description == SCRIPT + "灯坏了"


@pytest.mark.parametrize("who", ["pending_member", "resident", "outsider"])
def test_the_post_is_for_members_who_have_reported_in(world, who):
    response = browser(world, who).get(reverse("demands:member_post"))
    assert response.status_code == 403
    assert "报到后才能收集" in response.content.decode()
    assert browser(world, who).post(reverse("demands:member_post"), post_form(world)).status_code == 403
    assert not Demand.objects.exists()


def test_the_category_is_suggested_while_the_member_types(world):
    client = browser(world, "member")
    assert (
        "下水道堵塞"
        in client.get(reverse("demands:suggest_category") + "?description=下水道堵了").content.decode()
    )
    assert (
        "没能判断" in client.get(reverse("demands:suggest_category") + "?description=你好").content.decode()
    )
    assert browser(world, "anonymous").get(reverse("demands:suggest_category")).status_code == 302


def test_the_members_page_links_to_both_screens(world):
    html = browser(world, "member").get(reverse("members:home")).content.decode()
    assert reverse("demands:mine_list") in html
    assert reverse("demands:member_post") in html
    assert "派给我的诉求" in html
    assert "社情民意收集" in html

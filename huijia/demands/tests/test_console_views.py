"""The staff console of demands as staff use it: the list with its filters and status counts, one
demand with every step on it (accept, decline, assign and reassign, recategorise, merge, escalate,
resolve, note, call-back rating), staff entry (代录), what is late, the 接哨 inbox of streets and work
units, and complaints and suggestions. Each page for the right roles, refusals for the wrong ones,
bad input said plainly with nothing stored, stale forms answered with a conflict, text shown escaped,
and lists whose query count does not grow with their length."""

from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from huijia.accounts.models import Notification
from huijia.accounts.scope import ANONYMOUS
from huijia.demands import services
from huijia.demands.feedback import FeedbackInput, submit_feedback
from huijia.demands.models import (
    AssigneeKind,
    Demand,
    DemandEvent,
    DemandPhoto,
    DemandSource,
    DemandStatus,
    Escalation,
    EscalationStatus,
    EscalationTarget,
    EventKind,
    Feedback,
)
from huijia.volunteering.models import Pairing

SCRIPT = '<script>alert("x")</script><b>粗</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt;"
DRAIN = "3栋楼道的下水道堵了，污水冒出来两天了"
LIGHT = "5栋楼道灯不亮，晚上看不见"


def png(name: str = "fixed.png", colour=(30, 160, 60)) -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("fixed.png", b"%PDF-1.4 not a picture", content_type="image/png")


def browser(world, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    return client


def filed(world, text: str = DRAIN, where: str = "a1_bldg", **extra) -> Demand:
    """A demand as a resident reports it by the building's QR code (no account)."""
    data = services.DemandInput(description=text, area_id=world.areas[where].pk, **extra)
    return services.submit_demand(actor=ANONYMOUS, data=data)


def detail_url(demand: Demand) -> str:
    return reverse("demands:console_detail", args=[demand.pk])


def step_url(demand: Demand, step: str) -> str:
    return reverse("demands:console_act", args=[demand.pk, step])


def fresh(demand: Demand) -> Demand:
    return Demand.objects.get(pk=demand.pk)


def assigned(world, demand: Demand, kind=AssigneeKind.MEMBER, target=None) -> Demand:
    target = target or world.members["member"].pk
    return services.assign_demand(
        actor=world.actor("staff"), demand_id=demand.pk, kind=kind, target_id=target
    )


def resolved(world, demand: Demand) -> Demand:
    services.accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    return services.resolve_demand(actor=world.actor("staff"), demand_id=demand.pk, resolution="已疏通")


# --- the list -----------------------------------------------------------------------------------------


def test_staff_see_the_demands_of_their_community_with_what_a_row_shows(world):
    mine = filed(world, reporter_name="陈奶奶", household_id=world.households["a1_201"].pk)
    other = filed(world, LIGHT, where="a2_bldg")
    html = browser(world, "staff").get(reverse("demands:console_list")).content.decode()
    assert mine.tracking_code in html
    assert other.tracking_code not in html
    assert "下水道堵塞" in html  # the category the classifier chose
    assert "识字岭社区幸福小区 3栋 1单元201室" in html
    assert "居民自报" in html
    assert "待受理" in html
    assert detail_url(mine) in html


def test_the_status_tabs_count_and_filter(world):
    a, b, c = filed(world), filed(world, LIGHT, where="a1_bldg2"), filed(world, "楼下广场舞太吵")
    services.accept_demand(actor=world.actor("staff"), demand_id=b.pk)
    services.decline_demand(actor=world.actor("staff"), demand_id=c.pk, reason="不属于社区职责")
    client = browser(world, "staff")
    html = client.get(reverse("demands:console_list")).content.decode()
    assert '全部<span class="n">3</span>' in html
    assert '待受理<span class="n">1</span>' in html
    assert '已受理<span class="n">1</span>' in html
    assert '不予受理<span class="n">1</span>' in html
    only = client.get(reverse("demands:console_list") + "?status=accepted").content.decode()
    assert b.tracking_code in only
    assert a.tracking_code not in only
    assert c.tracking_code not in only


def test_the_list_filters_by_category_estate_and_overdue(world):
    drain, light = filed(world), filed(world, LIGHT, where="a1_bldg2")
    Demand.objects.filter(pk=light.pk).update(overdue=True)
    client = browser(world, "staff")
    url = reverse("demands:console_list")
    by_category = client.get(url + "?category=drain").content.decode()
    assert drain.tracking_code in by_category
    assert light.tracking_code not in by_category
    by_estate = client.get(url + f"?estate={world.areas['a1_estate'].pk}").content.decode()
    assert drain.tracking_code in by_estate
    late_only = client.get(url + "?overdue=1").content.decode()
    assert light.tracking_code in late_only
    assert drain.tracking_code not in late_only
    assert "超时" in late_only


def test_a_street_sees_its_communities_and_picks_one(world):
    a1, a2, b1 = filed(world), filed(world, LIGHT, where="a2_bldg"), filed(world, where="b1_bldg")
    client = browser(world, "street_staff")
    html = client.get(reverse("demands:console_list")).content.decode()
    assert a1.tracking_code in html
    assert a2.tracking_code in html
    assert b1.tracking_code not in html
    picked = client.get(
        reverse("demands:console_list") + f"?community={world.areas['a2'].pk}"
    ).content.decode()
    assert a2.tracking_code in picked
    assert a1.tracking_code not in picked


@pytest.mark.parametrize(
    "query", ["?community={a2}", "?estate={a2_estate}", "?community={a1}&estate={a2_estate}"]
)
def test_a_community_or_estate_out_of_scope_is_not_found(world, query):
    url = reverse("demands:console_list") + query.format(**{k: v.pk for k, v in world.areas.items()})
    assert browser(world, "staff").get(url).status_code == 404


@pytest.mark.parametrize(("who", "status"), [("member", 403), ("resident", 403), ("outsider", 403)])
def test_the_console_is_for_staff(world, who, status):
    client = browser(world, who)
    for name in (
        "demands:console_list",
        "demands:console_late",
        "demands:console_new",
        "demands:escalations",
    ):
        assert client.get(reverse(name)).status_code == status, name


def test_anonymous_visitors_are_sent_to_sign_in(world):
    response = browser(world, "anonymous").get(reverse("demands:console_list"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_list_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    filed(world)
    client = browser(world, "staff")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("demands:console_list"))
    page_queries = len(one)
    for i in range(24):
        d = filed(
            world, f"{LIGHT} 第{i}次", where="a1_bldg2", household_id=world.households["a1_bldg2_101"].pk
        )
        if i % 3 == 0:
            assigned(world, d)
        elif i % 3 == 1:
            assigned(world, d, AssigneeKind.TEAM, world.teams["a1_team"].pk)
        else:
            assigned(world, d, AssigneeKind.BRANCH, world.areas["a1_estate"].pk)
    with django_assert_max_num_queries(page_queries):
        html = client.get(reverse("demands:console_list")).content.decode()
    assert html.count('id="demand-') == 20  # a page
    with django_assert_max_num_queries(page_queries):
        client.get(reverse("demands:console_list") + "?page=2")


def test_the_list_shows_what_residents_typed_escaped(world):
    filed(world, SCRIPT + "下水道堵了")
    html = browser(world, "staff").get(reverse("demands:console_list")).content.decode()
    assert SCRIPT not in html
    assert "&lt;script&gt;" in html


# --- one demand ---------------------------------------------------------------------------------------


def test_the_demand_page_shows_place_reporter_masked_timeline_and_steps(world, media):
    demand = filed(
        world,
        reporter_name="陈奶奶",
        reporter_phone="13912345678",
        household_id=world.households["a1_201"].pk,
        photos=(png("drain.png", (10, 10, 200)),),
    )
    html = browser(world, "staff").get(detail_url(demand)).content.decode()
    assert DRAIN in html
    assert "陈奶奶" in html
    assert "139****5678" in html
    assert "13912345678" not in html
    assert "识字岭社区 › 识字岭社区幸福小区 › 3栋 1单元201室" in html
    photo = DemandPhoto.objects.get(demand=demand)
    assert reverse("demands:demand_photo", args=[demand.pk, photo.pk]) in html
    assert "提交" in html  # the timeline's first entry
    for step in ("accept", "decline", "assign", "escalate", "recategorise", "note"):
        assert step_url(demand, step) in html, step
    assert "没有发现同一小区、同一类别的相似诉求" in html  # merge: nothing like it yet
    assert step_url(demand, "rate") not in html
    assert step_url(demand, "resolve") not in html  # accept first


def test_the_demand_page_follows_scope(world):
    demand = filed(world)
    assert browser(world, "other_staff").get(detail_url(demand)).status_code == 404
    assert browser(world, "unit_organiser").get(detail_url(demand)).status_code == 404
    assert browser(world, "member").get(detail_url(demand)).status_code == 403  # not staff: the phone pages
    viewer = browser(world, "street_staff").get(detail_url(demand))
    assert viewer.status_code == 200
    assert step_url(demand, "accept") not in viewer.content.decode()
    assert "受理、派单和办结由社区党委或小区党支部进行" in viewer.content.decode()
    secretary = browser(world, "estate_secretary").get(detail_url(demand)).content.decode()
    assert step_url(demand, "accept") in secretary
    assert browser(world, "staff").get(reverse("demands:console_detail", args=[999999])).status_code == 404


def test_the_demand_page_shows_what_residents_typed_escaped(world):
    demand = filed(world, SCRIPT + "下水道", reporter_name="<i>王</i>")
    services.add_note(actor=world.actor("staff"), demand_id=demand.pk, text=SCRIPT)
    html = browser(world, "staff").get(detail_url(demand)).content.decode()
    assert SCRIPT not in html
    assert ESCAPED in html
    assert "<i>王</i>" not in html


def test_accept_with_a_corrected_category(world):
    demand = filed(world, "楼道里堆了好多杂物")
    response = browser(world, "staff").post(
        step_url(demand, "accept"),
        {"version": demand.version, "category": "parking", "note": ""},
        follow=True,
    )
    assert "已受理" in response.content.decode()
    demand = fresh(demand)
    assert demand.status == DemandStatus.ACCEPTED
    assert demand.category.code == "parking"
    assert demand.events.filter(kind=EventKind.RECATEGORISED).exists()


def test_decline_needs_a_reason_and_a_missing_one_changes_nothing(world):
    demand = filed(world)
    client = browser(world, "staff")
    response = client.post(step_url(demand, "decline"), {"version": demand.version, "reason": "  "})
    assert response.status_code == 400
    assert "请写明不予受理的原因" in response.content.decode()
    assert fresh(demand).status == DemandStatus.SUBMITTED
    client.post(step_url(demand, "decline"), {"version": demand.version, "reason": "属于业主家中私人设施"})
    demand = fresh(demand)
    assert (demand.status, demand.decline_reason) == (DemandStatus.DECLINED, "属于业主家中私人设施")


def test_a_stale_form_gets_a_conflict_and_nothing_changes(world):
    demand = filed(world)
    shown = demand.version
    services.accept_demand(actor=world.actor("estate_secretary"), demand_id=demand.pk)  # meanwhile
    before = fresh(demand)
    client = browser(world, "staff")
    response = client.post(step_url(demand, "decline"), {"version": shown, "reason": "重复"})
    assert response.status_code == 409
    html = response.content.decode()
    assert "这条诉求刚刚已被他人处理，请刷新后查看最新状态" in html
    assert f'name="version" value="{before.version}"' in html  # the page is redrawn from the new state
    after = fresh(demand)
    assert (after.status, after.version, after.decline_reason) == (before.status, before.version, "")
    for step, data in (
        ("recategorise", {"category": "road"}),
        ("escalate", {"target": "street", "reason": "需要街道协调"}),
        ("merge", {"demand_ids": [filed(world).pk]}),
        ("rate", {"rating": "satisfied"}),
    ):
        response = client.post(step_url(demand, step), {"version": shown, **data})
        assert response.status_code in (400, 409), step
    assert fresh(demand).version == before.version


def test_two_staff_assign_at_once_the_second_is_told_who_has_it(world, django_capture_on_commit_callbacks):
    demand = filed(world)
    form = {"version": demand.version, "kind": "member", "target_id": world.members["member"].pk, "note": ""}
    with django_capture_on_commit_callbacks(execute=True):
        first = browser(world, "staff").post(step_url(demand, "assign"), form)
    assert first.status_code == 302
    team = {**form, "kind": "team", "target_id": world.teams["a1_team"].pk}
    second = browser(world, "estate_secretary").post(step_url(demand, "assign"), team)
    assert second.status_code == 409
    assert "这条诉求刚刚已派给李建国" in second.content.decode()
    demand = fresh(demand)
    assert (demand.assignee_kind, demand.assigned_member_id) == ("member", world.members["member"].pk)
    assert Notification.objects.filter(user=world.users["member"], text__startswith="新派单").exists()


def test_reassign_to_a_team_and_to_the_branch(world):
    demand = assigned(world, filed(world))
    client = browser(world, "staff")
    html = client.get(detail_url(demand)).content.decode()
    assert "改派" in html
    assert 'name="reassign"' in html
    form = {
        "version": demand.version,
        "kind": "team",
        "target_id": world.teams["a1_team"].pk,
        "reassign": "on",
    }
    assert client.post(step_url(demand, "assign"), form).status_code == 302
    demand = fresh(demand)
    assert (demand.assignee_kind, demand.assigned_team_id) == ("team", world.teams["a1_team"].pk)
    branch = {**form, "version": demand.version, "kind": "branch", "target_id": world.areas["a1_estate"].pk}
    assert client.post(step_url(demand, "assign"), branch).status_code == 302
    assert fresh(demand).assigned_area_id == world.areas["a1_estate"].pk


@pytest.mark.parametrize(
    ("kind", "target", "message"),
    [
        ("member", "other_member", "所选党员没有在本社区报到"),
        ("branch", "a2_estate", "所选小区不在本社区"),
        ("member", None, "请选择承办方"),
        ("nobody", "member", "请选择承办方"),
    ],
)
def test_assigning_to_someone_out_of_the_community_is_refused(world, kind, target, message):
    demand = filed(world)
    ids = {"other_member": world.members["other_member"].pk, "member": world.members["member"].pk}
    target_id = ids.get(target) or (world.areas[target].pk if target else "")
    response = browser(world, "staff").post(
        step_url(demand, "assign"), {"version": demand.version, "kind": kind, "target_id": target_id}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert fresh(demand).status == DemandStatus.SUBMITTED


def test_the_member_picker_searches_by_name_and_suggests_members(world):
    demand = filed(world)
    client = browser(world, "staff")
    html = client.get(detail_url(demand)).content.decode()
    assert f'id="pick-{world.members["member"].pk}"' in html
    assert "赵敏" not in html  # reports in A2
    url = reverse("demands:console_member_picks", args=[demand.pk])
    assert "李建国" in client.get(url + "?member_q=建国").content.decode()
    assert "没有找到姓名含" in client.get(url + "?member_q=张三").content.decode()
    assert client.get(detail_url(demand) + "?member_q=李").status_code == 200
    assert browser(world, "street_staff").get(url).status_code == 404
    assert browser(world, "other_staff").get(url).status_code == 404


def test_recategorise(world):
    demand = filed(world)
    client = browser(world, "staff")
    client.post(step_url(demand, "recategorise"), {"version": demand.version, "category": "road"})
    assert fresh(demand).category.code == "road"
    response = client.post(
        step_url(demand, "recategorise"), {"version": fresh(demand).version, "category": "x"}
    )
    assert response.status_code == 400
    assert "选择" in response.content.decode()
    assert fresh(demand).category.code == "road"


def test_merge_the_same_problem_reported_twice(world):
    main, twin = filed(world), filed(world, "3栋下水道又堵了，反水")
    other_place = filed(world, where="a2_bldg")
    client = browser(world, "staff")
    html = client.get(detail_url(main)).content.decode()
    assert f'id="merge-{twin.pk}"' in html
    assert f'id="merge-{other_place.pk}"' not in html
    bad = client.post(step_url(main, "merge"), {"version": main.version, "demand_ids": [other_place.pk]})
    assert bad.status_code == 400
    assert fresh(other_place).status == DemandStatus.SUBMITTED
    none = client.post(step_url(main, "merge"), {"version": main.version})
    assert "请勾选要合并的重复诉求" in none.content.decode()
    ok = client.post(step_url(main, "merge"), {"version": main.version, "demand_ids": [twin.pk]}, follow=True)
    assert "已合并" in ok.content.decode()
    twin = fresh(twin)
    assert (twin.status, twin.merged_into_id) == (DemandStatus.MERGED, main.pk)
    assert twin.tracking_code in client.get(detail_url(main)).content.decode()


def test_escalate_to_the_street_or_a_work_unit(world):
    demand = filed(world)
    client = browser(world, "staff")
    missing = client.post(
        step_url(demand, "escalate"), {"version": demand.version, "target": "work_unit", "reason": "x"}
    )
    assert missing.status_code == 400
    assert "请选择接哨的单位" in missing.content.decode()
    no_reason = client.post(step_url(demand, "escalate"), {"version": demand.version, "target": "street"})
    assert "请说明为什么需要吹哨" in no_reason.content.decode()
    assert "本社区还没有结对单位" in client.get(detail_url(demand)).content.decode()
    unpaired = {"target": "work_unit", "work_unit": world.units["u1"].pk, "reason": "x"}
    refused = client.post(step_url(demand, "escalate"), {"version": demand.version, **unpaired})
    assert (refused.status_code, "芙蓉区教育局没有与本社区结对" in refused.content.decode()) == (400, True)
    assert not Escalation.objects.exists()
    paired(world)
    html = client.get(detail_url(demand)).content.decode()
    assert world.units["u1"].name in html  # the unit paired with the community (结对共建)
    assert world.units["u2"].name not in html
    ok = client.post(
        step_url(demand, "escalate"),
        {
            "version": demand.version,
            "target": "work_unit",
            "work_unit": world.units["u1"].pk,
            "reason": "需要教育局协调",
        },
    )
    assert ok.status_code == 302
    escalation = Escalation.objects.get()
    assert (escalation.target, escalation.work_unit_id) == (EscalationTarget.WORK_UNIT, world.units["u1"].pk)
    assert fresh(demand).status == DemandStatus.ESCALATED
    options = reverse("demands:console_unit_options") + f"?community={world.areas['a1'].pk}&unit_q="
    assert "芙蓉区教育局" in client.get(options + "教育").content.decode()
    assert "长沙市自来水公司" not in client.get(options + "自来水").content.decode()  # not paired here
    for outsider in ("other_staff", "building_head", "unit_organiser"):  # cannot escalate A1's demands
        assert "芙蓉区教育局" not in browser(world, outsider).get(options + "教育").content.decode()
    assert "芙蓉区教育局" in browser(world, "estate_secretary").get(options + "教育").content.decode()


def test_resolve_with_a_result_and_an_optional_photo(world, media):
    demand = assigned(world, filed(world))
    client = browser(world, "staff")
    empty = client.post(step_url(demand, "resolve"), {"version": demand.version, "resolution": ""})
    assert empty.status_code == 400
    assert "请写明办理结果" in empty.content.decode()
    junk = client.post(
        step_url(demand, "resolve"),
        {"version": demand.version, "resolution": "已疏通", "photos": not_an_image()},
    )
    assert junk.status_code == 400
    assert "只能上传照片" in junk.content.decode()
    assert fresh(demand).status == DemandStatus.ASSIGNED
    assert not DemandPhoto.objects.exists()
    ok = client.post(
        step_url(demand, "resolve"), {"version": demand.version, "resolution": "已疏通", "photos": png()}
    )
    assert ok.status_code == 302
    demand = fresh(demand)
    assert (demand.status, demand.resolution) == (DemandStatus.RESOLVED, "已疏通")
    photo = DemandPhoto.objects.get(demand=demand)
    assert photo.stage == "resolution"
    served = client.get(reverse("demands:demand_photo", args=[demand.pk, photo.pk]))
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert (
        browser(world, "other_staff")
        .get(reverse("demands:demand_photo", args=[demand.pk, photo.pk]))
        .status_code
        == 404
    )


def test_a_call_back_rating_is_recorded_once(world):
    demand = resolved(world, filed(world))
    client = browser(world, "staff")
    html = client.get(detail_url(demand)).content.decode()
    assert step_url(demand, "rate") in html
    unhappy = client.post(step_url(demand, "rate"), {"version": demand.version, "rating": "unsatisfied"})
    assert unhappy.status_code == 400
    assert "不满意的话，请告诉我们哪里没有解决好" in unhappy.content.decode()
    client.post(step_url(demand, "rate"), {"version": demand.version, "rating": "basic", "comment": "还行"})
    demand = fresh(demand)
    assert (demand.status, demand.rating, demand.rated_by_staff) == (DemandStatus.CLOSED, "basic", True)
    assert step_url(demand, "rate") not in client.get(detail_url(demand)).content.decode()
    assert "电话回访" in client.get(detail_url(demand)).content.decode()


def test_a_note_on_the_timeline(world):
    demand = filed(world)
    client = browser(world, "staff")
    assert client.post(step_url(demand, "note"), {"text": ""}).status_code == 400
    long = client.post(step_url(demand, "note"), {"text": "长" * 501})
    assert "备注不超过500个字" in long.content.decode()
    client.post(step_url(demand, "note"), {"text": "已电话联系居民"})
    assert DemandEvent.objects.filter(demand=demand, kind=EventKind.NOTE).get().text == "已电话联系居民"


def test_a_form_without_its_version_asks_for_a_refresh(world):
    demand = filed(world)
    response = browser(world, "staff").post(step_url(demand, "decline"), {"reason": "重复"})
    assert response.status_code == 400
    assert "页面已过期，请刷新后重试" in response.content.decode()
    assert fresh(demand).status == DemandStatus.SUBMITTED


def test_steps_refused_to_those_who_may_not_take_them(world):
    demand = filed(world)
    form = {"version": demand.version, "category": ""}
    street = browser(world, "street_staff").post(step_url(demand, "accept"), form)
    assert street.status_code == 403
    assert "您没有处理这条诉求的权限" in street.content.decode()
    assert browser(world, "other_staff").post(step_url(demand, "accept"), form).status_code == 404
    assert browser(world, "member").post(step_url(demand, "accept"), form).status_code == 403
    assert browser(world, "staff").post(step_url(demand, "fly"), form).status_code == 404
    assert fresh(demand).status == DemandStatus.SUBMITTED


# --- staff entry (代录) ---------------------------------------------------------------------------------


def entry(world, **fields) -> dict:
    form = {
        "community": world.areas["a1"].pk,
        "estate": world.areas["a1_estate"].pk,
        "building": world.areas["a1_bldg"].pk,
        "household": world.households["a1_201"].pk,
        "source": "staff",
        "description": "电话反映：3栋1单元门口的下水道堵了",
        "category": "",
        "reporter_name": "陈奶奶",
        "reporter_phone": "0731-84567890",
    }
    return {**form, **fields}


def test_staff_enter_a_demand_phoned_in_for_an_elderly_resident(world):
    client = browser(world, "staff")
    page = client.get(reverse("demands:console_new")).content.decode()
    assert "识字岭社区幸福小区" in page  # the lone community is picked, its estates offered
    picked = client.get(
        reverse("demands:console_new")
        + f"?estate={world.areas['a1_estate'].pk}&building={world.areas['a1_bldg'].pk}"
    ).content.decode()
    assert "1单元201室" in picked
    response = client.post(reverse("demands:console_new"), entry(world))
    demand = Demand.objects.get()
    assert response.status_code == 302
    assert response["Location"] == detail_url(demand)
    assert (demand.source, demand.area_id, demand.household_id) == (
        DemandSource.STAFF,
        world.areas["a1_bldg"].pk,
        world.households["a1_201"].pk,
    )
    assert demand.category.code == "drain"  # suggested from the text
    assert (demand.reporter_name, demand.reporter_phone) == ("陈奶奶", "0731-84567890")
    assert demand.created_by_id == world.users["staff"].pk
    shown = client.get(response["Location"]).content.decode()
    assert demand.tracking_code in shown
    assert "0731-****7890" in shown


def test_a_patrol_finding_for_a_whole_estate_with_no_name(world):
    client = browser(world, "estate_secretary")
    form = entry(
        world, community="", building="", household="", source="patrol", reporter_name="", reporter_phone=""
    )
    form["description"] = "巡查发现小区东门路灯不亮"
    assert client.post(reverse("demands:console_new"), form).status_code == 302
    demand = Demand.objects.get()
    assert (demand.source, demand.area_id, demand.household_id) == (
        "patrol",
        world.areas["a1_estate"].pk,
        None,
    )
    assert demand.category.code == "streetlight"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"description": ""}, "请填写诉求内容"),
        ({"description": "堵" * 100_000}, "诉求内容不超过2000个字"),
        ({"reporter_phone": "12345"}, "联系电话请填写11位手机号"),
        ({"category": "nonsense"}, "选择"),
        ({"household": 999999}, "所选住户不在这栋楼"),
        ({"reporter_name": "名" * 41}, "联系人姓名不超过40个字"),
    ],
)
def test_bad_entry_says_what_is_wrong_and_stores_nothing(world, fields, message):
    response = browser(world, "staff").post(reverse("demands:console_new"), entry(world, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Demand.objects.exists()


def test_entry_for_a_place_out_of_scope_is_refused(world):
    client = browser(world, "staff")
    other = entry(
        world,
        community=world.areas["a2"].pk,
        estate=world.areas["a2_estate"].pk,
        building=world.areas["a2_bldg"].pk,
        household="",
    )
    assert client.post(reverse("demands:console_new"), other).status_code == 400
    assert not Demand.objects.exists()
    assert browser(world, "street_staff").get(reverse("demands:console_new")).status_code == 403
    assert browser(world, "building_head").get(reverse("demands:console_new")).status_code == 403


def test_entry_keeps_html_as_text(world):
    client = browser(world, "staff")
    client.post(reverse("demands:console_new"), entry(world, description=SCRIPT + "下水道"))
    demand = Demand.objects.get()
    assert demand.description == SCRIPT + "下水道"
    html = client.get(detail_url(demand)).content.decode()
    assert ESCAPED in html


def test_the_category_is_suggested_while_staff_type(world):
    client = browser(world, "staff")
    hint = client.get(reverse("demands:suggest_category") + "?description=楼道灯坏了不亮").content.decode()
    assert "路灯照明" in hint


# --- what is late -------------------------------------------------------------------------------------


def test_what_is_late_oldest_deadline_first(world, django_assert_max_num_queries):
    on_time, late, later = filed(world), filed(world, LIGHT), filed(world, "楼下广场舞太吵")
    now = timezone.now()
    Demand.objects.filter(pk=late.pk).update(overdue=True, respond_by=now - timedelta(hours=30))
    Demand.objects.filter(pk=later.pk).update(overdue=True, respond_by=now - timedelta(hours=2))
    services.check_deadlines()
    client = browser(world, "estate_secretary")
    with CaptureQueriesContext(connection) as one:
        html = client.get(reverse("demands:console_late")).content.decode()
    assert late.tracking_code in html
    assert later.tracking_code in html
    assert on_time.tracking_code not in html
    for i in range(5):
        d = filed(world, f"{LIGHT}{i}")
        assigned(world, d)
        Demand.objects.filter(pk=d.pk).update(overdue=True)
    with django_assert_max_num_queries(len(one)):
        client.get(reverse("demands:console_late"))
    assert (
        browser(world, "other_staff")
        .get(reverse("demands:console_late"))
        .content.decode()
        .count('id="demand-')
        == 0
    )


# --- 接哨 -------------------------------------------------------------------------------------------------


def paired(world) -> Pairing:
    """U1 paired with A1 (结对共建): a demand is escalated only to a paired unit."""
    starts_on = timezone.localdate() - timedelta(days=30)
    unit, community = world.units["u1"], world.areas["a1"]
    return Pairing.objects.get_or_create(
        work_unit=unit, community=community, ended_at=None, defaults={"starts_on": starts_on}
    )[0]


def escalated(world, to: str = "street", text: str = DRAIN) -> Escalation:
    if to == "work_unit":
        paired(world)
    demand = filed(world, text)
    unit = world.units["u1"].pk if to == "work_unit" else None
    return services.escalate_demand(
        actor=world.actor("staff"), demand_id=demand.pk, target=to, reason="需要上级协调", work_unit_id=unit
    )


def test_the_street_takes_an_escalation_on_and_reports_back(world):
    escalation = escalated(world)
    client = browser(world, "street_staff")
    html = client.get(reverse("demands:escalations")).content.decode()
    assert f'id="esc-{escalation.pk}"' in html
    assert "需要上级协调" in html
    answer = reverse("demands:escalation_answer", args=[escalation.pk])
    assert client.post(answer, {"decision": "accept", "answer": "街道城管科处理"}).status_code == 302
    assert Escalation.objects.get().status == EscalationStatus.ACCEPTED
    report = reverse("demands:escalation_report", args=[escalation.pk])
    empty = client.post(report, {"answer": ""})
    assert empty.status_code == 400
    assert "请写明办理结果" in empty.content.decode()
    assert client.post(report, {"answer": "已更换管道"}).status_code == 302
    demand = Demand.objects.get(pk=escalation.demand_id)
    assert (demand.status, demand.resolution) == (DemandStatus.RESOLVED, "已更换管道")


def test_sending_an_escalation_back_needs_a_reason(world):
    escalation = escalated(world, "work_unit")
    client = browser(world, "unit_organiser")
    assert f'id="esc-{escalation.pk}"' in client.get(reverse("demands:escalations")).content.decode()
    url = reverse("demands:escalation_answer", args=[escalation.pk])
    response = client.post(url, {"decision": "decline", "answer": ""})
    assert response.status_code == 400
    assert "退回时请说明原因" in response.content.decode()
    assert Escalation.objects.get().status == EscalationStatus.SENT
    client.post(url, {"decision": "decline", "answer": "不属于本单位职责"})
    assert Escalation.objects.get().status == EscalationStatus.DECLINED
    assert Demand.objects.get(pk=escalation.demand_id).status == DemandStatus.ACCEPTED
    again = client.post(url, {"decision": "accept", "answer": ""})
    assert again.status_code in (404, 409)
    nothing = client.post(url, {"answer": "嗯"})
    assert nothing.status_code == 400
    assert "请选择接哨或退回" in nothing.content.decode()


def test_the_inbox_follows_scope(world, django_assert_max_num_queries):
    street = escalated(world)
    unit = escalated(world, "work_unit", LIGHT)
    assert (
        f'id="esc-{unit.pk}"'
        not in browser(world, "street_staff").get(reverse("demands:escalations")).content.decode()
    )
    assert (
        f'id="esc-{street.pk}"'
        not in browser(world, "unit_organiser").get(reverse("demands:escalations")).content.decode()
    )
    other = browser(world, "other_staff")
    assert f'id="esc-{street.pk}"' not in other.get(reverse("demands:escalations")).content.decode()
    url = reverse("demands:escalation_answer", args=[street.pk])
    assert other.post(url, {"decision": "accept"}).status_code == 404
    assert browser(world, "unit_organiser").post(url, {"decision": "accept"}).status_code == 404
    assert Escalation.objects.get(pk=street.pk).status == EscalationStatus.SENT
    client = browser(world, "street_staff")
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("demands:escalations"))
    for i in range(4):
        escalated(world, text=f"{LIGHT}{i}")
    with django_assert_max_num_queries(len(one)):
        html = client.get(reverse("demands:escalations")).content.decode()
    assert html.count('class="panel" id="esc-') == 5


def test_the_nav_offers_demands_to_staff_and_the_inbox_to_streets_and_units(world):
    staff = browser(world, "staff").get(reverse("demands:console_list")).content.decode()
    assert reverse("demands:console_list") in staff
    assert reverse("demands:escalations") not in staff
    for who in ("street_staff", "unit_organiser"):
        html = browser(world, who).get(reverse("demands:console_list")).content.decode()
        assert reverse("demands:escalations") in html


# --- complaints and suggestions ----------------------------------------------------------------------


def complaint(world, community: str = "a1", text: str = "社区办事窗口中午没人") -> Feedback:
    data = FeedbackInput(
        community_id=world.areas[community].pk,
        kind="complaint",
        text=text,
        contact_name="周先生",
        contact_phone="13812345678",
    )
    return submit_feedback(actor=ANONYMOUS, data=data)


def test_staff_answer_complaints_and_suggestions(world, django_assert_max_num_queries):
    mine, other = complaint(world), complaint(world, "a2", "燕子岭的问题")
    client = browser(world, "staff")
    with CaptureQueriesContext(connection) as one:
        html = client.get(reverse("demands:console_feedback")).content.decode()
    page_queries = len(one)  # read now: a later request resets the connection's query log
    assert "社区办事窗口中午没人" in html
    assert "138****5678" in html
    assert "13812345678" not in html
    assert "燕子岭的问题" not in html
    url = reverse("demands:feedback_answer", args=[mine.pk])
    empty = client.post(url, {"answer": " "})
    assert empty.status_code == 400
    assert "请填写答复内容" in empty.content.decode()
    assert Feedback.objects.get(pk=mine.pk).answered_at is None
    assert client.post(url, {"answer": "已安排午间值班"}).status_code == 302
    assert Feedback.objects.get(pk=mine.pk).answer == "已安排午间值班"
    assert (
        client.post(reverse("demands:feedback_answer", args=[other.pk]), {"answer": "x"}).status_code == 404
    )
    again = client.post(url, {"answer": "再答一次"})
    assert again.status_code == 409
    assert "这条投诉建议已经答复过了" in again.content.decode()
    for i in range(5):
        complaint(world, text=f"{SCRIPT}{i}")
    with django_assert_max_num_queries(page_queries):
        html = client.get(reverse("demands:console_feedback")).content.decode()
    assert SCRIPT not in html
    assert (
        "已安排午间值班"
        in client.get(reverse("demands:console_feedback") + "?show=answered").content.decode()
    )


def test_complaints_are_read_but_not_answered_by_the_street(world):
    mine = complaint(world)
    client = browser(world, "street_staff")
    html = client.get(reverse("demands:console_feedback")).content.decode()
    assert "社区办事窗口中午没人" in html
    assert reverse("demands:feedback_answer", args=[mine.pk]) not in html
    assert client.post(reverse("demands:feedback_answer", args=[mine.pk]), {"answer": "x"}).status_code == 404

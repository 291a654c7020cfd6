"""The activity screens: the member's phone pages (join, waitlist, give back, a post's shifts) and the
organiser's console (list with filters, new activity with several slots, new post, detail, roster,
edit, cancel), with query-count guards on the lists."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.accounts.models import Notification
from huijia.core.testing import make_member, register
from huijia.volunteering.models import Activity, ActivityKind, ActivityStatus, Enrolment, EnrolmentStatus
from huijia.volunteering.testing import enrol, make_activity


def client_for(world, name: str) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def url(name: str, *args) -> str:
    return reverse(f"volunteering:{name}", args=args)


def html(r) -> str:
    return r.content.decode()


# --- phone -----------------------------------------------------------------------------------------


def test_the_hub_groups_what_a_member_can_join_and_lists_their_sign_ups(world, django_assert_max_num_queries):
    soon = make_activity(world, title="明天的活动", slots=[("3栋楼下", 20, 2, 10)])
    week = make_activity(world, title="五天后的活动", slots=[("社区广场", 24 * 5, 2, 10)])
    later = make_activity(world, title="下个月的活动", slots=[("社区广场", 24 * 30, 2, 1)])
    make_activity(world, title="A2的本社区活动", community="a2", audience="community")
    make_activity(world, title="已开始的活动", slots=[("3栋楼下", -1, 2, 10)])
    enrol(later.slots.get(), world.members["member"])
    for i in range(5):  # more activities do not mean more queries
        make_activity(world, title=f"活动{i}", slots=[("3栋楼下", 48 + i, 2, 10), ("5栋", 72, 1, 5)])
    c = client_for(world, "member")
    with django_assert_max_num_queries(8):
        r = c.get(url("home"))
    page = html(r)
    assert r.status_code == 200
    assert page.index("近三天") < page.index("明天的活动") < page.index("一周内") < page.index("五天后的活动")
    assert page.index("以后") < page.index("下个月的活动", page.index("以后"))
    assert "A2的本社区活动" not in page  # for A2's reporting members only
    assert "已开始的活动" not in page
    assert f'id="activity-{soon.pk}"' in page
    assert f'id="activity-{week.pk}"' in page
    assert 'id="mine"' in page
    assert "取消报名" in page


def test_a_member_who_has_not_reported_is_told_to_report_first(world):
    make_activity(world)
    r = client_for(world, "pending_member").get(url("home"))
    assert "报到后就能报名参加志愿服务" in html(r)


def test_signing_up_from_the_phone_then_the_waitlist_then_giving_the_place_back(
    world, django_capture_on_commit_callbacks
):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    me, other = client_for(world, "member"), client_for(world, "other_member")
    page = html(me.get(url("activity", activity.pk)))
    assert "我要报名" in page
    assert "还剩 1 个名额" in page

    r = me.post(url("signup", s.pk), follow=True)
    assert "报名成功" in html(r)
    r = other.post(url("signup", s.pk), follow=True)
    assert "排入候补第1位" in html(r)
    r = me.post(url("signup", s.pk), follow=True)
    assert "您已经报名了这个时段" in html(r)  # the service's words, shown on the page
    assert Enrolment.objects.filter(slot=s).count() == 2

    mine = Enrolment.objects.get(slot=s, member=world.members["member"])
    with django_capture_on_commit_callbacks(execute=True):
        r = me.post(url("cancel_enrolment", mine.pk), {"next": url("home")})
    assert r.status_code == 302
    assert r["Location"] == url("home")
    assert (
        Enrolment.objects.get(slot=s, member=world.members["other_member"]).status
        == EnrolmentStatus.CONFIRMED
    )
    assert Notification.objects.filter(user=world.users["other_member"], text__contains="报名成功").exists()


def test_someone_elses_sign_up_cannot_be_cancelled_from_the_phone(world):
    s = make_activity(world).slots.get()
    theirs = enrol(s, world.members["other_member"])
    r = client_for(world, "member").post(url("cancel_enrolment", theirs.pk))
    assert r.status_code == 404
    assert Enrolment.objects.get(pk=theirs.pk).status == EnrolmentStatus.CONFIRMED


def test_an_activity_not_open_to_the_member_is_not_shown(world):
    a2_only = make_activity(world, community="a2", audience="community")
    assert client_for(world, "member").get(url("activity", a2_only.pk)).status_code == 404
    assert client_for(world, "other_member").get(url("activity", a2_only.pk)).status_code == 200
    assert client_for(world, "member").post(url("signup", a2_only.slots.get().pk)).status_code == 302
    assert not Enrolment.objects.exists()


def test_the_post_page_shows_who_holds_each_shift_with_masked_names(world):
    post = make_activity(
        world,
        kind=ActivityKind.POST,
        title="节日值守岗",
        slots=[("社区大门", 24, 3, 2), ("社区大门", 28, 3, 2)],
    )
    first, _second = post.slots.order_by("starts_at")
    enrol(first, world.members["other_member"])
    page = html(client_for(world, "member").get(url("activity", post.pk)))
    assert "赵*" in page  # 赵敏, masked
    assert "赵敏" not in page
    assert "还没有人领" in page
    assert page.count("我来领") == 2


def test_a_year_round_post_shows_the_coming_four_weeks_and_the_members_own_later_shift(
    world, django_assert_max_num_queries
):
    days = [1, 3, 10, 20, 27, 35, 50, 90]  # shifts this many days ahead, one each
    post = make_activity(
        world, kind=ActivityKind.POST, title="便民维修岗", slots=[("活动室", d * 24, 2, 2) for d in days]
    )
    shifts = list(post.slots.order_by("starts_at"))
    enrol(shifts[6], world.members["member"])  # day 50: theirs, shown although beyond four weeks
    client = client_for(world, "member")
    with django_assert_max_num_queries(14):
        page = html(client.get(url("activity", post.pk)))
    assert page.count('class="slot"') == 6  # days 1, 3, 10, 20, 27 and their own on day 50
    assert "之后还有 2 个班次" in page  # days 35 and 90


def test_the_console_lists_a_posts_coming_four_weeks_of_shifts_and_all_on_request(world):
    days = [1, 3, 10, 20, 27, 35, 50, 90]
    post = make_activity(
        world, kind=ActivityKind.POST, title="便民维修岗", slots=[("活动室", d * 24, 2, 2) for d in days]
    )
    c = client_for(world, "staff")
    page = html(c.get(url("console_activity", post.pk)))
    assert page.count("查看名单") == 5  # days 1 to 27
    assert "另有 3 个班次未列出" in page
    assert "共 8 个时段" in page  # the totals are every shift's
    everything = html(c.get(url("console_activity", post.pk) + "?all=1"))
    assert everything.count("查看名单") == 8
    assert "未列出" not in everything


def test_each_slot_leads_to_its_attendance_and_the_organiser_to_the_qr_code_and_roll_call(world):
    activity = make_activity(world)
    slot = activity.slots.get()
    organiser = html(client_for(world, "staff").get(url("console_activity", activity.pk)))
    for name in ("slot_attendance", "slot_qr", "roll_call"):
        assert reverse(f"volunteering:{name}", args=[slot.pk]) in organiser
    roster = html(client_for(world, "staff").get(url("console_roster", slot.pk)))
    assert reverse("volunteering:roll_call", args=[slot.pk]) in roster
    onlooker = html(client_for(world, "street_staff").get(url("console_activity", activity.pk)))
    imported = make_activity(world, title="导入的活动", creator="nobody")  # no publisher on record
    shown = client_for(world, "staff").get(url("console_activity", imported.pk))
    assert shown.status_code == 200
    assert "导入的活动" in html(shown)
    assert reverse("volunteering:slot_attendance", args=[slot.pk]) in onlooker
    assert reverse("volunteering:slot_qr", args=[slot.pk]) not in onlooker  # sees, does not organise


def test_a_cancelled_activity_says_so_and_offers_no_sign_up(world):
    activity = make_activity(world, status=ActivityStatus.CANCELLED)
    page = html(client_for(world, "member").get(url("activity", activity.pk)))
    assert "这个活动已取消" in page
    assert "我要报名" not in page


# --- console ---------------------------------------------------------------------------------------


def test_the_console_list_filters_and_keeps_its_queries_flat(world, django_assert_max_num_queries):
    make_activity(world, title="楼道清理")
    make_activity(world, title="防疫任务", kind=ActivityKind.TASK)
    make_activity(world, title="A2的活动", community="a2")
    make_activity(world, title="上个月的活动", slots=[("3栋", -24 * 40, 2, 5)])
    for i in range(10):
        make_activity(world, title=f"活动{i}")
    c = client_for(world, "staff")
    with django_assert_max_num_queries(8):
        r = c.get(url("console_activities"))
    page = html(r)
    assert "楼道清理" in page
    assert "防疫任务" in page
    assert "A2的活动" not in page
    tasks = html(c.get(url("console_activities") + "?kind=task"))
    assert "防疫任务" in tasks
    assert "楼道清理" not in tasks
    past = html(c.get(url("console_activities") + "?period=past"))
    assert "上个月的活动" in past
    assert "楼道清理" not in past


def test_members_and_residents_do_not_get_the_console(world):
    assert client_for(world, "resident").get(url("console_activities")).status_code == 403
    assert client_for(world, "other_member").get(url("console_activities")).status_code == 403


def slot_post(prefix_rows: list[dict]) -> dict:
    data = {"slots-TOTAL_FORMS": str(len(prefix_rows)), "slots-INITIAL_FORMS": "0"}
    for i, row in enumerate(prefix_rows):
        data.update({f"slots-{i}-{k}": v for k, v in row.items()})
    return data


def day(n: int) -> str:
    return (timezone.localdate() + timedelta(days=n)).isoformat()


def test_publishing_an_activity_with_several_slots_from_the_console(world):
    c = client_for(world, "staff")
    assert 'id="add-slot"' in html(c.get(url("console_activity_new")))
    data = {
        "organiser": f"community:{world.areas['a1'].pk}",
        "kind": "activity",
        "title": "重阳节敬老",
        "category": "elderly",
        "audience": "open",
        "description": "",
        **slot_post(
            [
                {
                    "venue": "幸福小区",
                    "label": "上午",
                    "day": day(3),
                    "starts": "09:00",
                    "ends": "11:00",
                    "capacity": "5",
                },
                {
                    "venue": "和平小区",
                    "label": "",
                    "day": day(4),
                    "starts": "14:00",
                    "ends": "16:00",
                    "capacity": "8",
                },
                {
                    "venue": "",
                    "label": "",
                    "day": "",
                    "starts": "",
                    "ends": "",
                    "capacity": "",
                },  # a blank row
            ]
        ),
    }
    r = c.post(url("console_activity_new"), data)
    activity = Activity.objects.get(title="重阳节敬老")
    assert r.status_code == 302
    assert r["Location"] == url("console_activity", activity.pk)
    assert list(activity.slots.order_by("starts_at").values_list("venue", "capacity")) == [
        ("幸福小区", 5),
        ("和平小区", 8),
    ]
    page = html(c.get(url("console_activity", activity.pk)))
    assert "幸福小区" in page
    assert "查看名单" in page
    assert "取消活动" in page


def test_a_slot_in_the_past_is_shown_on_its_row_and_nothing_is_stored(world):
    c = client_for(world, "staff")
    data = {
        "organiser": f"community:{world.areas['a1'].pk}",
        "kind": "activity",
        "title": "过去的活动",
        "category": "elderly",
        "audience": "open",
        **slot_post(
            [{"venue": "幸福小区", "day": day(-2), "starts": "09:00", "ends": "11:00", "capacity": "5"}]
        ),
    }
    r = c.post(url("console_activity_new"), data)
    assert r.status_code == 400
    assert "开始时间已经过去了" in html(r)
    assert not Activity.objects.filter(title="过去的活动").exists()


def test_a_team_leader_publishes_for_the_team_from_the_console(world):
    from huijia.volunteering.models import ServiceTeam, ServiceTeamMember

    team = ServiceTeam.objects.create(community=world.areas["a1"], name="教师志愿服务队")
    ServiceTeamMember.objects.create(team=team, member=world.members["member"], is_leader=True)
    c = client_for(world, "member")
    page = html(c.get(url("console_activity_new") + f"?team={team.pk}"))
    assert f'value="team:{team.pk}" selected' in page
    data = {
        "organiser": f"team:{team.pk}",
        "kind": "activity",
        "title": "周末课业辅导",
        "category": "children",
        "audience": "team",
        **slot_post(
            [{"venue": "社区书屋", "day": day(2), "starts": "14:00", "ends": "16:00", "capacity": "6"}]
        ),
    }
    assert c.post(url("console_activity_new"), data).status_code == 302
    assert Activity.objects.get(title="周末课业辅导").service_team == team


def test_publishing_a_post_with_recurring_shifts(world):
    c = client_for(world, "staff")
    data = {
        "organiser": f"community:{world.areas['a1'].pk}",
        "title": "社情民意收集岗",
        "category": "opinion",
        "audience": "open",
        "venue": "小区东门",
        "capacity": "2",
        "date_from": day(1),
        "date_to": day(7),
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "label_1": "上午班",
        "starts_1": "09:00",
        "ends_1": "11:00",
        "label_2": "下午班",
        "starts_2": "15:00",
        "ends_2": "17:00",
    }
    r = c.post(url("console_post_new"), data, follow=True)
    post = Activity.objects.get(title="社情民意收集岗")
    assert post.kind == ActivityKind.POST
    assert post.slots.count() == 14
    assert "共排了14个班" in html(r)
    bad = {**data, "title": "没选星期", "weekdays": []}
    assert c.post(url("console_post_new"), bad).status_code == 400
    assert not Activity.objects.filter(title="没选星期").exists()


def test_the_roster_shows_confirmed_then_the_waitlist_and_the_organiser_can_take_someone_off(
    world, django_assert_max_num_queries
):
    s = make_activity(world, slots=[("3栋楼下", 24, 1, 1)]).slots.get()
    first = enrol(s, world.members["member"])
    make_member(world, "third", name="周强", serial=7, unit="u1")
    register(world, "third", "a1", "a1_202")
    enrol(s, world.members["other_member"], EnrolmentStatus.WAITLISTED)
    enrol(s, world.members["third"], EnrolmentStatus.WAITLISTED)
    c = client_for(world, "staff")
    with django_assert_max_num_queries(10):
        page = html(c.get(url("console_roster", s.pk)))
    assert page.index("李建国") < page.index("候补") < page.index("赵敏") < page.index("周强")
    assert "移出" in page
    r = c.post(url("console_enrolment_remove", first.pk))
    assert r.status_code == 302
    assert (
        Enrolment.objects.get(slot=s, member=world.members["other_member"]).status
        == EnrolmentStatus.CONFIRMED
    )
    assert client_for(world, "other_staff").get(url("console_roster", s.pk)).status_code == 404


def test_editing_and_cancelling_from_the_console(world, django_capture_on_commit_callbacks):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 3)])
    s = activity.slots.get()
    # at 10:00 tomorrow, so that start + 1 hour is the same day whatever time the suite runs
    s.starts_at = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(10)))
    s.ends_at = s.starts_at + timedelta(hours=2)
    s.save(update_fields=["starts_at", "ends_at"])
    enrol(s, world.members["member"])
    c = client_for(world, "staff")
    form = html(c.get(url("console_activity_edit", activity.pk)))
    assert 'value="3栋楼下"' in form
    start = timezone.localtime(s.starts_at)
    data = {
        "title": "清理楼道（改地点）",
        "description": "",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "1",
        "slots-0-id": str(s.pk),
        "slots-0-venue": "3栋大厅",
        "slots-0-day": start.date().isoformat(),
        "slots-0-starts": start.strftime("%H:%M"),
        "slots-0-ends": (start + timedelta(hours=1)).strftime("%H:%M"),
        "slots-0-capacity": "3",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert c.post(url("console_activity_edit", activity.pk), data).status_code == 302
    s.refresh_from_db()
    assert s.venue == "3栋大厅"
    assert Notification.objects.filter(user=world.users["member"], text__contains="有调整").exists()
    with django_capture_on_commit_callbacks(execute=True):
        c.post(url("console_activity_cancel", activity.pk), {"reason": "暴雨"})
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.CANCELLED
    assert Notification.objects.filter(user=world.users["member"], text__contains="暴雨").exists()
    # staff of another community: no page, nothing changed
    other = client_for(world, "other_staff")
    assert other.get(url("console_activity", activity.pk)).status_code == 404
    assert other.post(url("console_activity_close", activity.pk)).status_code == 404


@pytest.mark.parametrize("name", ["street_staff", "org_dept"])
def test_the_street_sees_but_does_not_manage(world, name):
    activity = make_activity(world)
    c = client_for(world, name)
    page = html(c.get(url("console_activity", activity.pk)))
    assert activity.title in page
    assert "取消活动" not in page
    r = c.post(url("console_activity_cancel", activity.pk), follow=True)
    assert "只有活动的组织者" in html(r)
    activity.refresh_from_db()
    assert activity.status == ActivityStatus.PUBLISHED

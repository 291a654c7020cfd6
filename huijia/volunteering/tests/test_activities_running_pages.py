"""After review (issue 5, group B), through the screens and the API: a running post's shifts edited,
removed and extended from the console; giving a place back on the phone after sign-up closed; the joint
activity choice on the forms and the detail page; the API's team and pairing filters and new writes;
the complaint and suggestion link at the foot of the member's pages."""

from datetime import date, datetime, time, timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.accounts.models import AuditLog
from huijia.volunteering.models import (
    Activity,
    ActivityKind,
    ActivityStatus,
    EnrolmentStatus,
    OrganiserKind,
    Pairing,
    ServiceTeam,
    Slot,
)
from huijia.volunteering.testing import enrol, make_activity

API = "/api/v1/volunteer"


def client_for(world, name: str) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def url(name: str, *args) -> str:
    return reverse(f"volunteering:{name}", args=args)


def running_post(world):
    post = make_activity(
        world,
        title="社情民意收集岗",
        kind=ActivityKind.POST,
        slots=[("党群服务中心", -1, 3, 2), ("党群服务中心", 24, 3, 2), ("党群服务中心", 48, 3, 2)],
    )
    started, tomorrow, after = post.slots.order_by("starts_at")
    at_nine(tomorrow, 1)
    at_nine(after, 2)
    enrol(tomorrow, world.members["member"])
    return post, started, tomorrow, after


def at_nine(slot: Slot, days: int) -> None:
    """9:00–12:00 local, `days` from today (the forms take one day and two times)."""
    day = timezone.localdate() + timedelta(days=days)
    start = timezone.make_aware(datetime.combine(day, time(9, 0)))
    slot.starts_at, slot.ends_at = start, start + timedelta(hours=3)
    slot.save(update_fields=["starts_at", "ends_at"])


def pair(world, unit="u1", community="a1") -> Pairing:
    return Pairing.objects.create(
        work_unit=world.units[unit], community=world.areas[community], starts_on=date(2020, 1, 1)
    )


def slot_post(slot: Slot, **kw) -> dict:
    start, end = timezone.localtime(slot.starts_at), timezone.localtime(slot.ends_at)
    data = {
        "venue": slot.venue,
        "label": slot.label,
        "day": start.date().isoformat(),
        "starts": start.strftime("%H:%M"),
        "ends": end.strftime("%H:%M"),
        "capacity": slot.capacity,
    }
    data.update(kw)
    return data


# --- the console: a running post ------------------------------------------------------------------------


def test_a_running_posts_page_offers_changes_to_shifts_still_to_come(world):
    post, started, tomorrow, after = running_post(world)
    page = client_for(world, "staff").get(url("console_activity", post.pk)).content.decode()
    assert url("console_post_extend", post.pk) in page
    assert url("console_activity_edit", post.pk) in page
    assert url("console_slot_edit", started.pk) not in page  # started: as it is
    assert url("console_slot_edit", tomorrow.pk) in page
    assert url("console_slot_remove", tomorrow.pk) not in page  # someone holds it
    assert url("console_slot_remove", after.pk) in page
    # the estate secretary, who does not organise it, sees no such links
    assert client_for(world, "estate_secretary").get(url("console_activity", post.pk)).status_code == 404


def test_the_organiser_changes_a_shift_on_its_page(world):
    _post, started, tomorrow, _after = running_post(world)
    c = client_for(world, "staff")
    r = c.get(url("console_slot_edit", tomorrow.pk))
    assert r.status_code == 200
    r = c.post(url("console_slot_edit", tomorrow.pk), slot_post(tomorrow, venue="二楼会议室", capacity=0))
    assert r.status_code == 400  # capacity 0: the form says so, nothing stored
    tomorrow.refresh_from_db()
    assert tomorrow.venue == "党群服务中心"
    r = c.post(url("console_slot_edit", tomorrow.pk), slot_post(tomorrow, venue="二楼会议室", capacity=5))
    assert r.status_code == 302
    tomorrow.refresh_from_db()
    assert (tomorrow.venue, tomorrow.capacity) == ("二楼会议室", 5)
    r = c.post(url("console_slot_edit", started.pk), slot_post(started, venue="别处"), follow=True)
    assert "已经开始" in r.content.decode()
    started.refresh_from_db()
    assert started.venue == "党群服务中心"
    assert client_for(world, "other_staff").get(url("console_slot_edit", tomorrow.pk)).status_code == 404
    assert client_for(world, "member").get(url("console_slot_edit", tomorrow.pk)).status_code == 403


def test_the_organiser_removes_an_empty_shift_and_extends_the_post(world):
    post, _started, tomorrow, after = running_post(world)
    c = client_for(world, "staff")
    r = c.post(url("console_slot_remove", tomorrow.pk), follow=True)
    assert "已有人报名" in r.content.decode()
    assert Slot.objects.filter(pk=tomorrow.pk).exists()
    c.post(url("console_slot_remove", after.pk))
    assert not Slot.objects.filter(pk=after.pk).exists()

    assert c.get(url("console_post_extend", post.pk)).status_code == 200
    first = timezone.localdate() + timedelta(days=7)
    form = {
        "venue": "党群服务中心",
        "capacity": 2,
        "date_from": first.isoformat(),
        "date_to": (first + timedelta(days=6)).isoformat(),
        "weekdays": [str(d) for d in range(7)],
        "starts_1": "09:00",
        "ends_1": "12:00",
        "label_1": "上午班",
    }
    r = c.post(url("console_post_extend", post.pk), form)
    assert r.status_code == 302
    assert post.slots.filter(label="上午班").count() == 7
    r = c.post(url("console_post_extend", post.pk), form)  # the same again: a clear error
    assert r.status_code == 400
    assert "都已经排过了" in r.content.decode()
    assert post.slots.filter(label="上午班").count() == 7
    bad = {**form, "ends_1": "08:00"}
    assert c.post(url("console_post_extend", post.pk), bad).status_code == 400


def test_the_edit_page_of_a_running_activity_keeps_started_slots(world):
    activity = make_activity(world, slots=[("3栋楼下", -1, 2, 5), ("5栋楼下", 48, 2, 5)])
    _started, later_slot = activity.slots.order_by("starts_at")
    at_nine(later_slot, 2)
    c = client_for(world, "staff")
    page = c.get(url("console_activity_edit", activity.pk)).content.decode()
    assert "已经开始的 1 个时段保持不变" in page
    day = timezone.localdate(later_slot.starts_at).isoformat()
    assert f'value="{day}"' in page  # the date input shows the slot's day (ISO, as browsers need)
    data = {
        "title": "清理楼道（第二次）",
        "description": "",
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "1",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "200",
        **{f"slots-0-{k}": v for k, v in slot_post(later_slot, venue="5栋大厅", capacity=8).items()},
        "slots-0-id": str(later_slot.pk),
    }
    r = c.post(url("console_activity_edit", activity.pk), data)
    assert r.status_code == 302, r.content.decode()
    assert list(activity.slots.order_by("starts_at").values_list("venue", "capacity")) == [
        ("3栋楼下", 5),
        ("5栋大厅", 8),
    ]


# --- the phone: giving a place back after sign-up closed; the foot ------------------------------------------


def test_a_member_gives_a_place_back_on_the_phone_after_sign_up_closed(world):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    mine = enrol(s, world.members["member"])
    waiting = enrol(s, world.members["other_member"], EnrolmentStatus.WAITLISTED)
    Activity.objects.filter(pk=activity.pk).update(status=ActivityStatus.CLOSED)
    c = client_for(world, "member")
    for page in (c.get(url("activity", activity.pk)), c.get(url("home"))):
        assert url("cancel_enrolment", mine.pk) in page.content.decode()
    r = c.post(url("cancel_enrolment", mine.pk), {"next": url("home")})
    assert r.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == EnrolmentStatus.CONFIRMED


def test_the_complaint_and_suggestion_link_is_at_the_foot_of_the_members_pages(world):
    activity = make_activity(world)
    c = client_for(world, "member")
    feedback = reverse("demands:feedback_new")
    for path in (url("home"), url("activity", activity.pk)):
        page = c.get(path).content.decode()
        assert f'href="{feedback}"' in page
        assert "投诉建议" in page


# --- joint activities on the forms ------------------------------------------------------------------------


def test_the_new_activity_form_offers_the_communitys_pairings(world):
    p = pair(world)
    pair(world, unit="u2", community="a2")  # another community's: not offered to A1's staff
    c = client_for(world, "staff")
    page = c.get(url("console_activity_new")).content.decode()
    assert f'value="{p.pk}"' in page
    assert "长沙市自来水公司" not in page
    start = timezone.localtime() + timedelta(days=2)
    data = {
        "organiser": f"community:{world.areas['a1'].pk}",
        "kind": "activity",
        "title": "共建义诊",
        "category": "environment",
        "audience": "open",
        "description": "",
        "pairing": str(p.pk),
        "slots-TOTAL_FORMS": "1",
        "slots-INITIAL_FORMS": "0",
        "slots-MIN_NUM_FORMS": "1",
        "slots-MAX_NUM_FORMS": "200",
        "slots-0-venue": "社区广场",
        "slots-0-day": start.date().isoformat(),
        "slots-0-starts": "09:00",
        "slots-0-ends": "11:00",
        "slots-0-capacity": "5",
    }
    r = c.post(url("console_activity_new"), data)
    assert r.status_code == 302, r.content.decode()
    assert Activity.objects.get(title="共建义诊").pairing_id == p.pk


def test_the_detail_page_links_an_activity_to_a_pairing(world):
    p = pair(world)
    activity = make_activity(world)
    c = client_for(world, "staff")
    page = c.get(url("console_activity", activity.pk)).content.decode()
    assert url("console_activity_pairing", activity.pk) in page
    c.post(url("console_activity_pairing", activity.pk), {"pairing": str(p.pk)})
    activity.refresh_from_db()
    assert activity.pairing_id == p.pk
    assert "芙蓉区教育局" in c.get(url("console_activity", activity.pk)).content.decode()
    r = c.post(url("console_activity_pairing", activity.pk), {"pairing": "abc"}, follow=True)
    assert "请选择" in r.content.decode()
    activity.refresh_from_db()
    assert activity.pairing_id == p.pk
    c.post(url("console_activity_pairing", activity.pk), {"pairing": ""})
    activity.refresh_from_db()
    assert activity.pairing_id is None
    other = client_for(world, "other_staff")
    assert other.post(url("console_activity_pairing", activity.pk), {"pairing": str(p.pk)}).status_code == 404
    activity.refresh_from_db()
    assert activity.pairing_id is None


# --- the API ------------------------------------------------------------------------------------------------


def test_the_api_filters_by_team_and_pairing(world, django_assert_max_num_queries):
    p = pair(world)
    team = ServiceTeam.objects.create(community=world.areas["a1"], name="教师志愿服务队")
    joint = make_activity(world, title="共建的", pairing=p)
    teams = make_activity(world, title="队里的", organiser_kind=OrganiserKind.TEAM, service_team=team)
    for i in range(4):
        make_activity(world, title=f"别的{i}")
    c = client_for(world, "staff")
    with django_assert_max_num_queries(8):
        r = c.get(f"{API}/activities?pairing_id={p.pk}")
    assert [a["id"] for a in r.json()["items"]] == [joint.pk]
    r = c.get(f"{API}/activities?service_team_id={team.pk}")
    assert [a["id"] for a in r.json()["items"]] == [teams.pk]
    assert c.get(f"{API}/activities?pairing_id=abc").status_code == 422


def test_the_api_publishes_and_links_joint_activities(world):
    p = pair(world)
    c = client_for(world, "staff")
    start = timezone.now() + timedelta(days=1)
    body = {
        "title": "共建义诊",
        "category": "environment",
        "organiser_kind": "community",
        "community_id": world.areas["a1"].pk,
        "pairing_id": p.pk,
        "slots": [
            {
                "venue": "社区广场",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "capacity": 5,
            }
        ],
    }
    r = c.post(f"{API}/activities", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["pairing_id"] == p.pk
    other = pair(world, unit="u2", community="a2")
    r = c.post(f"{API}/activities", {**body, "pairing_id": other.pk}, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "bad_pairing"
    assert "pairing_id" in r.json()["fields"]
    activity = make_activity(world)
    r = c.put(
        f"{API}/activities/{activity.pk}/pairing", {"pairing_id": p.pk}, content_type="application/json"
    )
    assert r.status_code == 200
    assert r.json()["pairing_id"] == p.pk
    r = c.put(
        f"{API}/activities/{activity.pk}/pairing", {"pairing_id": None}, content_type="application/json"
    )
    assert r.json()["pairing_id"] is None


def test_the_api_changes_removes_and_adds_shifts_of_a_running_post(world):
    post, started, tomorrow, after = running_post(world)
    c = client_for(world, "staff")
    body = {
        "venue": "二楼",
        "starts_at": tomorrow.starts_at.isoformat(),
        "ends_at": tomorrow.ends_at.isoformat(),
        "capacity": 4,
    }
    r = c.put(f"{API}/slots/{tomorrow.pk}", body, content_type="application/json")
    assert r.status_code == 200, r.content
    assert (r.json()["venue"], r.json()["capacity"]) == ("二楼", 4)
    started_body = {
        **body,
        "starts_at": started.starts_at.isoformat(),
        "ends_at": started.ends_at.isoformat(),
    }
    r = c.put(f"{API}/slots/{started.pk}", started_body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "slot_started"
    assert c.delete(f"{API}/slots/{tomorrow.pk}").status_code == 409
    r = c.delete(f"{API}/slots/{after.pk}")
    assert r.status_code == 200
    assert after.pk not in [s["id"] for s in r.json()["slots"]]
    first = timezone.localdate() + timedelta(days=7)
    recurrence = {
        "date_from": first.isoformat(),
        "date_to": (first + timedelta(days=6)).isoformat(),
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "times": [{"starts": "09:00", "ends": "12:00", "label": "上午班"}],
        "venue": "党群服务中心",
        "capacity": 2,
    }
    r = c.post(f"{API}/activities/{post.pk}/shifts", recurrence, content_type="application/json")
    assert r.status_code == 201, r.content
    assert len(r.json()["slots"]) == 2 + 7
    r = c.post(f"{API}/activities/{post.pk}/shifts", recurrence, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "no_new_shifts"
    other = client_for(world, "other_staff")
    assert other.delete(f"{API}/slots/{tomorrow.pk}").status_code == 404
    assert AuditLog.objects.filter(action="volunteering.remove_slot").count() == 1

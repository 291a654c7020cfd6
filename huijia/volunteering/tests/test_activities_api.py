"""The activities API: publish, list and read, sign up (waitlist), cancel, my sign-ups, the roster;
errors in the one shape {code, message, fields}; list endpoints with a flat number of queries."""

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from huijia.volunteering.models import Activity, Enrolment, EnrolmentStatus
from huijia.volunteering.testing import enrol, make_activity

API = "/api/v1/volunteer"


def client_for(world, name: str) -> Client:
    c = Client()
    c.force_login(world.users[name])
    return c


def iso(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_publish_then_read_an_activity_with_its_slots(world):
    body = {
        "title": "清理楼道小广告",
        "category": "environment",
        "organiser_kind": "community",
        "community_id": world.areas["a1"].pk,
        "slots": [
            {"venue": "3栋", "starts_at": iso(24), "ends_at": iso(26), "capacity": 2},
            {"venue": "5栋", "starts_at": iso(48), "ends_at": iso(50), "capacity": 3, "label": "下午"},
        ],
    }
    r = client_for(world, "staff").post(f"{API}/activities", body, content_type="application/json")
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["organiser"] == "识字岭社区"
    assert [s["venue"] for s in out["slots"]] == ["3栋", "5栋"]
    assert out["capacity"] == 5
    got = client_for(world, "member").get(f"{API}/activities/{out['id']}").json()
    assert got["slots"][0]["left"] == 2
    assert got["slots"][0]["mine"] is None


def test_publish_a_post_from_a_recurrence(world):
    start = timezone.localdate() + timedelta(days=1)
    body = {
        "kind": "post",
        "title": "节日值守岗",
        "category": "festival",
        "organiser_kind": "community",
        "community_id": world.areas["a1"].pk,
        "recurrence": {
            "date_from": start.isoformat(),
            "date_to": (start + timedelta(days=2)).isoformat(),
            "weekdays": list(range(7)),
            "times": [{"starts": "09:00", "ends": "12:00", "label": "上午班"}],
            "venue": "社区大门",
            "capacity": 2,
        },
    }
    r = client_for(world, "staff").post(f"{API}/activities", body, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["kind"] == "post"
    assert len(r.json()["slots"]) == 3


def test_bad_input_answers_the_one_error_shape_and_stores_nothing(world):
    body = {
        "title": "清理",
        "category": "environment",
        "organiser_kind": "community",
        "community_id": world.areas["a1"].pk,
        "slots": [{"venue": "3栋", "starts_at": iso(-5), "ends_at": iso(-3), "capacity": 2}],
    }
    r = client_for(world, "staff").post(f"{API}/activities", body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["code"] == "in_the_past"
    assert "slots.0.starts_at" in r.json()["fields"]
    r = client_for(world, "other_staff").post(
        f"{API}/activities", {**body, "slots": []}, content_type="application/json"
    )
    assert r.status_code in (400, 403)
    assert not Activity.objects.exists()


def test_sign_up_waitlist_and_cancel_through_the_api(world):
    s = make_activity(world, slots=[("3栋楼下", 24, 2, 1)]).slots.get()
    me, other = client_for(world, "member"), client_for(world, "other_member")
    r = me.post(f"{API}/slots/{s.pk}/signup")
    assert r.status_code == 201
    assert r.json()["status"] == "confirmed"
    r = other.post(f"{API}/slots/{s.pk}/signup")
    assert r.json()["status"] == "waitlisted"
    assert r.json()["waitlist_position"] == 1
    again = me.post(f"{API}/slots/{s.pk}/signup")
    assert again.status_code == 409
    assert again.json()["code"] == "already_signed_up"
    mine = me.get(f"{API}/enrolments").json()
    assert [e["slot_id"] for e in mine["items"]] == [s.pk]
    r = me.post(f"{API}/enrolments/{mine['items'][0]['id']}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    theirs = other.get(f"{API}/enrolments").json()["items"][0]
    assert theirs["status"] == "confirmed"
    assert theirs["waitlist_position"] is None
    # someone else's sign-up: not found, unchanged
    assert me.post(f"{API}/enrolments/{theirs['id']}/cancel").status_code == 404
    assert Enrolment.objects.get(pk=theirs["id"]).status == EnrolmentStatus.CONFIRMED


def test_a_member_not_in_the_audience_gets_403_with_the_reason(world):
    s = make_activity(world, audience="community", community="a2").slots.get()
    r = client_for(world, "member").post(f"{API}/slots/{s.pk}/signup")
    assert r.status_code == 403
    assert "本社区" in r.json()["message"]


def test_lists_keep_their_queries_flat(world, django_assert_max_num_queries):
    for i in range(8):
        a = make_activity(world, title=f"活动{i}", slots=[("3栋", 24 + i, 2, 5), ("5栋", 30 + i, 2, 5)])
        enrol(a.slots.first(), world.members["member"])
    staff, member = client_for(world, "staff"), client_for(world, "member")
    with django_assert_max_num_queries(6):
        assert staff.get(f"{API}/activities?limit=100").json()["count"] == 8
    with django_assert_max_num_queries(8):
        assert member.get(f"{API}/activities?limit=100").json()["count"] == 8
    with django_assert_max_num_queries(6):
        assert member.get(f"{API}/enrolments?limit=100").json()["count"] == 8


def test_the_roster_is_for_the_organiser_and_cancel_tells_everyone(world, django_capture_on_commit_callbacks):
    activity = make_activity(world, slots=[("3栋楼下", 24, 2, 1)])
    s = activity.slots.get()
    enrol(s, world.members["member"])
    enrol(s, world.members["other_member"], EnrolmentStatus.WAITLISTED)
    roster = client_for(world, "staff").get(f"{API}/slots/{s.pk}/roster").json()
    assert [r["name"] for r in roster["confirmed"]] == ["李建国"]
    assert [r["name"] for r in roster["waitlisted"]] == ["赵敏"]
    assert client_for(world, "member").get(f"{API}/slots/{s.pk}/roster").status_code == 404
    r = client_for(world, "staff").post(
        f"{API}/activities/{activity.pk}/cancel", {"reason": "暴雨"}, content_type="application/json"
    )
    assert r.json()["status"] == "cancelled"
    assert client_for(world, "member").post(f"{API}/slots/{s.pk}/signup").status_code == 409

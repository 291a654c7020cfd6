"""Demands through the JSON API: intake from every channel, the closed loop step by step, escalations,
complaints and suggestions, and who is refused what.

Every call goes through accounts' ApiClient, which fails a test whenever an answer's status is not
declared for its operation in the OpenAPI document, or an error body has another shape.
"""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huijia.accounts.scope import ANONYMOUS
from huijia.accounts.tests.test_api import ApiClient, as_user
from huijia.demands import services
from huijia.demands.models import Demand, DemandPhoto, DemandStatus, Escalation, Feedback
from huijia.visits.tests.helpers import not_an_image, png
from huijia.volunteering.models import Pairing

PHONE = "13912345678"
DRAIN = "3栋一楼下水道堵了，污水冒出来"


def reported(world, text: str = DRAIN, place: str = "a1_bldg", **extra) -> Demand:
    """A demand a resident reported on the building's QR form, without an account."""
    data = services.DemandInput(
        description=text, area_id=world.areas[place].pk, reporter_name="陈奶奶", reporter_phone=PHONE, **extra
    )
    return services.submit_demand(actor=ANONYMOUS, data=data)


def resolved(world, **extra) -> Demand:
    demand = reported(world, **extra)
    staff = world.actor("staff")
    services.accept_demand(actor=staff, demand_id=demand.pk)
    services.resolve_demand(actor=staff, demand_id=demand.pk, resolution="已疏通")
    demand.refresh_from_db()
    return demand


def assigned_to_member(world) -> Demand:
    demand = reported(world)
    services.assign_demand(
        actor=world.actor("staff"), demand_id=demand.pk, kind="member", target_id=world.members["member"].pk
    )
    demand.refresh_from_db()
    return demand


def new_body(world, **extra) -> dict:
    return {"description": DRAIN, "area_id": world.areas["a1_bldg"].pk, **extra}


# --- Intake --------------------------------------------------------------------------------------


def test_a_resident_reports_without_an_account_and_follows_it_by_the_tracking_code(world):
    anonymous = ApiClient()
    response = anonymous.post("/demands", new_body(world, reporter_name="陈奶奶", reporter_phone=PHONE))
    assert response.status_code == 201
    body = response.json()
    demand = Demand.objects.get()
    assert (body["id"], body["tracking_code"], body["status"]) == (
        demand.pk,
        demand.tracking_code,
        "submitted",
    )
    assert body["category"] == {"code": "drain", "name": "下水道堵塞"}  # suggested from the text
    assert (body["place"], body["community"], body["reporter_name"]) == (
        "识字岭社区幸福小区 3栋",
        "识字岭社区",
        "陈*奶",
    )
    assert PHONE not in response.content.decode()
    assert "5678" not in response.content.decode()
    assert (demand.source, demand.reporter_id, demand.reporter_phone) == ("resident", None, PHONE)
    tracked = anonymous.get(f"/demands/track/{demand.tracking_code.lower()}")
    assert tracked.status_code == 200
    assert [e["kind"] for e in tracked.json()["timeline"]] == ["submitted"]
    assert tracked["Cache-Control"] == "private, no-store"
    assert anonymous.get("/demands/track/NOSUCH22").status_code == 404


def test_html_in_a_demand_is_kept_as_text(world):
    text = '<script>alert("x")</script><b>下水道</b>堵了'
    response = ApiClient().post("/demands", new_body(world, description=text))
    assert response.status_code == 201
    assert response.json()["description"] == text
    assert Demand.objects.get().description == text


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("anonymous", {"source": "staff"}, 401, "not_authenticated"),
        ("anonymous", {"description": "   "}, 400, "description_empty"),
        ("anonymous", {"description": "堵" * 100_000}, 400, "description_too_long"),
        ("anonymous", {"category": "no-such"}, 400, "unknown_category"),
        ("anonymous", {"reporter_phone": "12345"}, 400, "bad_phone"),
        ("anonymous", {"area_id": "street_a"}, 400, "bad_place"),
        ("anonymous", {"area_id": None}, 400, "place_missing"),
        ("anonymous", {"source": "visit"}, 422, "validation_error"),
        ("anonymous", {"source": "open311"}, 422, "validation_error"),
        ("member", {"source": "staff"}, 403, "forbidden"),
        ("other_staff", {"source": "staff"}, 403, "forbidden"),
        ("outsider", {"source": "post"}, 403, "forbidden"),
    ],
)
def test_bad_submissions_are_refused_and_store_nothing(world, who, body, status, code):
    client = ApiClient() if who == "anonymous" else as_user(world, who)
    if body.get("area_id") == "street_a":
        body = {**body, "area_id": world.areas["street_a"].pk}
    response = client.post("/demands", new_body(world, **body))
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert not Demand.objects.exists()


def test_unparsable_json_gets_400_and_stores_nothing(world):
    assert ApiClient().post("/demands", "{not json").status_code == 400
    assert not Demand.objects.exists()


def test_staff_type_in_a_phoned_in_demand_for_a_household(world):
    staff = as_user(world, "staff")
    response = staff.post(
        "/demands",
        {
            "description": "家里老人行动不便，想申请助餐",
            "source": "staff",
            "household_id": world.households["a1_201"].pk,
            "reporter_name": "陈奶奶",
            "reporter_phone": PHONE,
        },
    )
    assert response.status_code == 201
    demand = Demand.objects.get()
    assert (demand.source, demand.area_id, demand.category.code) == (
        "staff",
        world.areas["a1_bldg"].pk,
        "elderly",
    )
    detail = staff.get(f"/demands/{demand.pk}").json()
    assert detail["household"] == "3栋 1单元201室"
    assert (detail["reporter_name"], detail["reporter_phone_masked"]) == ("陈奶奶", "139****5678")
    assert detail["tracking_code"] == demand.tracking_code  # staff give it to the resident
    assert PHONE not in staff.get(f"/demands/{demand.pk}").content.decode()


def test_a_member_at_an_opinion_post_takes_a_demand_for_their_community(world):
    member = as_user(world, "member")
    response = member.post("/demands", new_body(world, source="post"))
    assert response.status_code == 201
    demand = Demand.objects.get()
    assert (demand.source, demand.member_id) == ("post", world.members["member"].pk)
    listed = member.get("/demands").json()
    assert [d["id"] for d in listed["items"]] == [demand.pk]
    wrong = as_user(world, "other_member").post("/demands", new_body(world, source="post"))
    assert wrong.status_code == 403


def test_photos_come_with_the_form_variant_and_are_served_to_those_who_may_see_them(world, media):
    client = Client()
    response = client.post(
        "/api/v1/demands/form",
        {**new_body(world), "photos": [png("a.png"), png("b.png", (0, 90, 0))]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["photos"]) == 2
    url = body["photos"][0]["url"]
    assert url.startswith(f"/api/v1/demands/track/{body['tracking_code']}/photos/")
    image = client.get(url)
    assert (image.status_code, image["Content-Type"]) == (200, "image/png")
    assert image["Content-Security-Policy"].startswith("sandbox")
    detail = as_user(world, "staff").get(f"/demands/{body['id']}").json()
    staff_url = detail["photos"][0]["url"].removeprefix("/api/v1")
    assert as_user(world, "staff").client.get("/api/v1" + staff_url, headers=as_user(world, "staff").headers)
    assert as_user(world, "other_staff").get(staff_url).status_code == 404
    assert (
        ApiClient().get(url.removeprefix("/api/v1").replace(body["tracking_code"], "NOSUCH22")).status_code
        == 404
    )


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_stored(world, media):
    response = Client().post("/api/v1/demands/form", {**new_body(world), "photos": [not_an_image()]})
    assert (response.status_code, response.json()["code"]) == (400, "not_an_image")
    assert not Demand.objects.exists()
    assert not DemandPhoto.objects.exists()


def test_categories_suggestion_and_similar_open_demands_need_no_account(world):
    anonymous = ApiClient()
    categories = anonymous.get("/demands/categories").json()
    assert {"code": "drain", "name": "下水道堵塞"}.items() <= categories[0].items()
    assert anonymous.get("/demands/suggest-category", {"text": "楼道灯不亮了"}).json()["category"][
        "code"
    ] == ("streetlight")
    assert anonymous.get("/demands/suggest-category", {"text": "你好"}).json() == {"category": None}
    open_one = reported(world)
    closed = resolved(world, text="5栋下水道堵了")
    elsewhere = reported(world, place="a2_bldg")
    similar = anonymous.get(
        "/demands/similar",
        {"text": "下水道又堵了", "area_id": world.areas["a1_bldg"].pk, "category": "drain"},
    )
    assert similar.status_code == 200
    ids = [d["id"] for d in similar.json()]
    assert open_one.pk in ids
    assert closed.pk not in ids
    assert elsewhere.pk not in ids
    assert open_one.tracking_code not in similar.content.decode()
    assert set(similar.json()[0]) == {"id", "excerpt", "category", "status", "status_label", "created_at"}
    bad = anonymous.get("/demands/similar", {"text": "x", "area_id": world.areas["street_a"].pk})
    assert (bad.status_code, bad.json()["fields"]) == (400, {"area_id": ["请选择楼栋、小区或社区"]})
    unknown = anonymous.get("/demands/similar", {"area_id": world.areas["a1_bldg"].pk, "category": "nope"})
    assert unknown.status_code == 400


def test_a_resident_follows_an_already_reported_problem(world):
    original = reported(world)
    response = ApiClient().post(f"/demands/{original.pk}/follow", {"reporter_name": "王大爷"})
    assert response.status_code == 201
    follower = Demand.objects.get(pk=response.json()["id"])
    assert (follower.status, follower.merged_into_id) == (DemandStatus.MERGED, original.pk)
    assert response.json()["merged"] is True
    resolved_original = resolved(world)
    assert ApiClient().post(f"/demands/{resolved_original.pk}/follow", {}).status_code == 404


# --- The loop ------------------------------------------------------------------------------------


def test_the_whole_loop_assign_start_resolve_rate(world):
    demand = reported(world)
    staff, member = as_user(world, "staff"), as_user(world, "member")
    accepted = staff.post(f"/demands/{demand.pk}/accept", {"version": demand.version})
    assert (accepted.status_code, accepted.json()["status"]) == (200, "accepted")
    version = accepted.json()["version"]
    body = {"kind": "member", "target_id": world.members["member"].pk, "version": version}
    assigned = staff.post(f"/demands/{demand.pk}/assign", body)
    assert assigned.status_code == 200
    assert assigned.json()["assignee"] == {
        "kind": "member",
        "kind_label": "党员",
        "id": world.members["member"].pk,
        "name": "李建国",
    }
    work = member.get("/demands/assigned").json()
    assert [d["id"] for d in work["items"]] == [demand.pk]
    assert work["items"][0]["tracking_code"] is None  # the handler cannot rate their own work
    assert member.post(f"/demands/{demand.pk}/start", {}).json()["status"] == "in_progress"
    done = member.post(f"/demands/{demand.pk}/resolve", {"resolution": "已疏通下水道"})
    assert (done.json()["status"], done.json()["resolution"]) == ("resolved", "已疏通下水道")
    assert member.get(f"/demands/{demand.pk}").json()["tracking_code"] is None
    rated = ApiClient().post(
        f"/demands/{demand.pk}/rate", {"rating": "satisfied", "tracking_code": demand.tracking_code}
    )
    assert rated.status_code == 200
    assert (rated.json()["status"], rated.json()["rating_label"]) == ("closed", "满意")
    again = ApiClient().post(
        f"/demands/{demand.pk}/rate",
        {"rating": "unsatisfied", "comment": "x", "tracking_code": demand.tracking_code},
    )
    assert (again.status_code, again.json()["code"]) == (409, "already_rated")
    kinds = [e["kind"] for e in staff.get(f"/demands/{demand.pk}").json()["timeline"]]
    assert kinds == ["submitted", "accepted", "assigned", "started", "resolved", "confirmed"]


def test_a_resident_with_an_account_sees_their_own_and_rates_from_it(world):
    resident = as_user(world, "resident")
    created = resident.post("/demands", new_body(world))
    demand = Demand.objects.get(pk=created.json()["id"])
    assert demand.reporter_id == world.users["resident"].pk
    mine = resident.get("/demands/mine").json()
    assert [(d["id"], d["tracking_code"]) for d in mine["items"]] == [(demand.pk, demand.tracking_code)]
    assert as_user(world, "outsider").get("/demands/mine").json()["count"] == 0
    staff = world.actor("staff")
    services.accept_demand(actor=staff, demand_id=demand.pk)
    services.resolve_demand(actor=staff, demand_id=demand.pk, resolution="已疏通")
    assert (
        as_user(world, "outsider").post(f"/demands/{demand.pk}/rate", {"rating": "basic"}).status_code == 404
    )
    unsatisfied = resident.post(f"/demands/{demand.pk}/rate", {"rating": "unsatisfied"})
    assert (unsatisfied.status_code, unsatisfied.json()["code"]) == (400, "comment_empty")
    rated = resident.post(f"/demands/{demand.pk}/rate", {"rating": "basic"})
    assert (rated.status_code, rated.json()["status"]) == (200, "closed")


def test_only_the_reporter_or_managing_staff_rate(world):
    demand = assigned_to_member(world)
    services.resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已疏通")
    assert (
        as_user(world, "member").post(f"/demands/{demand.pk}/rate", {"rating": "satisfied"}).status_code
        == 403
    )
    assert ApiClient().post(f"/demands/{demand.pk}/rate", {"rating": "satisfied"}).status_code == 401
    wrong_code = reported(world, text="路灯不亮").tracking_code
    assert (
        ApiClient()
        .post(f"/demands/{demand.pk}/rate", {"rating": "satisfied", "tracking_code": wrong_code})
        .status_code
        == 404
    )
    callback = as_user(world, "staff").post(f"/demands/{demand.pk}/rate", {"rating": "satisfied"})
    assert callback.status_code == 200
    demand.refresh_from_db()
    assert (demand.status, demand.rated_by_staff) == ("closed", True)


def test_a_resident_reopens_what_was_not_solved(world):
    demand = resolved(world)
    body = {"reason": "还是堵", "tracking_code": demand.tracking_code}
    reopened = ApiClient().post(f"/demands/{demand.pk}/reopen", body)
    assert (reopened.status_code, reopened.json()["status"]) == (200, "accepted")
    assert ApiClient().post(f"/demands/{demand.pk}/reopen", body).status_code == 409
    empty = ApiClient().post(
        f"/demands/{demand.pk}/reopen", {"reason": "", "tracking_code": demand.tracking_code}
    )
    assert empty.status_code == 400


def test_a_stale_version_and_a_second_assignment_are_conflicts(world):
    demand = reported(world)
    staff = as_user(world, "staff")
    stale = staff.post(f"/demands/{demand.pk}/accept", {"version": demand.version + 1})
    assert (stale.status_code, stale.json()["code"]) == (409, "stale")
    assert stale.json()["message"] == "这条诉求刚刚已被他人处理，请刷新后查看最新状态"
    first = {"kind": "branch", "target_id": world.areas["a1_estate"].pk, "version": demand.version}
    assert staff.post(f"/demands/{demand.pk}/assign", first).status_code == 200
    second = staff.post(
        f"/demands/{demand.pk}/assign", {"kind": "team", "target_id": world.teams["a1_team"].pk}
    )
    assert (second.status_code, second.json()["code"]) == (409, "already_assigned")
    assert "幸福小区党支部" in second.json()["message"]
    moved = staff.post(
        f"/demands/{demand.pk}/assign",
        {"kind": "team", "target_id": world.teams["a1_team"].pk, "reassign": True},
    )
    assert (moved.status_code, moved.json()["assignee"]["name"]) == (200, "3栋第1组")


def test_illegal_steps_are_refused(world):
    demand = reported(world)
    staff = as_user(world, "staff")
    assert staff.post(f"/demands/{demand.pk}/decline", {"reason": ""}).status_code == 400
    declined = staff.post(f"/demands/{demand.pk}/decline", {"reason": "不属于社区职责"})
    assert (declined.status_code, declined.json()["decline_reason"]) == (200, "不属于社区职责")
    late = staff.post(f"/demands/{demand.pk}/resolve", {"resolution": "已处理"})
    assert (late.status_code, late.json()["code"]) == (409, "bad_state")
    other = reported(world)
    elsewhere = staff.post(
        f"/demands/{other.pk}/assign", {"kind": "member", "target_id": world.members["other_member"].pk}
    )
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (400, "assignee_elsewhere")
    bad_kind = staff.post(f"/demands/{other.pk}/assign", {"kind": "friend", "target_id": 1})
    assert bad_kind.status_code == 422
    Demand.objects.filter(pk=other.pk).update(status=DemandStatus.SUBMITTED)
    assert Demand.objects.get(pk=other.pk).assignee_kind == ""


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("other_staff", 404),
        ("building_head", 403),
        ("street_staff", 403),
        ("member", 404),
        ("unit_organiser", 404),
    ],
)
def test_staff_steps_are_refused_outside_their_rights(world, who, status):
    demand = reported(world)
    response = as_user(world, who).post(f"/demands/{demand.pk}/accept", {})
    assert response.status_code == status
    demand.refresh_from_db()
    assert (demand.status, demand.version) == ("submitted", 1)


def test_handlers_steps_are_refused_to_others(world):
    demand = assigned_to_member(world)
    assert as_user(world, "other_member").post(f"/demands/{demand.pk}/start", {}).status_code == 404
    assert as_user(world, "building_head").post(f"/demands/{demand.pk}/start", {}).status_code == 403
    assert (
        as_user(world, "other_staff").post(f"/demands/{demand.pk}/resolve", {"resolution": "x"}).status_code
        == 404
    )
    demand.refresh_from_db()
    assert demand.status == "assigned"
    member = as_user(world, "member")
    assert member.post(f"/demands/{demand.pk}/start", {"version": demand.version}).status_code == 200
    twice = member.post(f"/demands/{demand.pk}/start", {})
    assert (twice.status_code, twice.json()["code"]) == (409, "bad_state")


def test_recategorise_and_notes(world):
    demand = reported(world, text="请尽快来处理一下")
    staff = as_user(world, "staff")
    moved = staff.post(f"/demands/{demand.pk}/recategorise", {"category": "streetlight"})
    assert moved.json()["category"] == {"code": "streetlight", "name": "路灯照明"}
    assert staff.post(f"/demands/{demand.pk}/recategorise", {"category": "nope"}).status_code == 400
    note = staff.post(f"/demands/{demand.pk}/notes", {"text": "已电话联系物业"})
    assert (note.status_code, note.json()["kind"], note.json()["text"]) == (201, "note", "已电话联系物业")
    assert staff.post(f"/demands/{demand.pk}/notes", {"text": ""}).status_code == 400
    assert (
        as_user(world, "building_head").post(f"/demands/{demand.pk}/notes", {"text": "x"}).status_code == 403
    )
    assert as_user(world, "other_staff").post(f"/demands/{demand.pk}/notes", {"text": "x"}).status_code == 404
    detail = staff.get(f"/demands/{demand.pk}").json()
    assert [e["kind"] for e in detail["timeline"]] == ["submitted", "recategorised", "note"]
    public = ApiClient().get(f"/demands/track/{demand.tracking_code}").json()
    assert [e["kind"] for e in public["timeline"]] == ["submitted", "recategorised"]  # notes stay inside


def test_merge_duplicates_and_resolve_them_together(world):
    main, dup = reported(world), reported(world, text="下水道堵了好几天了")
    staff = as_user(world, "staff")
    merged = staff.post(f"/demands/{main.pk}/merge", {"demand_ids": [dup.pk]})
    assert (merged.status_code, merged.json()["merged_ids"]) == (200, [dup.pk])
    assert staff.get(f"/demands/{dup.pk}").json()["merged_into_id"] == main.pk
    services.accept_demand(actor=world.actor("staff"), demand_id=main.pk)
    staff.post(f"/demands/{main.pk}/resolve", {"resolution": "已疏通"})
    assert ApiClient().get(f"/demands/track/{dup.tracking_code}").json()["status"] == "resolved"
    assert staff.post(f"/demands/{main.pk}/merge", {"demand_ids": []}).status_code == 400
    elsewhere = reported(world, place="a2_bldg")
    fresh = reported(world)
    assert staff.post(f"/demands/{fresh.pk}/merge", {"demand_ids": [elsewhere.pk]}).status_code == 404


# --- Escalations ---------------------------------------------------------------------------------


def test_escalate_to_the_street_which_takes_it_on_and_reports_back(world):
    demand = reported(world)
    staff, street = as_user(world, "staff"), as_user(world, "street_staff")
    sent = staff.post(f"/demands/{demand.pk}/escalate", {"target": "street", "reason": "涉及市政管网"})
    assert sent.status_code == 201
    assert (sent.json()["to"], sent.json()["status"]) == ("文艺路街道", "sent")
    inbox = street.get("/escalations").json()
    assert [(e["id"], e["demand"]["id"]) for e in inbox["items"]] == [(sent.json()["id"], demand.pk)]
    assert as_user(world, "staff").get("/escalations").json()["count"] == 0
    escalation_id = sent.json()["id"]
    assert (
        as_user(world, "other_staff")
        .post(f"/escalations/{escalation_id}/answer", {"accept": True})
        .status_code
        == 404
    )
    taken = street.post(f"/escalations/{escalation_id}/answer", {"accept": True, "answer": "已安排"})
    assert (taken.status_code, taken.json()["status"]) == (200, "accepted")
    assert street.post(f"/escalations/{escalation_id}/answer", {"accept": True}).status_code == 409
    assert street.post(f"/escalations/{escalation_id}/report", {"answer": ""}).status_code == 400
    reported_back = street.post(f"/escalations/{escalation_id}/report", {"answer": "市政已更换管道"})
    assert (reported_back.status_code, reported_back.json()["demand"]["status"]) == (200, "resolved")
    assert street.get("/escalations").json()["count"] == 0
    assert street.get("/escalations", {"open_only": False}).json()["count"] == 1
    detail = staff.get(f"/demands/{demand.pk}").json()
    assert [e["status"] for e in detail["escalations"]] == ["reported"]


def test_escalate_to_a_work_unit_which_sends_it_back(world):
    demand = reported(world)
    staff, unit = as_user(world, "staff"), as_user(world, "unit_organiser")
    no_unit = staff.post(f"/demands/{demand.pk}/escalate", {"target": "work_unit", "reason": "需要单位支持"})
    assert (no_unit.status_code, no_unit.json()["code"]) == (400, "unknown_work_unit")
    body = {"target": "work_unit", "reason": "需要单位支持", "work_unit_id": world.units["u1"].pk}
    unpaired = staff.post(f"/demands/{demand.pk}/escalate", body)
    assert (unpaired.status_code, unpaired.json()["code"]) == (400, "unit_not_paired")
    Pairing.objects.create(  # 结对共建: a demand is escalated only to a unit paired with its community
        work_unit=world.units["u1"], community=world.areas["a1"], starts_on=timezone.localdate()
    )
    sent = staff.post(f"/demands/{demand.pk}/escalate", body).json()
    assert unit.get(f"/demands/{demand.pk}").status_code == 200  # the unit sees what it was sent
    assert unit.post(f"/escalations/{sent['id']}/answer", {"accept": False}).status_code == 400
    back = unit.post(f"/escalations/{sent['id']}/answer", {"accept": False, "answer": "不属于本单位"})
    assert (back.status_code, back.json()["status"]) == (200, "declined")
    assert unit.get(f"/demands/{demand.pk}").status_code == 404
    assert staff.get(f"/demands/{demand.pk}").json()["status"] == "accepted"
    assert as_user(world, "member").post(f"/demands/{demand.pk}/escalate", body).status_code == 404
    assert Escalation.objects.count() == 1


# --- Complaints and suggestions ------------------------------------------------------------------


def test_complaints_and_suggestions(world):
    demand = reported(world)
    body = {
        "community_id": world.areas["a1"].pk,
        "kind": "complaint",
        "text": "下水道报了三天没人管",
        "contact_name": "陈奶奶",
        "contact_phone": PHONE,
        "demand_code": demand.tracking_code,
    }
    sent = ApiClient().post("/feedback", body)
    assert sent.status_code == 201
    code = sent.json()["tracking_code"]
    assert (sent.json()["kind_label"], sent.json()["community"]) == ("投诉", "识字岭社区")
    staff = as_user(world, "staff")
    listed = staff.get("/feedback", {"answered": False}).json()
    item = listed["items"][0]
    assert (item["contact_phone_masked"], item["demand_id"], item["tracking_code"]) == (
        "139****5678",
        demand.pk,
        None,
    )
    assert PHONE not in staff.get("/feedback").content.decode()
    assert as_user(world, "other_staff").get("/feedback").json()["count"] == 0
    assert (
        as_user(world, "other_staff").post(f"/feedback/{item['id']}/answer", {"answer": "x"}).status_code
        == 404
    )
    assert as_user(world, "other_staff").get(f"/feedback/{item['id']}").status_code == 404
    assert staff.post(f"/feedback/{item['id']}/answer", {"answer": ""}).status_code == 400
    answered = staff.post(f"/feedback/{item['id']}/answer", {"answer": "已督办，明天处理"})
    assert (answered.status_code, answered.json()["answer"]) == (200, "已督办，明天处理")
    assert staff.post(f"/feedback/{item['id']}/answer", {"answer": "again"}).status_code == 409
    assert ApiClient().get(f"/feedback/track/{code}").json()["answer"] == "已督办，明天处理"
    assert ApiClient().get("/feedback/track/NOSUCH22").status_code == 404


def test_a_signed_in_author_sees_their_own_feedback_with_its_code(world):
    resident = as_user(world, "resident")
    body = {"community_id": world.areas["a1"].pk, "kind": "suggestion", "text": "建议增加充电桩"}
    code = resident.post("/feedback", body).json()["tracking_code"]
    mine = resident.get("/feedback").json()
    assert [f["tracking_code"] for f in mine["items"]] == [code]
    assert as_user(world, "outsider").get("/feedback").json()["count"] == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": ""}, 400),
        ({"text": "长" * 2001}, 400),
        ({"contact_phone": "123"}, 400),
        ({"community_id": 0}, 400),
        ({"demand_code": "NOSUCH22"}, 400),
        ({"kind": "praise"}, 422),
    ],
)
def test_bad_feedback_is_refused_and_stores_nothing(world, body, status):
    base = {"community_id": world.areas["a1"].pk, "kind": "suggestion", "text": "建议"}
    assert ApiClient().post("/feedback", {**base, **body}).status_code == status
    assert not Feedback.objects.exists()


# --- Lists, scope, credentials -------------------------------------------------------------------


def test_lists_filter_within_scope(world):
    drain = reported(world)
    light = reported(world, text="路灯不亮", place="a1_bldg2")
    other = reported(world, place="a2_bldg")
    Demand.objects.filter(pk=light.pk).update(overdue=True)
    staff = as_user(world, "staff")

    def ids(client, **params):
        return sorted(d["id"] for d in client.get("/demands", params).json()["items"])

    assert ids(staff) == sorted([drain.pk, light.pk])
    assert ids(staff, category="streetlight") == [light.pk]
    assert ids(staff, overdue=True) == [light.pk]
    assert ids(staff, status="submitted", estate_id=world.areas["a1_estate"].pk) == sorted(
        [drain.pk, light.pk]
    )
    assert ids(staff, community_id=world.areas["a2"].pk) == []
    assert ids(as_user(world, "other_staff")) == [other.pk]
    assert ids(as_user(world, "street_staff")) == sorted([drain.pk, light.pk, other.pk])
    assert ids(as_user(world, "member")) == []
    assert ids(as_user(world, "resident")) == []
    assert ids(as_user(world, "unit_organiser")) == []
    assert staff.get("/demands", {"status": "lost"}).status_code == 422
    assert as_user(world, "other_staff").get(f"/demands/{drain.pk}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/demands"),
        ("GET", "/demands/1"),
        ("GET", "/demands/mine"),
        ("GET", "/demands/assigned"),
        ("POST", "/demands/1/accept"),
        ("POST", "/demands/1/notes"),
        ("GET", "/escalations"),
        ("POST", "/escalations/1/answer"),
        ("GET", "/feedback"),
        ("POST", "/feedback/1/answer"),
    ],
)
def test_no_credentials_get_401(world, method, path):
    response = ApiClient().request(method, path, {} if method == "POST" else None)
    assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")


def test_a_wrong_token_is_401_even_where_no_account_is_needed(world):
    response = ApiClient(token="hj_wrong").post("/demands", new_body(world))
    assert (response.status_code, response.json()["code"]) == (401, "invalid_token")
    assert not Demand.objects.exists()


def test_every_operation_is_in_the_openapi_document_with_its_errors(db):
    doc = Client().get("/api/v1/openapi.json").json()
    expected = {
        ("get", "/api/v1/demands"): {401, 422},
        ("post", "/api/v1/demands"): {400, 401, 403, 422},
        ("post", "/api/v1/demands/form"): {400, 401, 403, 422},
        ("get", "/api/v1/demands/{demand_id}"): {401, 404, 422},
        ("get", "/api/v1/demands/track/{code}"): {401, 404, 422},
        ("get", "/api/v1/demands/categories"): {401},
        ("get", "/api/v1/demands/similar"): {400, 401, 422},
        ("get", "/api/v1/demands/suggest-category"): {401, 422},
        ("get", "/api/v1/demands/mine"): {401, 422},
        ("get", "/api/v1/demands/assigned"): {401, 422},
        ("post", "/api/v1/demands/{demand_id}/follow"): {400, 401, 403, 404, 422},
        ("post", "/api/v1/demands/{demand_id}/notes"): {400, 401, 403, 404, 422},
        ("get", "/api/v1/escalations"): {401, 422},
        ("post", "/api/v1/escalations/{escalation_id}/answer"): {400, 401, 403, 404, 409, 422},
        ("post", "/api/v1/escalations/{escalation_id}/report"): {400, 401, 403, 404, 409, 422},
        ("post", "/api/v1/feedback"): {400, 401, 403, 422},
        ("get", "/api/v1/feedback"): {401, 422},
        ("get", "/api/v1/feedback/{feedback_id}"): {401, 404, 422},
        ("post", "/api/v1/feedback/{feedback_id}/answer"): {400, 401, 403, 404, 409, 422},
        ("get", "/api/v1/feedback/track/{code}"): {401, 404, 422},
    }
    for step in (
        "accept",
        "decline",
        "assign",
        "start",
        "resolve",
        "rate",
        "reopen",
        "recategorise",
        "merge",
    ):
        expected[("post", f"/api/v1/demands/{{demand_id}}/{step}")] = {400, 401, 403, 404, 409, 422}
    expected[("post", "/api/v1/demands/{demand_id}/escalate")] = {400, 401, 403, 404, 409, 422}
    for (method, path), statuses in expected.items():
        op = doc["paths"][path][method]
        responses = {int(code): body for code, body in op["responses"].items()}
        assert statuses <= set(responses), (method, path)
        for status in statuses:
            body = responses[status]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
    public = doc["paths"]["/api/v1/demands/track/{code}"]["get"]["security"]
    assert {} in public  # credentials optional
    assert {} not in doc["paths"]["/api/v1/demands"]["get"]["security"]


def test_list_endpoints_take_the_same_queries_whatever_their_length(world, django_assert_max_num_queries):
    staff, member, resident, street = (
        as_user(world, n) for n in ("staff", "member", "resident", "street_staff")
    )
    paths = {
        "/demands": staff,
        "/demands/mine": resident,
        "/demands/assigned": member,
        "/escalations": street,
        "/feedback": staff,
    }

    def add(n):
        resident_actor, staff_actor = world.actor("resident"), world.actor("staff")
        for i in range(n):
            mine = services.submit_demand(
                actor=resident_actor,
                data=services.DemandInput(description=f"下水道堵了{i}", area_id=world.areas["a1_bldg"].pk),
            )
            services.assign_demand(
                actor=staff_actor, demand_id=mine.pk, kind="team", target_id=world.teams["a1_team"].pk
            )
            other = reported(world, text=f"路灯不亮{i}", place="a1_bldg2")
            services.escalate_demand(
                actor=staff_actor, demand_id=other.pk, target="street", reason="需要街道协调"
            )
            from huijia.demands.feedback import FeedbackInput, submit_feedback

            submit_feedback(
                actor=ANONYMOUS,
                data=FeedbackInput(
                    community_id=world.areas["a1"].pk, kind="suggestion", text=f"建议{i}", contact_phone=PHONE
                ),
            )

    add(1)
    firsts = {}
    for path, client in paths.items():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(path).status_code == 200
        firsts[path] = len(ctx)
    add(5)
    for path, client in paths.items():
        with django_assert_max_num_queries(firsts[path]):
            assert len(client.get(path).json()["items"]) >= 6, path

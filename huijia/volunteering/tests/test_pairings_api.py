"""The pairing endpoints under /api/v1/volunteer/: list, create, one pairing with its joint activities,
end, coverage, and a work unit's view of its members' service. Every answer is declared in OpenAPI
(ApiClient checks it)."""

from decimal import Decimal

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huijia.accounts.tests.test_api import as_user
from huijia.orgs.models import WorkUnit
from huijia.volunteering.models import Pairing
from huijia.volunteering.testing import record
from huijia.volunteering.tests.test_pairings_reads import joint
from huijia.volunteering.tests.test_pairings_services import pair


def test_create_list_show_and_end_a_pairing(world):
    street = as_user(world, "street_staff")
    body = {
        "work_unit_id": world.units["u1"].pk,
        "community_id": world.areas["a1"].pk,
        "commitments": ["每季度一次联合志愿服务", "帮助维修路灯"],
    }
    made = street.post("/volunteer/pairings", body)
    assert made.status_code == 201
    data = made.json()
    assert (data["work_unit"]["name"], data["community"]["name"], data["street"]) == (
        "芙蓉区教育局",
        "识字岭社区",
        "文艺路街道",
    )
    assert (data["state"], data["starts_on"], data["ends_on"]) == (
        "active",
        timezone.localdate().isoformat(),
        None,
    )
    assert data["commitments"] == ["每季度一次联合志愿服务", "帮助维修路灯"]
    again = street.post("/volunteer/pairings", body)
    assert (again.status_code, again.json()["code"]) == (409, "already_paired")

    unit = as_user(world, "unit_organiser")
    listed = unit.get("/volunteer/pairings").json()
    assert (listed["count"], listed["items"][0]["id"], listed["items"][0]["joint_activities"]) == (
        1,
        data["id"],
        0,
    )
    assert as_user(world, "other_staff").get("/volunteer/pairings").json()["count"] == 0

    pairing = Pairing.objects.get()
    record(joint(world, pairing, people_served=30).slots.get(), world.members["member"], hours="2")
    shown = unit.get(f"/volunteer/pairings/{pairing.pk}").json()
    assert [(a["title"], a["participants"], a["hours"], a["people_served"]) for a in shown["joint"]] == [
        ("共建活动：义诊", 1, "2.00", 30)
    ]
    assert shown["total"] == {
        "activities": 1,
        "participants": 1,
        "services": 1,
        "hours": "2.00",
        "people_served": 30,
    }
    assert as_user(world, "other_staff").get(f"/volunteer/pairings/{pairing.pk}").status_code == 404

    refused = unit.post(f"/volunteer/pairings/{pairing.pk}/end", {})
    assert refused.status_code == 403
    ended = as_user(world, "staff").post(f"/volunteer/pairings/{pairing.pk}/end", {"reason": "单位撤并"})
    assert (ended.status_code, ended.json()["state"]) == (200, "ended")
    twice = street.post(f"/volunteer/pairings/{pairing.pk}/end", {})
    assert twice.status_code == 409
    assert unit.get("/volunteer/pairings", {"state": "ended"}).json()["count"] == 1
    assert unit.get("/volunteer/pairings", {"state": "active"}).json()["count"] == 0


def test_bad_input_answers_a_clear_error_and_stores_nothing(world):
    street = as_user(world, "street_staff")
    base = {"work_unit_id": world.units["u1"].pk, "community_id": world.areas["a1"].pk}
    cases = [
        ({**base, "work_unit_id": 999_999}, 400, "unknown_work_unit"),
        ({**base, "starts_on": "2026-05-01", "ends_on": "2026-04-01"}, 400, "ends_before_start"),
        ({**base, "commitments": ["长" * 101]}, 400, "commitment_too_long"),
        ({**base, "community_id": world.areas["b1"].pk}, 404, "not_found"),
        ({**base, "starts_on": "not a date"}, 422, None),
        ({"community_id": world.areas["a1"].pk}, 422, None),
    ]
    for body, status, code in cases:
        answer = street.post("/volunteer/pairings", body)
        assert answer.status_code == status, (body, answer.json())
        if code:
            assert answer.json()["code"] == code
        assert answer.json()["message"]
    assert as_user(world, "unit_organiser").post("/volunteer/pairings", base).status_code == 404
    assert not Pairing.objects.exists()


def test_coverage(world):
    pair(world)
    city = as_user(world, "org_dept").get("/volunteer/pairings/coverage").json()
    assert (city["area"]["name"], city["communities"], city["paired_communities"], city["all_paired"]) == (
        "长沙市",
        3,
        1,
        False,
    )
    assert [c["name"] for c in city["unpaired_communities"]] == ["燕子岭社区", "新园社区"]
    assert [u["name"] for u in city["unpaired_units"]] == ["长沙市自来水公司"]
    assert city["parts"] == [
        {"area": {"id": world.areas["district"].pk, "name": "芙蓉区"}, "communities": 3, "paired": 1}
    ]
    street = as_user(world, "street_staff")
    assert (
        street.get("/volunteer/pairings/coverage", {"area_id": world.areas["street_b"].pk}).status_code == 404
    )
    assert as_user(world, "unit_organiser").get("/volunteer/pairings/coverage").status_code == 404


def test_unit_service(world):
    activity = joint(world, pair(world))
    record(activity.slots.get(), world.members["member"], hours="2")
    record(activity.slots.get(), world.members["other_member"], hours="1")  # U2's member
    unit = as_user(world, "unit_organiser")
    data = unit.get("/volunteer/unit-service").json()
    assert (data["work_unit"]["name"], data["year"], data["members_served"], data["hours"]) == (
        "芙蓉区教育局",
        timezone.localdate().year,
        1,
        "2.00",
    )
    assert [(r["name"], r["community"], r["services"], Decimal(r["hours"])) for r in data["rows"]] == [
        ("李建国", "识字岭社区", 1, Decimal("2"))
    ]
    assert unit.get("/volunteer/unit-service", {"work_unit_id": world.units["u2"].pk}).status_code == 404
    assert unit.get("/volunteer/unit-service", {"year": 1900}).status_code == 422
    assert as_user(world, "staff").get("/volunteer/unit-service").status_code == 404


def test_the_list_endpoint_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    org = as_user(world, "org_dept")
    pair(world)
    org.get("/volunteer/pairings")
    with CaptureQueriesContext(connection) as few:
        org.get("/volunteer/pairings")
    for i in range(10):
        world.units[f"x{i}"] = WorkUnit.objects.create(name=f"单位{i}")
        pair(world, unit=f"x{i}", community="b1", who="org_dept", commitments="甲\n乙")
    with django_assert_max_num_queries(len(few)):
        assert org.get("/volunteer/pairings").json()["count"] == 11

"""Care through the JSON API: the file, pairings, the overdue list, a member's own pairings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huijia.accounts.tests.test_api import as_user
from huijia.care.models import CarePairing, VulnerablePerson
from huijia.care.tests.helpers import days_ago, pairing, visit, vulnerable
from huijia.grid.models import Household
from huijia.members.models import HouseholdAccess


def test_add_list_and_end_a_file_entry(world):
    staff = as_user(world, "estate_secretary")
    created = staff.post(
        "/care/vulnerable",
        {
            "household_id": world.households["a1_202"].pk,
            "kind": "elderly_alone",
            "name": "张奶奶",
            "note": "独居",
        },
    )
    assert created.status_code == 201
    person = created.json()
    assert (person["kind_label"], person["household"]["label"]) == ("独居老人", "3栋 1单元202室")
    listed = staff.get("/care/vulnerable", {"area_id": world.areas["a1_estate"].pk}).json()
    assert [p["id"] for p in listed["items"]] == [person["id"]]
    again = staff.post(
        "/care/vulnerable",
        {"household_id": world.households["a1_202"].pk, "kind": "elderly_alone", "name": "张奶奶"},
    )
    assert again.status_code == 409
    ended = staff.post(f"/care/vulnerable/{person['id']}/end")
    assert ended.status_code == 200
    assert ended.json()["ended_at"]
    assert staff.post(f"/care/vulnerable/{person['id']}/end").status_code == 409


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("building_head", {"kind": "disabled"}, 403),
        ("other_staff", {"kind": "disabled"}, 404),
        ("staff", {"kind": "rich"}, 422),
        ("staff", {"kind": "disabled", "note": "长" * 201}, 400),
    ],
)
def test_file_errors_store_nothing(world, who, body, status):
    response = as_user(world, who).post(
        "/care/vulnerable", {"household_id": world.households["a1_202"].pk, **body}
    )
    assert response.status_code == status
    assert not VulnerablePerson.objects.exists()


def test_create_and_end_a_pairing(world):
    vulnerable(world, "a1_bldg2_101", "hardship")
    staff = as_user(world, "staff")
    created = staff.post(
        "/care/pairings",
        {
            "household_id": world.households["a1_bldg2_101"].pk,
            "member_ids": [world.members["member"].pk],
            "cadence_days": 30,
            "note": "每月送米",
        },
    )
    assert created.status_code == 201
    p = created.json()
    assert [m["name"] for m in p["members"]] == ["李建国"]
    assert p["kinds"] == [{"kind": "hardship", "kind_label": "困难家庭"}]
    assert (p["cadence_days"], p["last_visit"], p["days_overdue"]) == (30, None, 0)
    assert HouseholdAccess.objects.filter(by_care=True).count() == 1
    mine = as_user(world, "member").get("/care/pairings/mine").json()
    assert [x["id"] for x in mine["items"]] == [p["id"]]
    ended = staff.post(f"/care/pairings/{p['id']}/end", {})
    assert ended.status_code == 200
    assert ended.json()["ended_on"]
    assert not HouseholdAccess.objects.filter(by_care=True).exists()
    assert staff.post(f"/care/pairings/{p['id']}/end", {}).status_code == 409


def test_pairing_errors_store_nothing(world):
    vulnerable(world, "a1_bldg2_101", "hardship")
    staff = as_user(world, "staff")
    base = {"household_id": world.households["a1_bldg2_101"].pk, "member_ids": [world.members["member"].pk]}
    wrong = staff.post("/care/pairings", {**base, "member_ids": [world.members["other_member"].pk]})
    assert (wrong.status_code, wrong.json()["code"]) == (400, "member_not_reporting")
    assert wrong.json()["fields"] == {"member_ids": ["结对党员须是在识字岭社区报到的党员"]}
    assert staff.post("/care/pairings", {**base, "cadence_days": 0}).status_code == 400
    assert as_user(world, "member").post("/care/pairings", base).status_code == 404
    assert as_user(world, "street_staff").post("/care/pairings", base).status_code == 403
    assert not CarePairing.objects.exists()
    assert not HouseholdAccess.objects.filter(by_care=True).exists()


def test_the_overdue_list(world):
    late = pairing(world, "a1_101", "member", cadence=7, started=days_ago(30))
    visit(world, "a1_101", on=days_ago(10))
    pairing(world, "a1_102", "member", cadence=30, started=days_ago(3))
    secretary = as_user(world, "estate_secretary")
    body = secretary.get("/care/overdue", {"area_id": world.areas["a1_estate"].pk}).json()
    assert [(x["id"], x["days_overdue"], x["last_visit"]) for x in body["items"]] == [
        (late.pk, 3, days_ago(10).isoformat())
    ]
    assert (
        as_user(world, "other_staff")
        .get("/care/overdue", {"area_id": world.areas["a1_estate"].pk})
        .status_code
        == 404
    )


def test_list_endpoints_take_the_same_queries_whatever_their_length(world, django_assert_max_num_queries):
    staff = as_user(world, "staff")
    area = {"area_id": world.areas["a1"].pk}

    def add(n):
        for i in range(n):
            key = f"h{Household.objects.count()}"
            world.households[key] = Household.objects.create(
                building=world.areas["a1_bldg2"], floor=6, room=f"6{i}{key}"
            )
            vulnerable(world, key, "hardship")
            pairing(world, key, "member", cadence=7, started=days_ago(30))

    add(1)
    firsts = {}
    for path in ("/care/vulnerable", "/care/pairings", "/care/overdue"):
        with CaptureQueriesContext(connection) as ctx:
            staff.get(path, area)
        firsts[path] = len(ctx)
    add(5)
    for path, first in firsts.items():
        with django_assert_max_num_queries(first):
            assert len(staff.get(path, area).json()["items"]) == 6

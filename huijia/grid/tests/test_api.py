"""The directory a member uses to report in: area children, community search, a building's households."""

import pytest

from huijia.accounts.tests.test_api import ApiClient, as_user
from huijia.grid.models import Household


def test_area_children_lists_each_child_with_its_own_child_count(world):
    member = as_user(world, "member")
    response = member.get(f"/areas/{world.areas['street_a'].pk}/children")
    assert response.status_code == 200
    assert sorted((a["name"], a["kind"], a["kind_label"], a["child_count"]) for a in response.json()) == [
        ("燕子岭社区", "community", "社区", 1),
        ("识字岭社区", "community", "社区", 1),
    ]
    estate = world.areas["a1_estate"]
    buildings = member.get(f"/areas/{estate.pk}/children").json()
    assert sorted(b["name"] for b in buildings) == ["3栋", "5栋"]


@pytest.mark.parametrize("area_id", ["999999", "abc"])
def test_unknown_area_gets_the_error_body(world, area_id):
    response = as_user(world, "staff").get(f"/areas/{area_id}/children")
    assert response.status_code == (404 if area_id.isdigit() else 422)
    if response.status_code == 404:
        assert response.json()["code"] == "not_found"
    else:
        assert "area_id" in response.json()["fields"]


def test_community_search_matches_community_or_street_name(world):
    member = as_user(world, "member")
    by_name = member.get("/communities", {"q": "识字"}).json()
    assert [(c["name"], c["street"], c["district"]) for c in by_name] == [
        ("识字岭社区", "文艺路街道", "芙蓉区")
    ]
    by_street = member.get("/communities", {"q": "定王台"}).json()
    assert [c["name"] for c in by_street] == ["新园社区"]
    assert len(member.get("/communities").json()) == 3
    assert len(member.get("/communities", {"limit": 2}).json()) == 2


def test_community_search_refuses_an_oversized_limit(world):
    response = as_user(world, "member").get("/communities", {"limit": 1000})
    assert response.status_code == 422
    assert response.json()["fields"] == {"limit": ["不能大于50"]}


def test_building_households_are_listed_in_order(world):
    building = world.areas["a1_bldg"]
    response = as_user(world, "resident").get(f"/buildings/{building.pk}/households")
    assert response.status_code == 200
    assert [(h["unit"], h["floor"], h["room"], h["label"]) for h in response.json()] == [
        ("1单元", 1, "101", "1单元101室"),
        ("1单元", 1, "102", "1单元102室"),
        ("1单元", 2, "201", "1单元201室"),
        ("1单元", 2, "202", "1单元202室"),
    ]


def test_households_of_something_that_is_not_a_building_get_404(world):
    staff = as_user(world, "staff")
    for area_id in (world.areas["a1_estate"].pk, 999_999):
        response = staff.get(f"/buildings/{area_id}/households")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"


def test_directory_needs_authentication(world):
    anonymous = ApiClient()
    assert anonymous.get("/communities").status_code == 401
    assert anonymous.get(f"/areas/{world.areas['city'].pk}/children").status_code == 401
    assert anonymous.get(f"/buildings/{world.areas['a1_bldg'].pk}/households").status_code == 401


def test_household_list_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    building = world.areas["a1_bldg2"]
    member = as_user(world, "member")
    member.get("/communities")  # the token's first use records last_used_at
    counts = []
    for rooms in (range(102, 106), range(106, 130)):
        Household.objects.bulk_create(Household(building=building, floor=1, room=str(r)) for r in rooms)
        with django_assert_max_num_queries(8) as captured:
            member.get(f"/buildings/{building.pk}/households")
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]

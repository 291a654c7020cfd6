"""The three lists through the JSON API: the same rules as the screens, the one error shape, every 4xx
declared in the OpenAPI document, and a fixed number of queries on the list endpoints."""

import pytest
from django.test import Client

from huijia.demands.models import Need, ServiceClaim, ServiceItemStatus
from huijia.demands.tests.test_lists_fixtures import claim, demand, item, need, paired, reporting

API = "/api/v1"


def api(world, who: str | None) -> Client:
    client = Client()
    if who:
        client.force_login(world.users[who])
    return client


def post(client: Client, url: str, body: dict | None = None):
    return client.post(API + url, body or {}, content_type="application/json")


def test_the_resource_list(world):
    reporting(world, "doc", "钱医生", "a1_202", skills=("医疗",), free_time=("weekend",), resources="量血压")
    a1 = world.areas["a1"].pk
    body = api(world, "staff").get(f"{API}/lists/resources?community_id={a1}").json()
    assert body["total"] == 2
    assert [g["name"] for g in body["groups"]] == ["医疗"]
    doctor = body["groups"][0]["members"][0]
    assert doctor == {
        "id": world.members["doc"].pk,
        "name": "钱医生",
        "place": "识字岭社区幸福小区 3栋",
        "skills": ["医疗"],
        "resources": "量血压",
        "free_time": ["weekend"],
        "light_duty": False,
    }
    assert body["without_skills"] == 1
    weekend = api(world, "staff").get(f"{API}/lists/resources?community_id={a1}&free_time=weekend").json()
    assert [m["name"] for m in weekend["members"]] == ["钱医生"]
    assert api(world, "staff").get(f"{API}/lists/resources").status_code == 422
    bad = api(world, "staff").get(f"{API}/lists/resources?community_id={a1}&free_time=never")
    assert bad.status_code == 422
    assert "free_time" in bad.json()["fields"]
    assert (
        api(world, "staff").get(f"{API}/lists/resources?community_id={world.areas['a2'].pk}").status_code
        == 404
    )
    assert api(world, "member").get(f"{API}/lists/resources?community_id={a1}").status_code == 404
    assert api(world, None).get(f"{API}/lists/resources?community_id={a1}").status_code == 401


def test_needs_from_demands_and_by_hand(world):
    ds = [demand(world), demand(world, "a1_bldg2")]
    client = api(world, "staff")
    made = post(client, "/lists/needs", {"demand_ids": [d.pk for d in ds]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["kind"], body["area"]["kind"], body["demand_count"]) == ("common", "estate", 2)
    assert body["category"] == {"code": "drain", "name": "下水道堵塞"}
    by_hand = post(
        client, "/lists/needs", {"title": "老人助餐", "household_id": world.households["a1_201"].pk}
    )
    assert by_hand.json()["household"] == {"id": world.households["a1_201"].pk, "label": "3栋 1单元201室"}
    bad = post(client, "/lists/needs", {"title": "", "area_id": world.areas["a1"].pk})
    assert bad.status_code == 400
    assert bad.json()["code"] == "title_empty"
    assert "title" in bad.json()["fields"]
    assert post(client, "/lists/needs", {"title": "x", "kind": "weird"}).status_code == 422
    assert (
        post(
            api(world, "street_staff"), "/lists/needs", {"title": "x", "area_id": world.areas["a1"].pk}
        ).status_code
        == 403
    )
    assert Need.objects.count() == 2
    listed = client.get(f"{API}/lists/needs?community_id={world.areas['a1'].pk}").json()
    assert listed["count"] == 2


def test_need_status_links_and_matches(world):
    reporting(world, "plumber", "张水电", "a1_202", skills=("水电维修",))
    n = need(world, "a1_bldg")
    client = api(world, "estate_secretary")
    assert post(client, f"/lists/needs/{n.pk}/status", {"status": "serving"}).json()["status"] == "serving"
    same = post(client, f"/lists/needs/{n.pk}/status", {"status": "serving"})
    assert (same.status_code, same.json()["code"]) == (409, "same_status")
    d = demand(world)
    assert post(client, f"/lists/needs/{n.pk}/link", {"demand_ids": [d.pk]}).json()["demand_count"] == 1
    assert post(client, f"/lists/needs/{n.pk}/unlink", {"demand_id": d.pk}).json()["demand_count"] == 0
    matches = client.get(f"{API}/lists/needs/{n.pk}/matches").json()
    assert matches["items"][0]["name"] == "张水电"
    assert matches["items"][0]["reason"] == "专长：水电维修 · 同楼栋 · 当前无任务"
    assert matches["items"][0]["nearness_label"] == "同楼栋"
    assert api(world, "other_staff").get(f"{API}/lists/needs/{n.pk}/matches").status_code == 404


def test_items_claims_and_their_conflicts(world):
    n = need(world)
    staff = api(world, "staff")
    made = post(
        staff,
        "/lists/services",
        {"community_id": world.areas["a1"].pk, "title": "陪诊", "places": 1, "need_ids": [n.pk]},
    )
    assert made.status_code == 201, made.content
    item_id = made.json()["id"]
    assert made.json()["needs"] == [{"id": n.pk, "title": "下水道疏通"}]
    bad = post(staff, "/lists/services", {"community_id": world.areas["a1"].pk, "title": "陪诊", "places": 0})
    assert (bad.status_code, bad.json()["code"]) == (400, "bad_places")
    member = api(world, "member")
    claimed = post(member, f"/lists/services/{item_id}/claim")
    assert claimed.status_code == 201
    assert claimed.json()["claimant"] == {"id": world.members["member"].pk, "name": "李建国"}
    twice = post(member, f"/lists/services/{item_id}/claim")
    assert (twice.status_code, twice.json()["code"]) == (409, "already_claimed")
    paired(world, "u1", "a1")
    full = post(api(world, "unit_organiser"), f"/lists/services/{item_id}/claim", {"kind": "work_unit"})
    assert (full.status_code, full.json()["code"]) == (409, "full")
    assert post(api(world, "other_member"), f"/lists/services/{item_id}/claim").status_code == 404
    listed = member.get(f"{API}/lists/services").json()
    assert listed["items"][0]["taken"] == 1
    claim_id = claimed.json()["id"]
    assert post(member, f"/lists/claims/{claim_id}/withdraw").json()["withdrawn_at"] is not None
    assert post(member, f"/lists/claims/{claim_id}/withdraw").status_code == 409
    assert post(staff, f"/lists/services/{item_id}/done").status_code == 409  # nobody holds it now
    post(member, f"/lists/services/{item_id}/claim")
    done = post(staff, f"/lists/services/{item_id}/done")
    assert done.json()["status"] == ServiceItemStatus.DONE
    assert post(member, f"/lists/services/{item_id}/done").status_code == 403
    down = post(staff, f"/lists/services/{item(world).pk}/take-down", {"reason": "不需要了"})
    assert down.json()["status"] == "withdrawn"


def test_every_operation_declares_its_error_answers(world):
    schema = api(world, "staff").get(f"{API}/openapi.json").json()
    operations = [
        (path, method, op)
        for path, methods in schema["paths"].items()
        if path.startswith(f"{API}/lists/")
        for method, op in methods.items()
    ]
    assert len(operations) == 13
    for path, method, op in operations:
        declared = set(op["responses"])
        assert {"401", "422"} <= declared, (path, method)
        if method == "post" or "{" in path:
            assert "404" in declared, (path, method)


@pytest.mark.parametrize(
    ("url", "who", "most"),
    [
        ("/lists/needs?limit=100", "staff", 5),
        ("/lists/services?limit=100", "staff", 7),
        ("/lists/services?limit=100", "unit_organiser", 7),
    ],
)
def test_list_endpoints_take_a_fixed_number_of_queries(world, django_assert_max_num_queries, url, who, most):
    for i in range(6):
        n = need(world, title=f"需求{i}")
        n.demands.add(demand(world))
        it = item(world, title=f"服务{i}")
        it.needs.add(n)
        claim(it, member=reporting(world, f"c{i}", f"认领人{i}", "a1_202"))
    client = api(world, who)
    client.get(API + url)
    with django_assert_max_num_queries(most):
        response = client.get(API + url)
    assert response.json()["count"] == 6
    assert ServiceClaim.objects.count() == 6

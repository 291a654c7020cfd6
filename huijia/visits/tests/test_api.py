"""The visits API: POST /visits with an Idempotency-Key (201, 200 replay, 409, 404, 422), the scoped
lists and details, optional photos, query-count guards and the OpenAPI document."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from huijia.demands.models import Demand
from huijia.grid.models import HouseholdFactChange
from huijia.visits.models import Visit, VisitPhoto
from huijia.visits.tests.helpers import new_key, not_an_image, png

pytestmark = pytest.mark.django_db

URL = "/api/v1/visits"


def signed_in(world, name: str, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(world.users[name])
    return client


def body(world, household="a1_101", **overrides) -> dict:
    data = {
        "household_id": world.households[household].pk,
        "visited_on": timezone.localdate().isoformat(),
        "tenure": "owned",
        "occupants": 2,
        "contact_phone": "13812345678",
        "demands": ["小区门口路灯不亮"],
        "vulnerable": [{"kind": "elderly_alone", "note": "独居"}],
        "help_given": "帮忙登记",
    }
    data.update(overrides)
    return data


def send(client: Client, data: dict, key: str | None):
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(URL, data, content_type="application/json", headers=headers)


def test_post_creates_then_a_replay_answers_200_with_the_same_visit(world):
    client, key = signed_in(world, "member"), new_key()
    created = send(client, body(world), key)
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["household"]["label"] == "1单元101室"
    assert out["contact_phone_masked"] == "138****5678"
    assert "13812345678" not in created.content.decode()
    assert [d["description"] for d in out["demands"]] == ["小区门口路灯不亮"]
    assert out["vulnerable"][0]["kind_label"] == "独居老人"
    assert {f["field"] for f in out["facts_changed"]} == {"tenure", "occupants", "contact_phone"}
    replay = send(client, body(world), key)
    assert replay.status_code == 200
    assert replay.json()["id"] == out["id"]
    assert (Visit.objects.count(), Demand.objects.count()) == (1, 1)


def test_a_changed_body_under_the_same_key_answers_409_and_stores_nothing(world):
    client, key = signed_in(world, "member"), new_key()
    send(client, body(world), key)
    answer = send(client, body(world, occupants=5), key)
    assert answer.status_code == 409
    assert answer.json()["code"] == "idempotency_key_reused"
    assert Visit.objects.count() == 1
    assert HouseholdFactChange.objects.filter(field="occupants").count() == 1


def test_the_idempotency_key_header_is_required(world):
    answer = send(signed_in(world, "member"), body(world), None)
    assert answer.status_code == 422
    assert "Idempotency-Key" in answer.json()["fields"]
    assert Visit.objects.count() == 0


def test_a_household_out_of_reach_answers_404(world):
    answer = send(signed_in(world, "member"), body(world, household="a1_bldg2_101"), new_key())
    assert answer.status_code == 404
    assert Visit.objects.count() == 0


def test_a_role_that_may_only_view_answers_403(world):
    answer = send(signed_in(world, "street_staff"), body(world), new_key())
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"visited_on": (timezone.localdate() + timedelta(days=1)).isoformat()}, "visited_on"),
        ({"moved_in_on": (timezone.localdate() + timedelta(days=1)).isoformat()}, "moved_in_on"),
        ({"occupants": 60}, "occupants"),
        ({"contact_phone": "110"}, "contact_phone"),
        ({"tenure": "castle"}, "tenure"),
        ({"vulnerable": [{"kind": "alien"}]}, "vulnerable.0.kind"),
        ({"visited_on": None}, "visited_on"),
    ],
)
def test_bad_input_answers_422_in_plain_words(world, overrides, field):
    answer = send(signed_in(world, "member"), body(world, **overrides), new_key())
    assert answer.status_code == 422, answer.content
    assert field in answer.json()["fields"]
    assert Visit.objects.count() == 0


def test_session_posts_need_the_csrf_token(world):
    client = signed_in(world, "member", csrf=True)
    refused = send(client, body(world), new_key())
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    client.get("/m/visits/")  # the page sets the CSRF cookie, as the phone's outbox reads it
    token = client.cookies["csrftoken"].value
    answer = client.post(
        URL,
        body(world),
        content_type="application/json",
        headers={"Idempotency-Key": new_key(), "X-CSRFToken": token},
    )
    assert answer.status_code == 201


def test_anonymous_gets_401(world):
    assert send(Client(), body(world), new_key()).status_code == 401


def test_lists_details_and_household_visits_are_scoped(world):
    send(signed_in(world, "member"), body(world), new_key())
    send(signed_in(world, "other_member"), body(world, household="a2_101"), new_key())
    a1_visit = Visit.objects.get(household=world.households["a1_101"])
    for name, expected in (("member", 1), ("staff", 1), ("other_staff", 1), ("street_staff", 2)):
        listed = signed_in(world, name).get(URL)
        assert listed.status_code == 200
        assert listed.json()["count"] == expected, name
    assert signed_in(world, "estate_secretary").get(f"{URL}/{a1_visit.pk}").status_code == 200
    assert signed_in(world, "other_staff").get(f"{URL}/{a1_visit.pk}").status_code == 404
    assert signed_in(world, "other_member").get(f"{URL}/{a1_visit.pk}").status_code == 404
    household = world.households["a1_101"].pk
    mine = signed_in(world, "building_head").get(f"/api/v1/households/{household}/visits")
    assert [v["id"] for v in mine.json()["items"]] == [a1_visit.pk]
    assert signed_in(world, "other_staff").get(f"/api/v1/households/{household}/visits").status_code == 404


def test_the_list_filters_by_month(world):
    client = signed_in(world, "member")
    send(client, body(world), new_key())
    month = timezone.localdate().strftime("%Y-%m")
    assert client.get(URL, {"month": month}).json()["count"] == 1
    assert client.get(URL, {"month": "2001-01"}).json()["count"] == 0
    assert client.get(URL, {"month": "2001-13"}).status_code == 422


def test_photos_are_optional_images(world, media):
    client = signed_in(world, "member")
    visit_id = send(client, body(world), new_key()).json()["id"]
    stored = client.post(f"{URL}/{visit_id}/photos", {"photo": png()})
    assert stored.status_code == 201
    refused = client.post(f"{URL}/{visit_id}/photos", {"photo": not_an_image()})
    assert refused.status_code == 422
    assert VisitPhoto.objects.count() == 1
    other = signed_in(world, "staff").post(f"{URL}/{visit_id}/photos", {"photo": png()})
    assert other.status_code == 404
    photo_url = client.get(f"{URL}/{visit_id}").json()["photos"][0]["url"]
    assert signed_in(world, "staff").get(photo_url).status_code == 200
    assert signed_in(world, "other_staff").get(photo_url).status_code == 404


def test_the_list_runs_the_same_queries_for_2_and_12_visits(world, django_assert_num_queries):
    client = signed_in(world, "staff")
    client.get(URL)  # warm the session
    households = ["a1_101", "a1_102", "a1_201", "a1_202", "a1_bldg2_101"]

    def visit_times(n: int) -> None:
        for i in range(n):
            send(client, body(world, household=households[i % 5], occupants=i), new_key())

    visit_times(2)
    with django_assert_num_queries(9) as few:  # session, user, grants, page, count, 4 outcomes
        assert client.get(URL).json()["count"] == 2
    expected = len(few.captured_queries)
    visit_times(10)
    with django_assert_num_queries(expected):
        assert client.get(URL).json()["count"] == 12


def test_post_is_in_the_openapi_document_with_its_errors(world):
    doc = signed_in(world, "member").get("/api/v1/openapi.json").json()
    post = doc["paths"]["/api/v1/visits"]["post"]
    assert {"200", "201", "404", "409", "422"} <= set(post["responses"])
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in post["parameters"])
    assert "/api/v1/households/{household_id}/visits" in doc["paths"]

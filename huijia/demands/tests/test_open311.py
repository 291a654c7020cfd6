"""Open311 GeoReport v2 under /open311/v2/: every resource in JSON and in XML (parsed, not grepped),
creating a request that community staff then handle, the standard's error bodies, and what stays private.
"""

import json
from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huijia.accounts.scope import ANONYMOUS
from huijia.accounts.services import issue_api_token
from huijia.accounts.tests.test_api import as_user
from huijia.core.testing import PASSWORD
from huijia.demands import services
from huijia.demands.models import Category, Demand
from huijia.demands.open311 import request_id

BASE = "/open311/v2/"
PHONE = "13912345678"


def get(path: str, fmt: str, **params):
    response = Client().get(f"{BASE}{path}.{fmt}", params)
    return response, parse(response, fmt)


def parse(response, fmt: str):
    if fmt == "json":
        assert response["Content-Type"] == "application/json; charset=utf-8"
        return json.loads(response.content)
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    return ET.fromstring(response.content)


def api_key(world, name: str = "resident") -> str:
    key, _token = issue_api_token(username=world.users[name].username, password=PASSWORD)
    return key


def reported(world, text: str = "3栋下水道堵了", place: str = "a1_bldg", **extra) -> Demand:
    data = services.DemandInput(
        description=text, area_id=world.areas[place].pk, reporter_name="陈奶奶", reporter_phone=PHONE, **extra
    )
    return services.submit_demand(actor=ANONYMOUS, data=data)


def post(fmt: str, **fields):
    response = Client(enforce_csrf_checks=True).post(f"{BASE}requests.{fmt}", fields)
    return response, parse(response, fmt)


def new_request(world, **fields) -> dict:
    return {
        "api_key": api_key(world),
        "service_code": "drain",
        "address_id": str(world.areas["a1_bldg"].pk),
        "description": "楼下下水道堵了，污水漫出来",
        **fields,
    }


def errors_of(body, fmt: str) -> list[tuple[int, str]]:
    if fmt == "json":
        return [(e["code"], e["description"]) for e in body]
    assert body.tag == "errors"
    return [(int(e.findtext("code")), e.findtext("description")) for e in body.findall("error")]


# --- Discovery and services ----------------------------------------------------------------------


def test_discovery(db):
    response, body = get("discovery", "json")
    assert response.status_code == 200
    endpoint = body["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2/"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    _response, xml = get("discovery", "xml")
    assert xml.tag == "discovery"
    assert xml.findtext("endpoints/endpoint/url") == "http://testserver/open311/v2/"
    assert [f.text for f in xml.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert xml.findtext("changeset") == body["changeset"]


def test_services_are_the_active_categories(db):
    Category.objects.filter(code="legal").update(active=False)
    response, body = get("services", "json")
    assert response.status_code == 200
    drain = next(s for s in body if s["service_code"] == "drain")
    assert drain["service_name"] == "下水道堵塞"
    assert (drain["metadata"], drain["type"], drain["group"]) == (False, "realtime", "市政设施")
    assert drain["keywords"].startswith("下水道, 堵, 堵塞")
    codes = [s["service_code"] for s in body]
    assert "legal" not in codes
    assert codes == list(
        Category.objects.filter(active=True).order_by("sort", "pk").values_list("code", flat=True)
    )
    _response, xml = get("services", "xml")
    assert xml.tag == "services"
    services_xml = xml.findall("service")
    assert [s.findtext("service_code") for s in services_xml] == codes
    first = services_xml[0]
    assert (first.findtext("metadata"), first.findtext("type")) == ("false", "realtime")
    assert first.findtext("service_name") == body[0]["service_name"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition_has_no_attributes(db, fmt):
    response, body = get("services/drain", fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert body == {"service_code": "drain", "attributes": []}
    else:
        assert (body.tag, body.findtext("service_code"), list(body.find("attributes"))) == (
            "service_definition",
            "drain",
            [],
        )
    missing, error = get("services/no-such", fmt)
    assert missing.status_code == 404
    assert errors_of(error, fmt) == [(404, "没有这个服务类别：no-such")]


def test_unknown_format_and_wrong_method(db):
    assert Client().get(f"{BASE}services.html").status_code == 404
    response = Client().post(f"{BASE}services.json")
    assert response.status_code == 405
    assert json.loads(response.content)[0]["code"] == 405


# --- Creating a request --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_client_posts_a_request_that_staff_then_handle(world, fmt):
    response, body = post(
        fmt, **new_request(world, first_name="三", last_name="张", phone=PHONE, email="z@x.cn")
    )
    assert response.status_code == 201
    if fmt == "json":
        created = body[0]
    else:
        assert body.tag == "service_requests"
        created = {child.tag: child.text for child in body.find("request")}
    demand = Demand.objects.get()
    assert created["service_request_id"] == request_id(demand)
    assert created["token"] == demand.tracking_code
    assert created["service_notice"] == "将在24小时内受理，72小时内办结"
    assert (demand.source, demand.category.code, demand.area_id) == (
        "open311",
        "drain",
        world.areas["a1_bldg"].pk,
    )
    assert (demand.reporter_name, demand.reporter_phone) == ("张三", PHONE)
    assert demand.created_by_id == world.users["resident"].pk
    listed = as_user(world, "staff").get("/demands").json()
    assert [(d["id"], d["source"]) for d in listed["items"]] == [(demand.pk, "open311")]
    assert as_user(world, "other_staff").get("/demands").json()["count"] == 0
    one, shown = get(f"requests/{created['service_request_id']}", "json")
    assert (one.status_code, shown[0]["status"], shown[0]["agency_responsible"]) == (
        200,
        "open",
        "识字岭社区",
    )
    assert "张三" not in one.content.decode()
    assert "5678" not in one.content.decode()


def test_a_latin_name_keeps_its_order(world):
    post("json", **new_request(world, first_name="Anna", last_name="Li"))
    assert Demand.objects.get().reporter_name == "Anna Li"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    ("change", "status", "description"),
    [
        ({"api_key": "hj_wrong"}, 403, "api_key 无效或已过期，无法提交诉求"),
        ({"api_key": ""}, 403, "api_key 无效或已过期，无法提交诉求"),
        ({"service_code": "no-such"}, 400, "没有这个服务类别：no-such"),
        ({"service_code": ""}, 400, "请提供 service_code（服务类别）"),
        ({"description": ""}, 400, "请填写诉求内容"),
        ({"description": "堵" * 100_000}, 400, "诉求内容不超过2000个字，请精简后再提交"),
        ({"address_id": "", "lat": "28.19", "long": "112.97"}, 400, None),
        ({"address_id": ""}, 400, "请提供位置：address_id（楼栋、小区或社区的编号）"),
        ({"address_id": "999999"}, 400, "诉求的位置必须是一个社区、小区或楼栋"),
        ({"address_id": "street_a"}, 400, "诉求的位置必须是一个社区、小区或楼栋"),
        ({"address_id": "abc"}, 400, "address_id 应为楼栋、小区或社区的编号"),
        ({"phone": "12345"}, 400, None),
    ],
)
def test_bad_requests_get_the_standard_error_and_store_nothing(world, fmt, change, status, description):
    if change.get("address_id") == "street_a":
        change = {"address_id": str(world.areas["street_a"].pk)}
    response, body = post(fmt, **new_request(world, **change))
    assert response.status_code == status
    [(code, text)] = errors_of(body, fmt)
    assert code == status
    assert text == description if description else text
    assert not Demand.objects.exists()


def test_an_expired_api_key_is_refused(world):
    from huijia.accounts.models import ApiToken

    fields = new_request(world)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response, _body = post("json", **fields)
    assert response.status_code == 403
    assert not Demand.objects.exists()


# --- Reading requests ----------------------------------------------------------------------------


def test_request_list_shows_public_fields_only(world):
    drain = reported(world)
    declined = reported(world, text="路灯不亮", place="a1_bldg2")
    services.decline_demand(actor=world.actor("staff"), demand_id=declined.pk, reason="已转供电公司处理")
    services.submit_demand(  # about one household: never listed
        actor=world.actor("staff"),
        data=services.DemandInput(
            description="家中老人需要助餐", source="staff", household_id=world.households["a1_201"].pk
        ),
    )
    response, body = get("requests", "json")
    assert response.status_code == 200
    by_id = {r["service_request_id"]: r for r in body}
    assert set(by_id) == {request_id(drain), request_id(declined)}
    row = by_id[request_id(drain)]
    assert (row["status"], row["service_code"], row["service_name"]) == ("open", "drain", "下水道堵塞")
    assert (row["address"], row["address_id"]) == (
        "识字岭社区 识字岭社区幸福小区 3栋",
        world.areas["a1_bldg"].pk,
    )
    assert row["requested_datetime"].endswith("+08:00")
    assert row["expected_datetime"] is not None
    closed = by_id[request_id(declined)]
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == (
        "closed",
        "已转供电公司处理",
        None,
    )
    text = response.content.decode()
    for private in ("陈奶奶", PHONE, "5678", drain.tracking_code, declined.tracking_code, "助餐"):
        assert private not in text
    _response, xml = get("requests", "xml")
    assert xml.tag == "service_requests"
    assert sorted(r.findtext("service_request_id") for r in xml.findall("request")) == sorted(by_id)
    first = xml.find("request")
    assert first.findtext("status") == body[0]["status"]
    assert first.findtext("requested_datetime") == body[0]["requested_datetime"]


def test_request_list_filters(world):
    drain = reported(world)
    light = reported(world, text="路灯不亮")
    services.accept_demand(actor=world.actor("staff"), demand_id=light.pk)
    services.resolve_demand(actor=world.actor("staff"), demand_id=light.pk, resolution="已更换灯泡")

    def ids(**params):
        response, body = get("requests", "json", **params)
        assert response.status_code == 200, body
        return {r["service_request_id"] for r in body}

    assert ids(status="open") == {request_id(drain)}
    assert ids(status="closed") == {request_id(light)}
    assert ids(status="open,closed") == {request_id(drain), request_id(light)}
    assert ids(service_code="streetlight") == {request_id(light)}
    assert ids(service_request_id=f"{request_id(light)},{drain.pk}-forged0000") == {request_id(light)}
    now = timezone.localtime()
    assert ids(start_date=(now - timedelta(days=1)).isoformat()) == {request_id(drain), request_id(light)}
    assert ids(end_date=(now - timedelta(days=1)).isoformat()) == set()
    assert ids(
        start_date=(now - timedelta(days=1)).date().isoformat(),
        end_date=(now + timedelta(days=1)).isoformat(),
    )
    light_row = get("requests", "json", service_code="streetlight")[1][0]
    assert light_row["status_notes"] == "已更换灯泡"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"start_date": "yesterday"},
        {"start_date": "2025-13-01"},
        {"end_date": "2025-02-30T10:00:00"},
        {"start_date": "2025-01-01", "end_date": "2025-06-01"},
        {"start_date": "2025-06-01", "end_date": "2025-05-01"},
        {"page_size": "0"},
        {"page": "x"},
    ],
)
def test_bad_list_parameters_get_400(db, fmt, params):
    response, body = get("requests", fmt, **params)
    assert response.status_code == 400
    assert errors_of(body, fmt)[0][0] == 400


def test_request_list_pages(world):
    made = [reported(world, text=f"下水道堵了{i}") for i in range(3)]
    response, body = get("requests", "json", page_size="2")
    assert [r["service_request_id"] for r in body] == [request_id(d) for d in reversed(made)][:2]
    assert 'rel="next"' in response["Link"]
    assert "page=2" in response["Link"]
    second, body = get("requests", "json", page_size="2", page="2")
    assert [r["service_request_id"] for r in body] == [request_id(made[0])]
    assert not second.has_header("Link")


def test_request_list_takes_the_same_queries_whatever_its_length(world, django_assert_max_num_queries):
    reported(world)
    with CaptureQueriesContext(connection) as first:
        get("requests", "xml")
    for i in range(5):
        reported(world, text=f"路灯不亮{i}", place="a1_bldg2")
    with django_assert_max_num_queries(len(first)):
        assert len(get("requests", "xml")[1].findall("request")) == 6


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_one_request_and_a_token(world, fmt):
    demand = reported(world)
    response, body = get(f"requests/{request_id(demand)}", fmt)
    assert response.status_code == 200
    if fmt == "json":
        assert [r["service_request_id"] for r in body] == [request_id(demand)]
    else:
        assert [r.findtext("service_request_id") for r in body.findall("request")] == [request_id(demand)]
    for guess in (str(demand.pk), f"{demand.pk}-0000000000", demand.tracking_code, "9" * 30 + "-abc"):
        missing, error = get(f"requests/{guess}", fmt)
        assert missing.status_code == 404
        assert errors_of(error, fmt)[0][0] == 404
    found, token = get(f"tokens/{demand.tracking_code}", fmt)
    assert found.status_code == 200
    assert found["Cache-Control"] == "no-store"
    if fmt == "json":
        assert token == [{"service_request_id": request_id(demand), "token": demand.tracking_code}]
    else:
        assert token.findtext("request/service_request_id") == request_id(demand)
    missing, error = get("tokens/NOSUCH22", fmt)
    assert (missing.status_code, errors_of(error, fmt)[0][0]) == (404, 404)


def test_script_in_a_description_is_escaped_in_xml(world):
    text = '<script>alert("x")</script> & <b>下水道</b>\x07堵了'
    response, body = post("xml", **new_request(world, description=text))
    assert response.status_code == 201
    raw = get(f"requests/{body.findtext('request/service_request_id')}", "xml")[0].content.decode()
    assert "<script>" not in raw
    assert "&lt;script&gt;" in raw
    parsed = ET.fromstring(raw.encode())
    assert parsed.findtext("request/description") == '<script>alert("x")</script> & <b>下水道</b>堵了'
    as_json = get(f"requests/{body.findtext('request/service_request_id')}", "json")[1]
    assert as_json[0]["description"] == text

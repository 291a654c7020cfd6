"""The API root: its OpenAPI document, bearer tokens, session auth with CSRF, the error shape, notifications.

`ApiClient` (used by the grid and members API tests too) signs in as a world user and checks, on every
answer, that its status is declared for that operation in the OpenAPI document and that every error
body has the documented shape: an undocumented 4xx fails the test that provoked it.
"""

import re
from datetime import timedelta
from functools import cache

import pytest
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from huijia.accounts.models import ApiToken, Notification
from huijia.accounts.services import issue_api_token
from huijia.api import api
from huijia.core.testing import PASSWORD

ERROR_REF = "#/components/schemas/ErrorOut"


@cache
def openapi() -> dict:
    return api.get_openapi_schema(path_prefix="/api/v1/")


def declared_statuses(method: str, path: str) -> set[int]:
    route = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", resolve(path.split("?")[0]).route)
    return {int(code) for code in openapi()["paths"][route][method.lower()]["responses"]}


class ApiClient:
    """A JSON client for /api/v1/ that insists every answer is documented."""

    def __init__(self, client: Client | None = None, token: str | None = None):
        self.client = client or Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body=None, **extra):
        url = "/api/v1" + path
        call = getattr(self.client, method.lower())
        if method == "GET":
            response = call(url, body or {}, headers=self.headers | extra)
        else:
            raw = body if isinstance(body, str) else None
            data = raw if raw is not None else ({} if body is None else body)
            response = call(url, data, content_type="application/json", headers=self.headers | extra)
        assert response.status_code in declared_statuses(method, url), (
            f"{method} {path} answered {response.status_code}, which its OpenAPI entry does not declare"
        )
        if response.status_code >= 400:
            assert_error_shape(response.json())
        return response

    def get(self, path: str, params: dict | None = None, **extra):
        return self.request("GET", path, params, **extra)

    def post(self, path: str, body=None, **extra):
        return self.request("POST", path, body, **extra)


def assert_error_shape(body: dict) -> None:
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str)
    assert isinstance(body["message"], str)
    assert body["code"]
    assert body["message"]
    assert body["fields"] is None or all(isinstance(v, list) for v in body["fields"].values())


def as_user(world, name: str) -> ApiClient:
    """An API client holding a fresh bearer token of the named world user."""
    key, _token = issue_api_token(username=world.users[name].username, password=PASSWORD)
    return ApiClient(token=key)


# --- The OpenAPI document ------------------------------------------------------------------------


def test_no_two_api_schemas_of_different_shape_share_a_name():
    """The OpenAPI document names each body after its Schema class: two classes of one name and
    different fields would silently show one app's body for the other's endpoints."""
    from collections import defaultdict

    from ninja import Schema

    shapes: dict[str, dict[str, list[str]]] = defaultdict(dict)

    def walk(cls):
        for sub in cls.__subclasses__():
            if sub.__module__.startswith("huijia."):
                shapes[sub.__name__][sub.__module__] = sorted(sub.model_fields)
            walk(sub)

    walk(Schema)
    clashes = {name: list(by) for name, by in shapes.items() if len({tuple(f) for f in by.values()}) > 1}
    assert not clashes
    components = api.get_openapi_schema()["components"]["schemas"]
    assert set(components["RecordOut"]["properties"]) >= {"confirm_url", "counted"}  # the records' body
    assert "cadence_days" in components["PairingOut"]["properties"]  # care pairings keep theirs


def test_openapi_document_declares_every_error_with_the_error_schema(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["info"]["version"] == "1"
    error = doc["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    assert set(error["required"]) == {"code", "message"}
    expected = {
        ("post", "/api/v1/auth/token"),
        ("get", "/api/v1/registrations"),
        ("post", "/api/v1/registrations"),
        ("get", "/api/v1/registrations/{registration_id}"),
        ("post", "/api/v1/registrations/{registration_id}/approve"),
        ("post", "/api/v1/registrations/{registration_id}/reject"),
        ("post", "/api/v1/registrations/{registration_id}/withdraw"),
        ("get", "/api/v1/members/me"),
        ("post", "/api/v1/members/{member_id}/reveal"),
        ("get", "/api/v1/areas/{area_id}/children"),
        ("get", "/api/v1/communities"),
        ("get", "/api/v1/buildings/{building_id}/households"),
        ("get", "/api/v1/notifications"),
    }
    operations = {(m, p): op for p, item in doc["paths"].items() for m, op in item.items()}
    assert expected <= set(operations)
    for (method, path), op in operations.items():
        responses = {int(code): body for code, body in op["responses"].items()}
        where = f"{method.upper()} {path}"
        for code, body in responses.items():
            if code >= 400:
                assert body["content"]["application/json"]["schema"] == {"$ref": ERROR_REF}, where
        public = path == "/api/v1/auth/token"
        assert public or 401 in responses, f"{where} does not declare 401"
        assert public or {"TokenAuth": []} in op["security"], where
        if "{" in path:
            assert {404, 422} <= set(responses), f"{where} takes an id but does not declare 404 and 422"
        if method == "post" and not public:
            assert 403 in responses, f"{where} can fail the session CSRF check but does not declare 403"
        if "requestBody" in op:
            assert {400, 422} <= set(responses), f"{where} takes a body but does not declare 400 and 422"


def test_docs_page_is_served(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


# --- Tokens --------------------------------------------------------------------------------------


def test_token_is_issued_for_good_credentials_and_then_authenticates(world):
    anonymous = ApiClient()
    response = anonymous.post("/auth/token", {"username": "member", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("hj_")
    token = ApiToken.objects.get(user=world.users["member"])
    assert body["token"] not in (token.digest, token.prefix)  # only a digest is stored
    assert timezone.now() + timedelta(days=29) < token.expires_at <= timezone.now() + timedelta(days=30)
    me = ApiClient(token=body["token"]).get("/members/me")
    assert me.status_code == 200
    assert me.json()["id"] == world.members["member"].pk


@pytest.mark.parametrize("username", ["member", "nobody"])
def test_bad_credentials_get_403_and_no_token(world, username):
    response = ApiClient().post("/auth/token", {"username": username, "password": "wrong-password"})
    assert response.status_code == 403
    assert response.json()["code"] == "bad_credentials"
    assert not ApiToken.objects.exists()


ENDPOINTS = [
    ("GET", "/members/me"),
    ("GET", "/registrations"),
    ("GET", "/communities"),
    ("GET", "/notifications"),
    ("POST", "/registrations/1/approve"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_unknown_token_gets_401_with_the_error_body(world, method, path):
    response = ApiClient(token="hj_not-a-real-token").request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_expired_token_gets_401(world):
    client = as_user(world, "staff")
    assert client.get("/registrations").status_code == 200
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/registrations")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"


def test_token_of_a_deactivated_user_gets_401(world):
    client = as_user(world, "staff")
    world.users["staff"].is_active = False
    world.users["staff"].save()
    assert client.get("/registrations").status_code == 401


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_no_credentials_get_401(world, method, path):
    response = ApiClient().request(method, path)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- Session authentication ----------------------------------------------------------------------


def session_client(world, name: str) -> ApiClient:
    django_client = Client(enforce_csrf_checks=True)
    django_client.force_login(world.users[name])
    return ApiClient(django_client)


def test_session_reads_work_without_csrf(world):
    response = session_client(world, "staff").get(
        f"/registrations/{world.registrations['pending_member'].pk}"
    )
    assert response.status_code == 200


def test_session_write_without_csrf_token_is_refused_and_changes_nothing(world):
    reg = world.registrations["pending_member"]
    staff = session_client(world, "staff")
    response = staff.post(f"/registrations/{reg.pk}/approve")
    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    reg.refresh_from_db()
    assert reg.status == "pending"


def test_session_write_with_csrf_token_goes_through(world):
    reg = world.registrations["pending_member"]
    staff = session_client(world, "staff")
    staff.client.get("/api/v1/docs")  # any page that sets the CSRF cookie
    csrf = staff.client.cookies["csrftoken"].value
    response = staff.post(f"/registrations/{reg.pk}/approve", X_CSRFToken=csrf)
    assert response.status_code == 200
    assert response.json()["status"] == "approved"


def test_bearer_token_needs_no_csrf_token(world):
    reg = world.registrations["pending_member"]
    key, _token = issue_api_token(username="staff", password=PASSWORD)
    client = ApiClient(Client(enforce_csrf_checks=True), token=key)
    assert client.post(f"/registrations/{reg.pk}/approve").status_code == 200


# --- The error shape for ninja's own errors --------------------------------------------------------


def test_invalid_query_parameters_get_422_naming_the_field_in_chinese(world):
    response = as_user(world, "member").get("/notifications", {"limit": 0, "offset": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["fields"]) == {"limit", "offset"}
    assert body["fields"]["limit"] == ["不能小于1"]


def test_unparsable_json_body_gets_400(world):
    response = as_user(world, "member").post("/registrations", "{not json")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


# --- Notifications -------------------------------------------------------------------------------


def test_notifications_are_the_users_own_newest_first_and_can_be_marked_read(world):
    for text in ("第一条", "第二条"):
        Notification.objects.create(user=world.users["member"], text=text)
    Notification.objects.create(user=world.users["other_member"], text="别人的消息")
    member = as_user(world, "member")
    body = member.get("/notifications").json()
    assert [n["text"] for n in body["items"]] == ["第二条", "第一条"]
    assert body["count"] == 2
    assert member.post("/notifications/read").json() == {"marked": 2}
    assert member.get("/notifications", {"unread": "true"}).json()["count"] == 0
    assert Notification.objects.get(text="别人的消息").read_at is None


def test_notification_list_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    member = as_user(world, "member")
    member.get("/notifications")  # the token's first use records last_used_at
    counts = []
    for total in (3, 30):
        Notification.objects.bulk_create(
            Notification(user=world.users["member"], text=f"消息{i}")
            for i in range(total - Notification.objects.count())
        )
        with django_assert_max_num_queries(8) as captured:
            assert len(member.get("/notifications", {"limit": 50}).json()["items"]) == total
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]

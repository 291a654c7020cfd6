"""Registration (报到) and member profiles through the JSON API, as each role would use them."""

import json

import pytest
from django.http import HttpResponse
from django.urls import include, path

from huijia.accounts.models import AuditLog
from huijia.accounts.tests.test_api import ApiClient, as_user
from huijia.api import api
from huijia.core.testing import make_id_number, make_member, make_user, register
from huijia.members import urls as members_urls
from huijia.members.models import Member, Registration, RegistrationStatus


def first_registration(world, **overrides) -> dict:
    body = {
        "community_id": world.areas["a1"].pk,
        "household_id": world.households["a1_202"].pk,
        "work_unit_id": world.units["u1"].pk,
        "skill_ids": [world.skills["医疗"].pk],
        "free_time": ["weekend"],
        "resources": "可以提供法律咨询",
        "identity": {"name": "周明", "phone": "13812345678", "id_number": make_id_number(77)},
    }
    body.update(overrides)
    return body


def newcomer(world) -> ApiClient:
    """A signed-in user with no member profile yet."""
    world.users["newcomer"] = make_user("newcomer")
    return as_user(world, "newcomer")


def stored() -> tuple[int, int]:
    return Member.objects.count(), Registration.objects.count()


def plaintext_of(world) -> list[str]:
    return [value for m in world.members.values() for value in (m.phone, m.id_number)]


# --- Submitting ----------------------------------------------------------------------------------


def test_first_registration_creates_a_pending_registration_shown_masked(world):
    response = newcomer(world).post("/registrations", first_registration(world))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["status_label"] == "待审核"
    assert body["kind"] == "new"
    assert body["member"]["name"] == "周明"
    assert body["member"]["masked_phone"] == "138****5678"
    assert body["household"]["label"] == "1单元202室"
    assert body["household"]["estate"]["name"] == "识字岭社区幸福小区"
    assert [s["name"] for s in body["skills"]] == ["医疗"]
    assert body["free_time"] == [{"value": "weekend", "label": "周末"}]
    assert "13812345678" not in response.content.decode()
    assert make_id_number(77) not in response.content.decode()
    assert Registration.objects.get(pk=body["id"]).member.user == world.users["newcomer"]


def test_wrong_id_checksum_gets_400_naming_the_field_and_stores_nothing(world):
    before = stored()
    identity = {"name": "周明", "phone": "13812345678", "id_number": "430102198503120011"}
    response = newcomer(world).post("/registrations", first_registration(world, identity=identity))
    assert response.status_code == 400
    body = response.json()
    assert list(body["fields"]) == ["identity.id_number"]
    assert "校验位" in body["fields"]["identity.id_number"][0]
    assert stored() == before


def test_first_registration_without_identity_gets_400(world):
    before = stored()
    response = newcomer(world).post("/registrations", first_registration(world, identity=None))
    assert response.status_code == 400
    assert response.json()["code"] == "identity_required"
    assert stored() == before


@pytest.mark.parametrize("household", ["unknown", "a2_101"])
def test_unknown_household_or_one_of_another_community_gets_400(world, household):
    household_id = 999_999 if household == "unknown" else world.households[household].pk
    before = stored()
    response = newcomer(world).post("/registrations", first_registration(world, household_id=household_id))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_household"
    assert list(body["fields"]) == ["household_id"]
    assert stored() == before


def test_malformed_registration_gets_422_with_every_field_named(world):
    body = first_registration(world, household_id="x", free_time=["sometimes"])
    del body["community_id"]
    response = newcomer(world).post("/registrations", body)
    assert response.status_code == 422
    fields = response.json()["fields"]
    assert set(fields) == {"community_id", "household_id", "free_time.0"}
    assert fields["community_id"] == ["此项必填"]


@pytest.mark.parametrize(
    ("who", "code"), [("pending_member", "already_pending"), ("member", "already_registered")]
)
def test_double_registration_gets_409(world, who, code):
    before = stored()
    body = first_registration(world, identity=None)
    response = as_user(world, who).post("/registrations", body)
    assert response.status_code == 409
    assert response.json()["code"] == code
    assert stored() == before


def test_identity_is_refused_once_the_member_has_a_profile(world):
    response = as_user(world, "other_member").post(
        "/registrations",
        first_registration(
            world,
            community_id=world.areas["a1"].pk,
            identity={"name": "赵敏", "phone": "13900000000", "id_number": make_id_number(3)},
        ),
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"identity": ["您已有党员档案，无需再次填写身份信息"]}
    assert not Registration.objects.filter(member=world.members["other_member"], status="pending").exists()


def test_a_registered_member_transfers_to_another_community(world):
    body = first_registration(
        world, community_id=world.areas["a2"].pk, household_id=world.households["a2_102"].pk, identity=None
    )
    response = as_user(world, "member").post("/registrations", body)
    assert response.status_code == 201
    assert response.json()["kind"] == "transfer"
    assert response.json()["previous_id"] == world.registrations["member"].pk


# --- Reading -------------------------------------------------------------------------------------


def ids(response) -> set[int]:
    return {r["id"] for r in response.json()["items"]}


def test_each_role_lists_only_the_registrations_in_its_scope(world):
    regs = {k: r.pk for k, r in world.registrations.items()}
    expected = {
        "staff": {regs["member"], regs["pending_member"]},
        "other_staff": {regs["other_member"]},
        "street_staff": set(regs.values()),
        "building_head": {regs["member"], regs["pending_member"]},
        "unit_organiser": {regs["member"]},
        "member": {regs["member"]},
        "other_member": {regs["other_member"]},
        "outsider": set(),
    }
    for name, visible in expected.items():
        assert ids(as_user(world, name).get("/registrations")) == visible, name


def test_list_filters_by_status_and_community_and_pages(world):
    street = as_user(world, "street_staff")
    pending = street.get("/registrations", {"status": "pending"}).json()
    assert [r["id"] for r in pending["items"]] == [world.registrations["pending_member"].pk]
    a2 = street.get("/registrations", {"community_id": world.areas["a2"].pk})
    assert ids(a2) == {world.registrations["other_member"].pk}
    first = street.get("/registrations", {"limit": 2}).json()
    second = street.get("/registrations", {"limit": 2, "offset": 2}).json()
    assert (first["count"], len(first["items"]), len(second["items"])) == (3, 2, 1)
    assert not {r["id"] for r in first["items"]} & {r["id"] for r in second["items"]}
    bad = street.get("/registrations", {"status": "maybe"})
    assert bad.status_code == 422
    assert list(bad.json()["fields"]) == ["status"]


def test_a_member_cannot_see_another_members_registration(world):
    other = world.registrations["other_member"].pk
    response = as_user(world, "member").get(f"/registrations/{other}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    missing = as_user(world, "member").get("/registrations/999999")
    assert missing.json() == response.json()  # missing and forbidden look the same


def test_other_community_staff_get_404_and_cannot_review(world):
    reg = world.registrations["pending_member"]
    other_staff = as_user(world, "other_staff")
    assert other_staff.get(f"/registrations/{reg.pk}").status_code == 404
    assert other_staff.post(f"/registrations/{reg.pk}/approve").status_code == 404
    assert other_staff.post(f"/registrations/{reg.pk}/reject", {"reason": "不认识"}).status_code == 404
    reg.refresh_from_db()
    assert reg.status == "pending"


def test_building_head_can_view_but_approving_gets_403(world):
    reg = world.registrations["pending_member"]
    head = as_user(world, "building_head")
    assert head.get(f"/registrations/{reg.pk}").json()["status"] == "pending"
    response = head.post(f"/registrations/{reg.pk}/approve")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    reg.refresh_from_db()
    assert (reg.status, reg.reviewed_by_id) == ("pending", None)


# --- Reviewing -----------------------------------------------------------------------------------


def test_staff_approve_and_the_member_is_notified(world, django_capture_on_commit_callbacks):
    reg = world.registrations["pending_member"]
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(world, "staff").post(f"/registrations/{reg.pk}/approve")
    assert response.status_code == 200
    assert response.json()["status"] == "approved"
    assert Member.objects.get(pk=reg.member_id).community_id == world.areas["a1"].pk
    notes = as_user(world, "pending_member").get("/notifications").json()["items"]
    assert "通过" in notes[0]["text"]


@pytest.mark.parametrize("body", [{}, {"reason": "   "}])
def test_reject_without_reason_gets_400_and_changes_nothing(world, body):
    reg = world.registrations["pending_member"]
    response = as_user(world, "staff").post(f"/registrations/{reg.pk}/reject", body)
    assert response.status_code == 400
    assert response.json()["code"] == "reason_required"
    reg.refresh_from_db()
    assert reg.status == "pending"


def test_approving_a_rejected_registration_gets_409_and_changes_nothing(world):
    reg = world.registrations["pending_member"]
    staff = as_user(world, "staff")
    rejected = staff.post(f"/registrations/{reg.pk}/reject", {"reason": "住址与户籍不符"})
    assert rejected.json()["reject_reason"] == "住址与户籍不符"
    audit_before = AuditLog.objects.count()
    response = staff.post(f"/registrations/{reg.pk}/approve")
    assert response.status_code == 409
    assert response.json()["code"] == "not_pending"
    reg.refresh_from_db()
    assert (reg.status, reg.reject_reason) == ("rejected", "住址与户籍不符")
    assert AuditLog.objects.count() == audit_before
    assert Member.objects.get(pk=reg.member_id).community_id is None


def test_member_withdraws_their_own_registration_and_nobody_elses(world):
    reg = world.registrations["member"]
    assert as_user(world, "other_member").post(f"/registrations/{reg.pk}/withdraw").status_code == 404
    assert as_user(world, "staff").post(f"/registrations/{reg.pk}/withdraw").status_code == 404
    member = as_user(world, "member")
    assert member.post(f"/registrations/{reg.pk}/withdraw").json()["status"] == "withdrawn"
    again = member.post(f"/registrations/{reg.pk}/withdraw")
    assert again.status_code == 409


# --- The member's own page and personal data -----------------------------------------------------


def _verify_page(request, token):
    return HttpResponse(token)


# A URLconf with a stand-in for the public card verification page, so the card link can be checked
# whatever the HTML screens name their view.
urlpatterns = [
    path(
        "", include(([*members_urls.urlpatterns, path("v/<token>/", _verify_page, name="verify")], "members"))
    ),
    path("api/v1/", api.urls),
]


@pytest.mark.urls(__name__)
def test_members_me_shows_the_profile_masked_with_history(world, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://hj.example.cn/"
    Registration.objects.filter(pk=world.registrations["member"].pk).update(free_time=["weekend"])
    response = as_user(world, "member").get("/members/me")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    me = response.json()
    member = world.members["member"]
    assert me["name"] == "李建国"
    assert me["masked_phone"] == member.phone[:3] + "****" + member.phone[-4:]
    assert me["masked_id_number"] == member.id_number[:4] + "*" * 10 + member.id_number[-4:]
    assert me["community"]["name"] == "识字岭社区"
    assert me["household"]["label"] == "1单元101室"
    assert me["work_unit"]["name"] == "芙蓉区教育局"
    assert me["volunteer_no"] == member.volunteer_no
    assert [(r["community"]["name"], r["status"]) for r in me["registrations"]] == [
        ("识字岭社区", "approved")
    ]
    assert me["card_verification_url"] == f"https://hj.example.cn/v/{member.card_token}/"
    assert not any(value in response.content.decode() for value in plaintext_of(world))


def test_members_me_has_no_card_before_approval(world):
    me = as_user(world, "pending_member").get("/members/me").json()
    assert me["card_verification_url"] is None
    assert me["community"] is None
    assert [r["status"] for r in me["registrations"]] == ["pending"]


def test_members_me_is_404_for_a_user_without_a_member_profile(world):
    response = as_user(world, "staff").get("/members/me")
    assert response.status_code == 404


def test_no_endpoint_leaks_a_plaintext_phone_or_id_number(world):
    staff = as_user(world, "street_staff")
    pending = world.registrations["pending_member"].pk
    bodies = [
        staff.get("/registrations").content,
        staff.get(f"/registrations/{pending}").content,
        as_user(world, "staff").post(f"/registrations/{pending}/approve").content,
        as_user(world, "member").get("/members/me").content,
        as_user(world, "pending_member").get("/members/me").content,
    ]
    secrets = plaintext_of(world)
    for body in bodies:
        text = json.dumps(json.loads(body), ensure_ascii=False)
        assert not [s for s in secrets if s in text]


def test_reveal_returns_plaintext_to_community_staff_and_audits_it(world):
    member = world.members["member"]
    response = as_user(world, "staff").post(f"/members/{member.pk}/reveal", {"field": "id_number"})
    assert response.status_code == 200
    assert response.json() == {"field": "id_number", "value": member.id_number}
    assert response["Cache-Control"] == "private, no-store"
    log = AuditLog.objects.get(action="pii.reveal")
    assert (log.actor_id, log.target_id, log.detail) == (
        world.users["staff"].pk,
        str(member.pk),
        {"field": "id_number"},
    )


@pytest.mark.parametrize("who", ["other_staff", "building_head", "street_staff", "other_member", "outsider"])
def test_reveal_out_of_scope_gets_404_and_is_not_logged(world, who):
    member = world.members["member"]
    response = as_user(world, who).post(f"/members/{member.pk}/reveal", {"field": "phone"})
    assert response.status_code == 404
    assert member.phone not in response.content.decode()
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_reveal_of_an_unknown_field_gets_422(world):
    member = world.members["member"]
    response = as_user(world, "staff").post(f"/members/{member.pk}/reveal", {"field": "password"})
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["field"]
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


# --- Query counts --------------------------------------------------------------------------------


def add_pending(world, count: int, start: int) -> None:
    for serial in range(start, start + count):
        key = f"extra{serial}"
        make_member(world, key, name=f"党员{serial}", serial=serial, unit="u1", user=False)
        reg = register(world, key, "a1", "a1_201", status=RegistrationStatus.PENDING)
        reg.skills.set([world.skills["医疗"], world.skills["法律"]])


def test_registration_list_runs_the_same_queries_for_5_and_25_rows(world, django_assert_max_num_queries):
    staff = as_user(world, "staff")
    query = {"status": "pending", "community_id": world.areas["a1"].pk, "limit": 50}
    staff.get("/registrations", query)  # the token's first use records last_used_at
    counts = []
    for rows, start in ((5, 100), (25, 200)):
        add_pending(world, rows - Registration.objects.filter(status="pending").count(), start)
        with django_assert_max_num_queries(10) as captured:
            body = staff.get("/registrations", query).json()
        assert (body["count"], len(body["items"])) == (rows, rows)
        assert all(len(r["skills"]) == 2 for r in body["items"][:-1])
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]


def test_members_me_runs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    member = as_user(world, "member")
    member.get("/members/me")
    with django_assert_max_num_queries(9):
        assert member.get("/members/me").status_code == 200


def test_withdraw_needs_authentication(world):
    reg = world.registrations["member"]
    assert ApiClient().post(f"/registrations/{reg.pk}/withdraw").status_code == 401
    reg.refresh_from_db()
    assert reg.status == "approved"

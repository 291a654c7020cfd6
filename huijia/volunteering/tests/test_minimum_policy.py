"""The city's volunteering rules: the annual minimum (1–52) and the reminder lead (1–180 days before the
year ends), read by staff who work in the city and changed only by the city's organisation department
(Perm.MANAGE_POLICY over the city path), audited; on the console, the API and (read-mostly) the admin.
"""

import pytest
from django.contrib.admin.sites import site
from django.urls import reverse

from huijia.accounts.models import AuditLog
from huijia.accounts.roles import ROLE_PERMS, Perm, Role
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.grid.models import AreaKind
from huijia.grid.services import _new_area
from huijia.volunteering import minimum, records
from huijia.volunteering.minimum import DEFAULT_POLICY, Policy, policy_for
from huijia.volunteering.models import VolunteerPolicy


def state() -> tuple:
    return (
        list(VolunteerPolicy.objects.values_list("city_id", "annual_minimum", "remind_days_before_year_end")),
        AuditLog.objects.filter(action="volunteer.policy_set").count(),
    )


def test_only_the_organisation_department_holds_the_permission():
    holders = {role for role, perms in ROLE_PERMS.items() if Perm.MANAGE_POLICY in perms}
    assert holders == {Role.ORG_DEPT, Role.COMMUNITY}  # COMMUNITY holds every perm, but never over a city


def test_the_organisation_department_sets_the_citys_policy(world):
    city = world.areas["city"]
    result = minimum.set_policy(
        actor=world.actor("org_dept"), city_id=city.pk, annual_minimum=4, remind_days=60
    )
    assert result == Policy(4, 60)
    assert policy_for(world.areas["a1"]) == Policy(4, 60)
    log = AuditLog.objects.get(action="volunteer.policy_set")
    assert log.actor_id == world.users["org_dept"].pk
    assert log.detail == {
        "before": {"annual_minimum": 2, "remind_days": 45},
        "after": {"annual_minimum": 4, "remind_days": 60},
    }
    # the below-minimum list and the member's standing follow at once
    assert records.standing_of(actor=world.actor("member")).minimum == 4
    minimum.set_policy(actor=world.actor("org_dept"), city_id=city.pk, annual_minimum=1, remind_days=30)
    assert VolunteerPolicy.objects.get(city=city).annual_minimum == 1  # the same row, changed


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("staff", Forbidden),  # community staff: they read it, their grant does not cover the city
        ("street_staff", Forbidden),
        ("estate_secretary", Forbidden),
        ("building_head", Forbidden),
        ("unit_organiser", NotFound),
        ("member", NotFound),
        ("resident", NotFound),
        ("outsider", NotFound),
    ],
)
def test_everyone_else_is_refused_and_nothing_is_stored(world, who, error):
    before = state()
    with pytest.raises(error):
        minimum.set_policy(
            actor=world.actor(who), city_id=world.areas["city"].pk, annual_minimum=5, remind_days=30
        )
    assert state() == before


def test_another_city_is_not_found_even_for_the_organisation_department(world):
    other = _new_area(parent=None, kind=AreaKind.CITY, name="株洲市")
    before = state()
    with pytest.raises(NotFound):
        minimum.set_policy(actor=world.actor("org_dept"), city_id=other.pk, annual_minimum=3, remind_days=30)
    with pytest.raises(NotFound):
        minimum.policy_of_city(actor=world.actor("org_dept"), city_id=world.areas["a1"].pk)  # not a city
    assert state() == before


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ((0, 45), "bad_minimum"),
        ((53, 45), "bad_minimum"),
        (("3", 45), "bad_minimum"),
        ((True, 45), "bad_minimum"),
        ((2, 0), "bad_remind_days"),
        ((2, 181), "bad_remind_days"),
        ((2, None), "bad_remind_days"),
    ],
)
def test_bad_values_are_clear_errors_and_store_nothing(world, values, code):
    before = state()
    with pytest.raises(InvalidInput) as exc:
        minimum.set_policy(
            actor=world.actor("org_dept"), city_id=world.areas["city"].pk, annual_minimum=values[0],
            remind_days=values[1],
        )  # fmt: skip
    assert exc.value.code == code
    assert state() == before


def test_staff_of_the_city_read_it(world):
    for who in ("org_dept", "street_staff", "staff", "estate_secretary", "building_head"):
        city, policy = minimum.policy_of_city(actor=world.actor(who), city_id=world.areas["city"].pk)
        assert (city.name, policy) == ("长沙市", DEFAULT_POLICY)
    for who in ("unit_organiser", "member", "outsider"):
        with pytest.raises(NotFound):
            minimum.policy_of_city(actor=world.actor(who), city_id=world.areas["city"].pk)


# --- the console page ---------------------------------------------------------------------------------


def test_policy_page_for_the_organisation_department(world, client):
    client.force_login(world.users["org_dept"])
    url = reverse("volunteering:policy")
    html = client.get(url).content.decode()
    assert "长沙市" in html
    assert 'name="annual_minimum"' in html
    city = world.areas["city"].pk
    bad = client.post(f"{url}?city={city}", {"annual_minimum": "60", "remind_days": "45"})
    assert bad.status_code == 400
    assert "每年至少服务次数请填 1 到 52 之间的整数" in bad.content.decode()
    assert not VolunteerPolicy.objects.exists()
    done = client.post(f"{url}?city={city}", {"annual_minimum": "3", "remind_days": "40"})
    assert done.status_code == 302
    assert policy_for(world.areas["a1"]) == Policy(3, 40)
    # the minimum page links to it
    assert url in client.get(reverse("volunteering:minimum")).content.decode()


def test_policy_page_is_read_only_for_community_staff(world, client):
    client.force_login(world.users["staff"])
    url = reverse("volunteering:policy")
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "每年至少服务（次）" in html
    assert 'name="annual_minimum"' not in html
    assert "由市委组织部设置" in html
    refused = client.post(
        f"{url}?city={world.areas['city'].pk}", {"annual_minimum": "5", "remind_days": "30"}
    )
    assert refused.status_code == 403
    assert not VolunteerPolicy.objects.exists()
    assert url in client.get(reverse("volunteering:minimum")).content.decode()


def test_policy_page_for_others(world, client):
    client.force_login(world.users["unit_organiser"])
    response = client.get(reverse("volunteering:policy"))
    assert response.status_code == 200
    assert 'name="annual_minimum"' not in response.content.decode()
    assert client.get(reverse("volunteering:policy"), {"city": world.areas["city"].pk}).status_code == 404
    client.force_login(world.users["member"])
    assert client.get(reverse("volunteering:policy")).status_code == 403


# --- the API ------------------------------------------------------------------------------------------


def test_api_read_and_set(world, client):
    city = world.areas["city"].pk
    client.force_login(world.users["org_dept"])
    got = client.get(f"/api/v1/volunteer/policy?city_id={city}").json()
    assert got == {
        "city_id": city,
        "city": "长沙市",
        "annual_minimum": 2,
        "remind_days": 45,
        "can_change": True,
    }
    assert client.get("/api/v1/volunteer/policy").json()["city_id"] == city  # the city one works in
    put = client.put(
        f"/api/v1/volunteer/policy?city_id={city}", {"annual_minimum": 3, "remind_days": 60},
        content_type="application/json",
    )  # fmt: skip
    assert put.status_code == 200
    assert put.json()["annual_minimum"] == 3
    bad = client.put(
        f"/api/v1/volunteer/policy?city_id={city}", {"annual_minimum": 99, "remind_days": 60},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 400
    assert bad.json()["code"] == "bad_minimum"
    assert VolunteerPolicy.objects.get().annual_minimum == 3


def test_api_refusals(world, client):
    city = world.areas["city"].pk
    body = {"annual_minimum": 3, "remind_days": 60}
    client.force_login(world.users["staff"])
    assert client.get(f"/api/v1/volunteer/policy?city_id={city}").json()["can_change"] is False
    put = client.put(f"/api/v1/volunteer/policy?city_id={city}", body, content_type="application/json")
    assert put.status_code == 403
    client.force_login(world.users["member"])
    assert client.get(f"/api/v1/volunteer/policy?city_id={city}").status_code == 404
    put = client.put(f"/api/v1/volunteer/policy?city_id={city}", body, content_type="application/json")
    assert put.status_code == 404
    assert not VolunteerPolicy.objects.exists()


def test_admin_lists_the_policies_read_mostly(world, client, django_user_model):
    assert VolunteerPolicy in site._registry
    VolunteerPolicy.objects.create(city=world.areas["city"], annual_minimum=3)
    admin_user = django_user_model.objects.create_superuser("root", password="x-root-pass-1")
    client.force_login(admin_user)
    listing = client.get(reverse("admin:volunteering_volunteerpolicy_changelist"))
    assert listing.status_code == 200
    assert "长沙市" in listing.content.decode()
    assert client.get(reverse("admin:volunteering_volunteerpolicy_add")).status_code == 403
    model_admin = site._registry[VolunteerPolicy]
    assert not model_admin.has_delete_permission(None)

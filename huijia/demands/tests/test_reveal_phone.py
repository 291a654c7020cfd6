"""The reporter's phone in full, for whoever handles the demand and must call back: shown masked
everywhere, revealed on request to staff managing it and to its assignee only, every view audited."""

import pytest
from django.test import Client
from django.urls import reverse

from huijia.accounts.models import AuditLog
from huijia.accounts.scope import ANONYMOUS
from huijia.core.errors import Forbidden, InvalidInput, NotFound
from huijia.demands import services
from huijia.demands.models import AssigneeKind, Demand

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def filed(world, phone: str = PHONE) -> Demand:
    data = services.DemandInput(
        description="楼道下水道堵了", area_id=world.areas["a1_bldg"].pk, reporter_phone=phone
    )
    return services.submit_demand(actor=ANONYMOUS, data=data)


def assigned_to_member(world, phone: str = PHONE) -> Demand:
    demand = filed(world, phone)
    services.assign_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        kind=AssigneeKind.MEMBER,
        target_id=world.members["member"].pk,
    )
    return demand


def reveals() -> int:
    return AuditLog.objects.filter(action="pii.reveal", target_type="demands.Demand").count()


def test_staff_and_the_assignee_see_the_number_and_each_view_is_audited(world):
    demand = assigned_to_member(world)
    for who in ("staff", "estate_secretary", "member"):
        assert services.reveal_reporter_phone(actor=world.actor(who), demand_id=demand.pk) == PHONE
    assert reveals() == 3


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("other_staff", NotFound),  # another community
        ("other_member", NotFound),  # cannot see the demand at all
        ("street_staff", Forbidden),  # sees it, does not handle it
        ("building_head", Forbidden),
        ("resident", NotFound),
        ("outsider", NotFound),
    ],
)
def test_nobody_else_sees_the_number_and_nothing_is_audited(world, who, error):
    demand = assigned_to_member(world)
    with pytest.raises(error):
        services.reveal_reporter_phone(actor=world.actor(who), demand_id=demand.pk)
    assert reveals() == 0


def test_no_phone_left_is_said_plainly(world):
    demand = filed(world, phone="")
    with pytest.raises(InvalidInput):
        services.reveal_reporter_phone(actor=world.actor("staff"), demand_id=demand.pk)
    assert reveals() == 0


def test_the_pages_show_the_number_masked_with_a_button_that_reveals_it(world):
    demand = assigned_to_member(world)
    member = Client()
    member.force_login(world.users["member"])
    page = member.get(reverse("demands:mine_detail", args=[demand.pk])).content.decode()
    assert "138****5678" in page
    assert PHONE not in page
    url = reverse("demands:reveal_phone", args=[demand.pk])
    assert url in page
    shown = member.post(url, HTTP_HX_REQUEST="true")
    assert shown.status_code == 200
    assert PHONE in shown.content.decode()
    staff = Client()
    staff.force_login(world.users["staff"])
    page = staff.get(reverse("demands:console_detail", args=[demand.pk])).content.decode()
    assert url in page
    assert PHONE not in page
    street = Client()
    street.force_login(world.users["street_staff"])
    page = street.get(reverse("demands:console_detail", args=[demand.pk])).content.decode()
    assert "138****5678" in page
    assert url not in page
    refused = street.post(url)
    assert refused.status_code == 403
    assert PHONE not in refused.content.decode()
    assert reveals() == 1


def test_the_api_reveals_to_the_assignee_and_refuses_others(world):
    demand = assigned_to_member(world)
    url = f"/api/v1/demands/{demand.pk}/reveal-phone"
    member = Client()
    member.force_login(world.users["member"])
    answer = member.post(url)
    assert answer.status_code == 200
    assert answer.json() == {"phone": PHONE}
    street = Client()
    street.force_login(world.users["street_staff"])
    assert street.post(url).status_code == 403
    assert Client().post(url).status_code == 401
    assert reveals() == 1

"""Escalation (吹哨) goes "to the paired work unit or up to the street" (F7): a demand is escalated to a
work unit only when the unit is actively paired with the demand's community, and the console's
escalation step offers exactly those units."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from huijia.core.errors import InvalidInput
from huijia.demands.models import Demand, Escalation
from huijia.demands.services import DemandInput, escalate_demand, submit_demand
from huijia.volunteering.models import Pairing
from huijia.volunteering.pairings import end_pairing
from huijia.volunteering.tests.test_pairings_services import pair


def report(world, area: str = "a1_bldg") -> Demand:
    from huijia.accounts.scope import ANONYMOUS

    data = DemandInput(description="小区路灯坏了一个月，晚上出门不安全", area_id=world.areas[area].pk)
    return submit_demand(actor=ANONYMOUS, data=data)


def to_unit(world, demand: Demand, unit: str = "u1") -> Escalation:
    return escalate_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        target="work_unit",
        work_unit_id=world.units[unit].pk,
        reason="需要结对单位协调",
    )


def test_a_demand_goes_to_a_unit_paired_with_its_community(world):
    pair(world)
    escalation = to_unit(world, report(world))
    assert (escalation.work_unit, escalation.status) == (world.units["u1"], "sent")


@pytest.mark.parametrize(
    "setup",
    [
        "never paired",
        "paired with another community",
        "pairing ended",
        "pairing not started",
        "pairing past its end date",
    ],
)
def test_a_unit_not_paired_with_the_community_is_refused(world, setup):
    today = timezone.localdate()
    if setup == "paired with another community":
        pair(world, community="a2")
    elif setup == "pairing ended":
        end_pairing(actor=world.actor("staff"), pairing_id=pair(world).pk)
    elif setup == "pairing not started":
        pair(world, starts_on=today + timedelta(days=1))
    elif setup == "pairing past its end date":
        old = pair(world, starts_on=today - timedelta(days=100), ends_on=today)
        Pairing.objects.filter(pk=old.pk).update(ends_on=today - timedelta(days=1))
    demand = report(world)
    with pytest.raises(InvalidInput) as refused:
        to_unit(world, demand)
    assert refused.value.code == "unit_not_paired"
    assert refused.value.fields == {
        "work_unit_id": ["芙蓉区教育局没有与本社区结对，只能向结对单位吹哨，或向街道吹哨"]
    }
    assert not Escalation.objects.exists()
    assert Demand.objects.get(pk=demand.pk).status == "submitted"
    escalate_demand(actor=world.actor("staff"), demand_id=demand.pk, target="street", reason="街道协调")


def test_the_escalation_step_offers_the_paired_units_only(world):
    demand = report(world)
    client = Client()
    client.force_login(world.users["staff"])
    url = reverse("demands:console_detail", args=[demand.pk])
    html = client.get(url).content.decode()
    assert "本社区还没有结对单位，可以向街道吹哨" in html
    assert f"{reverse('volunteering:pairing_new')}?community={world.areas['a1'].pk}" in html  # staff may pair
    pair(world, unit="u2")
    pair(world, community="a2")  # u1 paired elsewhere: not offered here
    html = client.get(url).content.decode()
    assert "长沙市自来水公司" in html
    assert "芙蓉区教育局" not in html
    assert "只能向与本社区结对的单位吹哨" in html
    secretary = Client()
    secretary.force_login(world.users["estate_secretary"])
    Pairing.objects.all().delete()
    page = secretary.get(url).content.decode()
    assert "本社区还没有结对单位" in page
    assert reverse("volunteering:pairing_new") not in page  # the branch secretary does not pair

"""Unit–community pairings (结对共建, F3): creating and ending them through the services.

The organisation department, the street and the community committee (for its own community) pair a
work unit with a community for a period, with commitments; the unit is told; one active pairing per
pair; bad input is refused with a clear error and nothing stored.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.testing import build_world, race
from huijia.volunteering.models import Pairing
from huijia.volunteering.pairing_selectors import (
    PairingState,
    is_paired,
    paired_units,
    pairing_for,
    state_of,
)
from huijia.volunteering.pairings import PairingInput, create_pairing, end_pairing


def pair(world, unit: str = "u1", community: str = "a1", who: str = "street_staff", **fields) -> Pairing:
    """A pairing made through the service (by the street by default)."""
    data = PairingInput(work_unit_id=world.units[unit].pk, community_id=world.areas[community].pk, **fields)
    return create_pairing(actor=world.actor(who), data=data)


def stored() -> tuple:
    return (
        Pairing.objects.count(),
        Pairing.objects.filter(ended_at__isnull=False).count(),
        AuditLog.objects.count(),
    )


def inbox(world, who: str) -> list[str]:
    return list(
        Notification.objects.filter(user=world.users[who]).order_by("pk").values_list("text", flat=True)
    )


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    def run(service, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return service(**kwargs)

    return run


def test_the_street_pairs_a_unit_with_a_community_and_the_unit_is_told(world, commit):
    today = timezone.localdate()
    pairing = commit(
        create_pairing,
        actor=world.actor("street_staff"),
        data=PairingInput(
            work_unit_id=world.units["u1"].pk,
            community_id=world.areas["a1"].pk,
            ends_on=today + timedelta(days=365),
            commitments="  每季度一次联合志愿服务 \n\n帮助维修小区路灯\n",
        ),
    )
    assert (pairing.work_unit, pairing.community, pairing.starts_on) == (
        world.units["u1"],
        world.areas["a1"],
        today,
    )
    assert pairing.commitments == "每季度一次联合志愿服务\n帮助维修小区路灯"  # blank lines dropped
    assert pairing.created_by == world.users["street_staff"]
    assert inbox(world, "unit_organiser") == ["您单位已与识字岭社区结对共建"]
    assert AuditLog.objects.filter(action="pairing.create", target_id=str(pairing.pk)).exists()
    assert is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    assert not is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a2"].pk)
    assert list(paired_units(world.areas["a1"].pk)) == [world.units["u1"]]
    seen = pairing_for(actor=world.actor("unit_organiser"), pairing_id=pairing.pk)  # the unit sees it
    assert (seen.state, seen.commitment_lines) == (
        PairingState.ACTIVE,
        ["每季度一次联合志愿服务", "帮助维修小区路灯"],
    )


@pytest.mark.parametrize("who", ["org_dept", "street_staff", "staff"])
def test_the_organisation_department_the_street_and_the_community_pair(world, who):
    assert pair(world, who=who).pk


@pytest.mark.parametrize(
    ("who", "community"),
    [
        ("staff", "a2"),  # another community
        ("other_staff", "a1"),
        ("street_staff", "b1"),  # another street
        ("estate_secretary", "a1"),
        ("building_head", "a1"),
        ("unit_organiser", "a1"),  # a unit does not pair itself
        ("member", "a1"),
        ("resident", "a1"),
        ("outsider", "a1"),
    ],
)
def test_others_cannot_pair(world, who, community):
    before = stored()
    with pytest.raises((NotFound, Forbidden)):
        pair(world, community=community, who=who)
    assert stored() == before


def test_one_active_pairing_per_pair(world):
    first = pair(world)
    before = stored()
    with pytest.raises(Conflict) as refused:
        pair(world, who="staff")
    assert refused.value.code == "already_paired"
    assert "芙蓉区教育局已与识字岭社区结对" in refused.value.message
    assert stored() == before
    assert pair(world, unit="u2").pk != first.pk  # another unit may pair with the same community
    assert pair(world, community="a2").pk  # and the unit with another community


def test_an_expired_pairing_is_closed_when_the_pair_is_paired_again(world):
    today = timezone.localdate()
    old = pair(world, starts_on=today - timedelta(days=400), ends_on=today)
    Pairing.objects.filter(pk=old.pk).update(ends_on=today - timedelta(days=1))  # a year went by
    old.refresh_from_db()
    assert state_of(old) == PairingState.EXPIRED
    assert not is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    new = pair(world)
    old.refresh_from_db()
    assert old.ended_at is not None
    assert AuditLog.objects.filter(action="pairing.expire", target_id=str(old.pk)).exists()
    assert is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    assert new.ended_at is None


def test_a_pairing_that_starts_later_is_not_in_force_yet(world):
    pairing = pair(world, starts_on=timezone.localdate() + timedelta(days=7))
    assert state_of(pairing) == PairingState.UPCOMING
    assert not is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    with pytest.raises(Conflict):  # it still holds the pair's one open pairing
        pair(world)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"work_unit_id": None}, "unknown_work_unit"),
        ({"work_unit_id": 999_999}, "unknown_work_unit"),
        ({"community_id": None}, "community_missing"),
        ({"starts_on": "today", "ends_on": "yesterday"}, "ends_before_start"),
        ({"starts_on": "last week", "ends_on": "yesterday"}, "ends_in_past"),
        ({"commitments": "\n".join(f"承诺{i}" for i in range(21))}, "too_many_commitments"),
        ({"commitments": "长" * 101}, "commitment_too_long"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_stored(world, fields, code):
    today = timezone.localdate()
    days = {"today": today, "yesterday": today - timedelta(days=1), "last week": today - timedelta(days=7)}
    data = {"work_unit_id": world.units["u1"].pk, "community_id": world.areas["a1"].pk}
    data |= {
        k: days.get(v, v) if isinstance(v, str) and k in ("starts_on", "ends_on") else v
        for k, v in fields.items()
    }
    before = stored()
    with pytest.raises(InvalidInput) as refused:
        create_pairing(actor=world.actor("street_staff"), data=PairingInput(**data))
    assert refused.value.code == code
    assert refused.value.message
    assert refused.value.fields
    assert stored() == before


def test_only_a_community_can_be_paired(world):
    with pytest.raises(InvalidInput) as refused:
        create_pairing(
            actor=world.actor("org_dept"),
            data=PairingInput(work_unit_id=world.units["u1"].pk, community_id=world.areas["street_a"].pk),
        )
    assert refused.value.code == "not_a_community"
    with pytest.raises(NotFound):
        create_pairing(
            actor=world.actor("street_staff"),
            data=PairingInput(work_unit_id=world.units["u1"].pk, community_id=999_999),
        )
    assert not Pairing.objects.exists()


def test_ending_a_pairing_tells_the_unit_and_keeps_it_on_record(world, commit):
    pairing = pair(world)
    ended = commit(end_pairing, actor=world.actor("staff"), pairing_id=pairing.pk, reason="单位撤并")
    assert ended.ended_at is not None
    assert inbox(world, "unit_organiser")[-1] == "您单位与识字岭社区的结对已解除：单位撤并"
    assert AuditLog.objects.filter(action="pairing.end", target_id=str(pairing.pk)).exists()
    assert not is_paired(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    assert pairing_for(actor=world.actor("unit_organiser"), pairing_id=pairing.pk).state == PairingState.ENDED
    with pytest.raises(Conflict):
        end_pairing(actor=world.actor("staff"), pairing_id=pairing.pk)
    assert pair(world).pk != pairing.pk  # the pair may be paired again


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("unit_organiser", Forbidden),  # sees its pairing, cannot end it
        ("other_staff", NotFound),
        ("estate_secretary", NotFound),
        ("member", NotFound),
        ("outsider", NotFound),
    ],
)
def test_others_cannot_end_a_pairing(world, who, error):
    pairing = pair(world)
    before = stored()
    with pytest.raises(error):
        end_pairing(actor=world.actor(who), pairing_id=pairing.pk)
    assert stored() == before


def test_a_long_reason_for_ending_is_refused(world):
    pairing = pair(world)
    with pytest.raises(InvalidInput):
        end_pairing(actor=world.actor("staff"), pairing_id=pairing.pk, reason="长" * 201)
    assert Pairing.objects.get(pk=pairing.pk).ended_at is None


@pytest.mark.django_db(transaction=True)
def test_pairing_the_same_pair_at_once_makes_one_pairing():
    """Two staff pair the same unit and community at the same moment: one pairing, and the other hears
    it is already paired. On PostgreSQL the two really race (threads, one connection each; the partial
    unique constraint is the guard); SQLite's in-memory database cannot hold two writers, so there
    they take turns (see huijia/demands/tests/test_concurrency.py)."""
    world = build_world()
    data = PairingInput(work_unit_id=world.units["u1"].pk, community_id=world.areas["a1"].pk)
    actors = [world.actor("street_staff"), world.actor("staff")]
    outcomes = race([lambda a=a: create_pairing(actor=a, data=data) for a in actors])
    made = [o for o in outcomes if isinstance(o, Pairing)]
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert (len(made), len(refused)) == (1, 1), outcomes
    assert refused[0].code == "already_paired"
    assert Pairing.objects.filter(ended_at__isnull=True).count() == 1

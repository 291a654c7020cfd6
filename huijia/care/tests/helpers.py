"""Small builders shared by the care and ledger tests."""

import itertools
from datetime import date, timedelta

from django.utils import timezone

from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.members.access import set_household_access
from huijia.visits.models import Visit

KEYS = itertools.count(1)


def days_ago(n: int) -> date:
    return timezone.localdate() - timedelta(days=n)


def visit(world, household: str, *, on: date, member: str | None = "member", **facts) -> Visit:
    """A visit as the visits app stores it (written directly: these tests are about what reads it)."""
    user = world.users[member] if member else world.users["staff"]
    return Visit.objects.create(
        household=world.households[household],
        visited_on=on,
        member=world.members[member] if member else None,
        recorded_by=user,
        idempotency_key=f"test-visit-{next(KEYS):06d}",
        request_hash="0" * 64,
        **facts,
    )


def vulnerable(world, household: str, kind: str = "elderly_alone", **fields) -> VulnerablePerson:
    return VulnerablePerson.objects.create(household=world.households[household], kind=kind, **fields)


def pairing(world, household: str, *members: str, cadence: int = 30, started: date | None = None, **fields):
    """A pairing stored directly, with the household access a pairing gives: for the reads that list it."""
    p = CarePairing.objects.create(
        household=world.households[household],
        cadence_days=cadence,
        started_on=started or days_ago(0),
        **fields,
    )
    CarePairingMember.objects.bulk_create(
        [CarePairingMember(pairing=p, member=world.members[m]) for m in members]
    )
    set_household_access(
        member_ids=[world.members[m].pk for m in members],
        household_ids=[p.household_id],
        reason="care",
        on=True,
    )
    return p

"""Two staff assign the same demand at the same moment: exactly one wins, the other hears who did.

The two assignments run in two threads, each with its own database connection, on committed data
(a transactional test). On PostgreSQL the row lock taken by the service (SELECT ... FOR UPDATE)
makes the second wait for the first and then see the demand already assigned; without it both
would read "accepted" and both would assign it.

Like the rest of the suite these tests run on SQLite too (CI runs everything on both). SQLite's
in-memory test database cannot hold two writers: instead of waiting, as the file database of
`make run` does (BEGIN IMMEDIATE with a 20 s timeout), it answers "table is locked" at once. There
the two threads take turns, which still checks the loser's answer; the race itself is PostgreSQL's.
"""

import time

import pytest

from huijia.core.errors import Conflict
from huijia.core.testing import build_world
from huijia.core.testing import race as run_together
from huijia.demands import services
from huijia.demands.models import Demand, DemandEvent, DemandStatus, EventKind
from huijia.demands.services import accept_demand, assign_demand
from huijia.demands.tests.test_services import report

HOLD = 0.3  # seconds the winner keeps the demand locked, so that the other is surely waiting


def race(calls, monkeypatch) -> list:
    """huijia.core.testing.race, with the winner holding the demand's lock a while."""
    choose = services._assignee

    def slow_choice(*args, **kwargs):  # inside the transaction, after the lock: hold it a while
        time.sleep(HOLD)
        return choose(*args, **kwargs)

    monkeypatch.setattr(services, "_assignee", slow_choice)
    return run_together(calls)


@pytest.mark.django_db(transaction=True)
def test_two_staff_assigning_one_demand_at_once_one_wins_the_other_gets_a_conflict(monkeypatch):
    world = build_world()
    demand = report(world, "resident")
    accept_demand(actor=world.actor("staff"), demand_id=demand.pk)
    staff, secretary = world.actor("staff"), world.actor("estate_secretary")
    member, estate = world.members["member"].pk, world.areas["a1_estate"].pk

    outcomes = race(
        [
            lambda: assign_demand(actor=staff, demand_id=demand.pk, kind="member", target_id=member),
            lambda: assign_demand(actor=secretary, demand_id=demand.pk, kind="branch", target_id=estate),
        ],
        monkeypatch,
    )

    winners = [o for o in outcomes if isinstance(o, Demand)]
    losers = [o for o in outcomes if isinstance(o, Exception)]
    assert len(winners) == 1, outcomes
    assert len(losers) == 1, outcomes
    assert isinstance(losers[0], Conflict), repr(losers[0])
    assert losers[0].code == "already_assigned"
    stored = Demand.objects.get(pk=demand.pk)
    assert stored.status == DemandStatus.ASSIGNED
    assert stored.assignee_kind == winners[0].assignee_kind
    winner_name = "李建国" if stored.assignee_kind == "member" else "识字岭社区幸福小区党支部"
    assert winner_name in losers[0].message  # the loser is told who has it
    assert DemandEvent.objects.filter(demand=demand, kind=EventKind.ASSIGNED).count() == 1
    assert stored.version == 3  # submitted 1, accepted 2, assigned once 3


@pytest.mark.django_db(transaction=True)
def test_two_staff_sending_the_same_stale_form_one_wins(monkeypatch):
    """The same race through forms carrying the version they were shown, from a submitted demand."""
    world = build_world()
    demand = report(world)
    staff, secretary = world.actor("staff"), world.actor("estate_secretary")
    member, estate = world.members["member"].pk, world.areas["a1_estate"].pk
    outcomes = race(
        [
            lambda: assign_demand(
                actor=staff, demand_id=demand.pk, kind="member", target_id=member, version=1
            ),
            lambda: assign_demand(
                actor=secretary, demand_id=demand.pk, kind="branch", target_id=estate, version=1
            ),
        ],
        monkeypatch,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Demand"], outcomes
    assert next(o for o in outcomes if isinstance(o, Conflict)).code == "already_assigned"
    kinds = list(DemandEvent.objects.filter(demand=demand).order_by("pk").values_list("kind", flat=True))
    assert kinds == [EventKind.SUBMITTED, EventKind.ACCEPTED, EventKind.ASSIGNED]  # accepted once too

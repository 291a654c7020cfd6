"""Many members signing up for one slot at the same moment never get more confirmed places than it has.

Each sign-up runs in its own thread with its own database connection, on committed data (a
transactional test). On PostgreSQL they really race: the service locks the slot's row (SELECT ... FOR
UPDATE) and counts under the lock, so exactly `capacity` are confirmed and the rest wait in line;
without the lock several would read "9 confirmed" and all take the tenth place.

Like the rest of the suite these tests also run on SQLite (CI runs both), where the in-memory test
database cannot hold two writers: there the threads take turns, which still checks the counting and
the waitlist order; the race itself is PostgreSQL's (see huijia/demands/tests/test_concurrency.py).
"""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from huijia.core.testing import World, build_world, make_member, race, register
from huijia.volunteering.activities import (
    ActivityInput,
    Recurrence,
    ShiftTime,
    publish_post,
    sign_up,
)
from huijia.volunteering.models import Enrolment, EnrolmentStatus, OrganiserKind, Slot
from huijia.volunteering.testing import make_activity

MEMBERS = 40


def members(w: World, n: int) -> list[str]:
    names = []
    for i in range(n):
        key = f"racer{i}"
        make_member(w, key, name=f"队员{i:02d}", serial=100 + i, unit="u1")
        register(w, key, "a1", "a1_202")
        names.append(key)
    return names


def check(slot: Slot, outcomes: list, racers: int) -> None:
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == [], errors[:3]
    statuses = [o.status for o in outcomes]
    slot.refresh_from_db()
    assert statuses.count(EnrolmentStatus.CONFIRMED) == slot.capacity
    assert statuses.count(EnrolmentStatus.WAITLISTED) == racers - slot.capacity
    assert (slot.confirmed, slot.waitlisted) == (slot.capacity, racers - slot.capacity)
    stored = Enrolment.objects.filter(slot=slot)
    assert stored.filter(status=EnrolmentStatus.CONFIRMED).count() == slot.capacity
    assert stored.filter(status=EnrolmentStatus.WAITLISTED).count() == racers - slot.capacity
    # the waitlist is in the order people signed up: every confirmed place was taken before any wait
    ordered = list(stored.order_by("created_at", "pk").values_list("status", flat=True))
    assert ordered[: slot.capacity] == [EnrolmentStatus.CONFIRMED] * slot.capacity


@pytest.mark.django_db(transaction=True)
def test_forty_members_signing_up_at_once_for_ten_places():
    w = build_world()
    racers = members(w, MEMBERS)
    slot = make_activity(w, slots=[("社区广场", 24, 2, 10)]).slots.get()

    outcomes = race([lambda name=name: sign_up(actor=w.actor(name), slot_id=slot.pk) for name in racers])

    check(slot, outcomes, MEMBERS)


@pytest.mark.django_db(transaction=True)
def test_members_claiming_the_shifts_of_a_post_at_once():
    w = build_world()
    racers = members(w, MEMBERS)
    day = timezone.localdate() + timedelta(days=2)
    post = publish_post(
        actor=w.actor("staff"),
        data=ActivityInput(
            title="节日值守岗",
            category="festival",
            organiser_kind=OrganiserKind.COMMUNITY,
            community_id=w.areas["a1"].pk,
        ),
        recurrence=Recurrence(
            date_from=day,
            date_to=day,
            weekdays=frozenset(range(7)),
            times=(
                ShiftTime(time(8, 0), time(12, 0), "上午班"),
                ShiftTime(time(14, 0), time(18, 0), "下午班"),
            ),
            venue="社区大门",
            capacity=3,
        ),
    )
    morning, afternoon = post.slots.order_by("starts_at")
    half = MEMBERS // 2
    calls = [lambda n=n: sign_up(actor=w.actor(n), slot_id=morning.pk) for n in racers[:half]]
    calls += [lambda n=n: sign_up(actor=w.actor(n), slot_id=afternoon.pk) for n in racers[half:]]

    outcomes = race(calls)

    check(morning, outcomes[:half], half)
    check(afternoon, outcomes[half:], half)

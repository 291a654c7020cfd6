"""Keeping the household access list (HouseholdAccess) right: which households a member may see and
visit, and why (their team's zone, a neighbour link, a care pairing).

Every service that changes zones, links or pairings calls these inside its own transaction. Each call
costs a constant few queries whatever the number of members and households: rows are written in
bulk, never one by one. A row whose three reasons are all false is deleted.
"""

from collections.abc import Iterable
from typing import Literal

from django.db.models import Q

from huijia.members.models import HouseholdAccess, HouseholdLink, ZoneAssignment

Reason = Literal["zone", "link", "care"]
REASONS: tuple[Reason, ...] = ("zone", "link", "care")
BATCH = 2000


def _flag(reason: Reason) -> str:
    if reason not in REASONS:
        raise ValueError(f"unknown access reason {reason!r}")
    return f"by_{reason}"


def _no_reason_left() -> Q:
    return Q(by_zone=False, by_link=False, by_care=False)


def set_household_access(
    *, member_ids: Iterable[int], household_ids: Iterable[int], reason: Reason, on: bool
) -> None:
    """Sets (or clears) `reason` for every pair of the given members and households.

    Setting creates the rows that do not exist yet and leaves the other reasons of existing rows as
    they are; clearing deletes the rows left with no reason at all. Three queries at most.
    """
    flag = _flag(reason)
    members, households = sorted(set(member_ids)), sorted(set(household_ids))
    if not members or not households:
        return
    if on:
        rows = [
            HouseholdAccess(member_id=m, household_id=h, **{flag: True}) for m in members for h in households
        ]
        _upsert(rows, flag)
        return
    pairs = HouseholdAccess.objects.filter(member_id__in=members, household_id__in=households)
    pairs.filter(**{flag: True}).update(**{flag: False})
    pairs.filter(_no_reason_left()).delete()


def sync_household_access(
    *, member_ids: Iterable[int], reason: Reason, pairs: Iterable[tuple[int, int]]
) -> None:
    """Makes `reason` hold for exactly `pairs` (member id, household id) among these members' rows.

    Pairs of other members are ignored. Five queries at most: read, set, clear, delete, create.
    """
    flag = _flag(reason)
    members = set(member_ids)
    wanted = {(m, h) for m, h in pairs if m in members}
    if not members:
        return
    existing = HouseholdAccess.objects.filter(member_id__in=sorted(members))
    rows = {
        (m, h): (pk, has) for pk, m, h, has in existing.values_list("pk", "member_id", "household_id", flag)
    }
    to_set = [pk for pair, (pk, has) in rows.items() if pair in wanted and not has]
    to_clear = [pk for pair, (pk, has) in rows.items() if pair not in wanted and has]
    if to_set:
        HouseholdAccess.objects.filter(pk__in=to_set).update(**{flag: True})
    if to_clear:
        HouseholdAccess.objects.filter(pk__in=to_clear).update(**{flag: False})
        HouseholdAccess.objects.filter(pk__in=to_clear).filter(_no_reason_left()).delete()
    new = [
        HouseholdAccess(member_id=m, household_id=h, **{flag: True}) for m, h in sorted(wanted - rows.keys())
    ]
    if new:
        HouseholdAccess.objects.bulk_create(new, batch_size=BATCH)


def rebuild_zone_access(*, member_ids: Iterable[int]) -> None:
    """Recomputes the zone reason of these members from their active teams and those teams' zones."""
    members = sorted(set(member_ids))
    pairs = ZoneAssignment.objects.filter(
        ended_at=None,
        team__ended_at=None,
        team__memberships__ended_at=None,
        team__memberships__member_id__in=members,
    ).values_list("team__memberships__member_id", "household_id")
    sync_household_access(member_ids=members, reason="zone", pairs=list(pairs) if members else [])


def rebuild_link_access(*, member_ids: Iterable[int]) -> None:
    """Recomputes the link reason of these members from their active neighbour links (党员联户)."""
    members = sorted(set(member_ids))
    pairs = HouseholdLink.objects.filter(ended_at=None, member_id__in=members).values_list(
        "member_id", "household_id"
    )
    sync_household_access(member_ids=members, reason="link", pairs=list(pairs) if members else [])


def _upsert(rows: list[HouseholdAccess], flag: str) -> None:
    """Creates the rows, or sets `flag` on the ones that already exist (one statement per batch)."""
    HouseholdAccess.objects.bulk_create(
        rows,
        batch_size=BATCH,
        update_conflicts=True,
        unique_fields=["member", "household"],
        update_fields=[flag],
    )

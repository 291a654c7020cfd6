"""Builders shared by the three lists' tests (no tests here): demands, needs, items, claims and members
with skills, written directly so that each test reads as the situation it is about."""

import itertools

from huijia.core.testing import World, make_member, register
from huijia.demands.models import (
    Category,
    ClaimantKind,
    Demand,
    DemandSource,
    DemandStatus,
    Need,
    NeedKind,
    ServiceClaim,
    ServiceItem,
)
from huijia.members.models import Member, Skill

SERIAL = itertools.count(100)


def category(code: str) -> Category:
    return Category.objects.get(code=code)


def places(w: World, where: str) -> dict:
    """The area, community and estate of a place named like the world's keys: "a1", "a1_bldg"."""
    community = where.split("_")[0]
    estate = None if where == community else w.areas[f"{community}_estate"]
    return {"area": w.areas[where], "community": w.areas[community], "estate": estate}


def demand(
    w: World,
    where: str = "a1_bldg",
    *,
    code: str = "drain",
    household: str | None = None,
    status: str = DemandStatus.ACCEPTED,
    text: str = "楼下下水道堵了，污水冒出来",
    **fields,
) -> Demand:
    if household is not None:
        where = {"a1_bldg2_101": "a1_bldg2", "b1_bldg2_101": "b1_bldg2"}.get(
            household, f"{household[:2]}_bldg"
        )
    return Demand.objects.create(
        **places(w, where),
        household=w.households[household] if household else None,
        description=text,
        category=category(code) if code else None,
        source=DemandSource.RESIDENT,
        status=status,
        **fields,
    )


def need(
    w: World, where: str = "a1_estate", *, code: str | None = "drain", title: str = "下水道疏通", **fields
):
    p = places(w, where)
    return Need.objects.create(
        community=p["community"],
        area=p["area"],
        kind=fields.pop("kind", NeedKind.COMMON),
        title=title,
        category=category(code) if code else None,
        **fields,
    )


def item(w: World, community: str = "a1", *, places_: int = 2, title: str = "上门疏通下水道", **fields):
    return ServiceItem.objects.create(
        community=w.areas[community], title=title, places=places_, created_by=w.users["staff"], **fields
    )


def claim(item_: ServiceItem, *, member: Member | None = None, team=None, unit=None) -> ServiceClaim:
    kind = ClaimantKind.MEMBER if member else ClaimantKind.TEAM if team else ClaimantKind.WORK_UNIT
    return ServiceClaim.objects.create(item=item_, kind=kind, member=member, team=team, work_unit=unit)


def skill(name: str) -> Skill:
    return Skill.objects.get_or_create(name=name)[0]


def reporting(
    w: World,
    key: str,
    name: str,
    household: str,
    *,
    skills: tuple[str, ...] = (),
    free_time=(),
    resources: str = "",
    light_duty: bool = False,
    unit: str | None = "u2",
    user: bool = False,
) -> Member:
    """A member reporting in the community of `household`, with skills, free time and resources."""
    member = make_member(w, key, name=name, serial=next(SERIAL), unit=unit, user=user)
    register(w, key, household[:2], household)
    Member.objects.filter(pk=member.pk).update(
        free_time=list(free_time), resources=resources, light_duty=light_duty
    )
    member.refresh_from_db()
    member.skills.set([skill(s) for s in skills])
    return member


def paired(w: World, unit: str = "u1", community: str = "a1") -> None:
    """Pairs a work unit with a community (结对共建): where the unit may claim service items."""
    from datetime import date

    from huijia.volunteering.models import Pairing

    Pairing.objects.create(work_unit=w.units[unit], community=w.areas[community], starts_on=date(2026, 1, 1))

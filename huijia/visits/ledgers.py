"""The visit ledger (入户走访台账) of an estate for a month, generated from the visits recorded.

One row per visit, in date order: 序号, 走访日期, 楼栋, 单元, 房号, 走访人, 住房情况, 常住人数,
群众诉求与意见, 困难群体情况, 帮办事项, 备注. Contact numbers learnt in visits are never written to it.
"""

from datetime import date
from typing import IO

from django.db import transaction
from django.utils.translation import gettext as _

from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit
from huijia.care.models import VulnerablePerson
from huijia.core.ledger import Month, estate_for_ledger, write_ledger
from huijia.grid.models import Area
from huijia.visits.models import Visit

HEADER = (
    *("序号", "走访日期", "楼栋", "单元", "房号", "走访人", "住房情况", "常住人数"),
    *("群众诉求与意见", "困难群体情况", "帮办事项", "备注"),
)
WIDTHS = (6, 14, 8, 8, 8, 10, 16, 8, 30, 24, 24, 20)


def visits_of_month(*, actor: Actor, estate: Area, month: Month):
    """The month's visits to households of the estate, in date and address order (1 query)."""
    return (
        restrict(Visit.objects.all(), actor)
        .filter(
            household__building__path__startswith=estate.path, visited_on__range=(month.first, month.last)
        )
        .select_related("household", "household__building", "member", "recorded_by", "campaign")
        .only(
            *("id", "visited_on", "tenure", "occupants", "moved_in_on", "opinions", "help_given", "notes"),
            *("household__id", "household__unit", "household__room", "household__building__name"),
            *("member__name", "recorded_by__username", "recorded_by__display_name", "campaign__name"),
        )
        .order_by("visited_on", "household__building_id", "household__unit", "household__room", "pk")
    )


def _vulnerable_by_household(household_ids: set[int]) -> dict[int, list[VulnerablePerson]]:
    people: dict[int, list[VulnerablePerson]] = {}
    qs = VulnerablePerson.objects.filter(household_id__in=household_ids).order_by("pk")
    for person in qs.only(
        "id", "household_id", "kind", "name", "note", "visit_id", "recorded_at", "ended_at"
    ):
        people.setdefault(person.household_id, []).append(person)
    return people


def _known_on(person: VulnerablePerson, visit: Visit) -> bool:
    """Learnt in this visit, or on file (and not ended) on the day of the visit."""
    if person.visit_id == visit.pk:
        return True
    recorded: date = person.recorded_at.date()
    ended = person.ended_at.date() if person.ended_at else None
    return recorded <= visit.visited_on and (ended is None or ended >= visit.visited_on)


def _person(person: VulnerablePerson) -> str:
    details = "，".join(part for part in (person.name, person.note) if part)
    return f"{person.get_kind_display()}（{details}）" if details else person.get_kind_display()


def _housing(visit: Visit) -> str:
    parts = []
    if visit.tenure:
        parts.append(visit.get_tenure_display())
    if visit.moved_in_on:
        parts.append(_("{y}年{m}月入住").format(y=visit.moved_in_on.year, m=visit.moved_in_on.month))
    return "，".join(parts)


def _visitor(visit: Visit) -> str:
    if visit.member_id and visit.member:
        return visit.member.name
    user = visit.recorded_by
    return user.display_name or user.username


def _rows(visits: list[Visit], people: dict[int, list[VulnerablePerson]]):
    for visit in visits:
        h = visit.household
        opinions = "；".join(line.strip() for line in visit.opinions.splitlines() if line.strip())
        known = [_person(p) for p in people.get(h.pk, []) if _known_on(p, visit)]
        notes = [visit.notes.strip()] if visit.notes.strip() else []
        if visit.campaign_id and visit.campaign:
            notes.append(_("敲门行动：{n}").format(n=visit.campaign.name))
        yield (
            visit.visited_on,
            h.building.name,
            h.unit,
            h.room,
            _visitor(visit),
            _housing(visit),
            visit.occupants if visit.occupants is not None else "",
            opinions,
            "；".join(known),
            visit.help_given.strip(),
            "；".join(notes),
        )


@transaction.atomic
def export_visit_ledger(*, actor: Actor, estate_id: int, month: str, dest: IO[bytes]) -> tuple[Area, int]:
    """Writes the estate's visit ledger for the month ("2026-11") into `dest`; audited."""
    estate = estate_for_ledger(actor=actor, estate_id=estate_id)
    period = Month.parse(month)
    visits = list(visits_of_month(actor=actor, estate=estate, month=period))
    people = _vulnerable_by_household({v.household_id for v in visits}) if visits else {}
    community = estate.parent.name if estate.parent else ""
    count = write_ledger(
        dest,
        sheet_title=_("入户走访台账"),
        title=_("{e}入户走访台账（{m}）").format(e=estate.name, m=period.label),
        info=_("社区：{c}    小区：{e}    月份：{m}    走访共 {n} 户次").format(
            c=community, e=estate.name, m=period.label, n=len(visits)
        ),
        header=HEADER,
        rows=_rows(visits, people),
        widths=WIDTHS,
        date_columns=(1,),
    )
    audit(actor=actor, action="ledger.visits", target=estate, month=str(period), rows=count)
    return estate, count

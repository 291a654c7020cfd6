"""The care ledger (结对帮扶台账) of an estate for a month, generated from pairings and visits.

One row per pairing running in the month: 序号, 帮扶对象, 困难类别, 结对党员, 走访周期, 本月走访次数,
最近走访日期, 帮扶内容, 是否逾期. A visit counts when one of the pairing's members made it to the
household. No phone number is written to it.
"""

from collections import defaultdict
from datetime import date
from typing import IO

from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit
from huijia.care.forms import CADENCES
from huijia.care.models import CarePairing, CarePairingMember, VulnerablePerson
from huijia.care.selectors import due_of, household_sort_key, place
from huijia.core.ledger import Month, estate_for_ledger, write_ledger
from huijia.grid.models import Area

HEADER = (
    "序号",
    "帮扶对象",
    "困难类别",
    "结对党员",
    "走访周期",
    "本月走访次数",
    "最近走访日期",
    "帮扶内容",
    "是否逾期",
)
WIDTHS = (6, 20, 16, 16, 12, 10, 16, 34, 14)
CADENCE_LABELS = dict(CADENCES)


def pairings_of_month(*, actor: Actor, estate: Area, month: Month) -> list[CarePairing]:
    """Pairings under the estate running at some point of the month, with members and people: 3 queries."""
    running = Q(started_on__lte=month.last) & (Q(ended_on=None) | Q(ended_on__gte=month.first))
    members = CarePairingMember.objects.select_related("member").only("pairing_id", "member__name")
    qs = (
        restrict(CarePairing.objects.all(), actor)
        .filter(running, household__building__path__startswith=estate.path)
        .select_related("household", "household__building", "household__building__parent")
        .prefetch_related(
            Prefetch("pairing_members", queryset=members.order_by("pk")),
            Prefetch(
                "household__vulnerable", queryset=VulnerablePerson.objects.order_by("pk"), to_attr="people"
            ),
        )
    )
    return sorted(qs, key=lambda p: (household_sort_key(p.household), p.pk))


def _visits(pairings: list[CarePairing], until: date):
    """(household, member) -> [(date, help given)] up to `until`, for the pairings' households: 1 query."""
    from huijia.visits.models import Visit

    found = defaultdict(list)
    if not pairings:
        return found
    since = min(p.started_on for p in pairings)
    rows = Visit.objects.filter(
        household_id__in={p.household_id for p in pairings}, visited_on__range=(since, until)
    ).values_list("household_id", "member_id", "visited_on", "help_given")
    for household_id, member_id, visited_on, help_given in rows:
        found[(household_id, member_id)].append((visited_on, help_given))
    return found


def _cadence(days: int) -> str:
    label = CADENCE_LABELS.get(days)
    return _("{l}（{n}天）").format(l=label, n=days) if label else _("每{n}天").format(n=days)


def _kinds(pairing: CarePairing, month: Month) -> str:
    kinds = []
    for person in pairing.household.people:
        ended = person.ended_at.date() if person.ended_at else None
        if person.recorded_at.date() <= month.last and (ended is None or ended >= month.first):
            label = person.get_kind_display()
            if label not in kinds:
                kinds.append(label)
    return "、".join(kinds)


def _row(pairing: CarePairing, visits, month: Month, today: date):
    member_ids = [pm.member_id for pm in pairing.pairing_members.all()]
    end = min(month.last, pairing.ended_on or month.last)
    mine = sorted(
        (
            v
            for m in member_ids
            for v in visits.get((pairing.household_id, m), [])
            if v[0] >= pairing.started_on
        ),
        key=lambda v: v[0],
    )
    in_month = [v for v in mine if month.first <= v[0] <= end]
    before_end = [v for v in mine if v[0] <= end]
    last = before_end[-1][0] if before_end else None
    help_given = [v[1].strip() for v in in_month if v[1].strip()]
    content = "；".join(part for part in (pairing.note.strip(), *help_given) if part)
    reference = min(end, today)
    due = due_of(pairing, last, reference)
    late = _("是（逾期{n}天）").format(n=due.days_overdue) if due.overdue else _("否")
    return (
        place(pairing.household),
        _kinds(pairing, month),
        "、".join(pm.member.name for pm in pairing.pairing_members.all()),
        _cadence(pairing.cadence_days),
        len(in_month),
        last or "",
        content,
        late,
    )


@transaction.atomic
def export_care_ledger(*, actor: Actor, estate_id: int, month: str, dest: IO[bytes]) -> tuple[Area, int]:
    """Writes the estate's care ledger for the month ("2026-11") into `dest`; audited."""
    estate = estate_for_ledger(actor=actor, estate_id=estate_id)
    period = Month.parse(month)
    today = timezone.localdate()
    pairings = pairings_of_month(actor=actor, estate=estate, month=period)
    visits = _visits(pairings, period.last)
    community = estate.parent.name if estate.parent else ""
    count = write_ledger(
        dest,
        sheet_title=_("结对帮扶台账"),
        title=_("{e}结对帮扶台账（{m}）").format(e=estate.name, m=period.label),
        info=_("社区：{c}    小区：{e}    月份：{m}    结对共 {n} 户").format(
            c=community, e=estate.name, m=period.label, n=len(pairings)
        ),
        header=HEADER,
        rows=(_row(p, visits, period, today) for p in pairings),
        widths=WIDTHS,
        date_columns=(6,),
    )
    audit(actor=actor, action="ledger.care", target=estate, month=str(period), rows=count)
    return estate, count

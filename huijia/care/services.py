"""Writes of care (结对帮扶, F10): the file of vulnerable people, and care pairings with a visit cadence.

The file and the pairings are kept by community staff and the estate branch secretary (Perm.MANAGE_CARE
over the household). A pairing gives its members access to the household (members.HouseholdAccess,
reason "care") for as long as it runs, so they see it among their households and can record visits.
"""

from datetime import date

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.care.models import CarePairing, CarePairingMember, VulnerableKind, VulnerablePerson
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.grid.models import Area, AreaKind, Household
from huijia.members.access import set_household_access
from huijia.members.models import Member

MAX_NAME = 64
MAX_NOTE = 200
MAX_MEMBERS = 5
MAX_CADENCE = 366
REFUSED = _("困难群体档案和结对帮扶由社区党委和小区党支部书记管理")


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def _household_to_manage(actor: Actor, household_id: int, *, lock: bool = False) -> Household:
    qs = Household.objects.select_related("building").filter(pk=household_id)
    if lock:
        qs = qs.select_for_update(of=("self",))
    household = restrict(qs, actor, Perm.MANAGE_CARE).first()
    if household is None:
        if restrict(Household.objects.filter(pk=household_id), actor, Perm.VIEW).exists():
            raise Forbidden(str(REFUSED))
        raise NotFound()
    return household


def _refuse(model, pk: int, actor: Actor):
    """Forbidden when the actor sees the row but may not manage it; NotFound when they do not see it."""
    if restrict(model.objects.filter(pk=pk), actor, Perm.VIEW).exists():
        return Forbidden(str(REFUSED))
    return NotFound()


# --- the file of vulnerable people ----------------------------------------------------------------


@transaction.atomic
def add_vulnerable(
    *, actor: Actor, household_id: int, kind: str, name: str = "", note: str = ""
) -> VulnerablePerson:
    """Staff or the estate secretary put someone in a household on the file: a kind, a short note."""
    household = _household_to_manage(actor, household_id, lock=True)
    if kind not in VulnerableKind.values:
        raise _invalid("kind", _("请选择困难类别"), "bad_kind")
    name, note = (name or "").strip(), (note or "").strip()
    if len(name) > MAX_NAME:
        raise _invalid("name", _("称呼不超过{n}个字").format(n=MAX_NAME))
    if len(note) > MAX_NOTE:
        raise _invalid("note", _("情况说明不超过{n}个字").format(n=MAX_NOTE))
    same = VulnerablePerson.objects.filter(household=household, kind=kind, name=name, ended_at=None)
    if same.exists():
        raise Conflict(_("该户已登记过同一类别的这个人"), code="already_on_file")
    person = VulnerablePerson.objects.create(
        household=household, kind=kind, name=name, note=note, recorded_by_id=actor.user_id
    )
    audit(actor=actor, action="care.vulnerable.add", target=person, kind=kind, household=household.pk)
    return person


@transaction.atomic
def end_vulnerable(*, actor: Actor, person_id: int) -> VulnerablePerson:
    """Takes someone off the active file (no longer in need, moved, passed away); the record stays."""
    qs = VulnerablePerson.objects.select_for_update().filter(pk=person_id)
    person = restrict(qs, actor, Perm.MANAGE_CARE).first()
    if person is None:
        raise _refuse(VulnerablePerson, person_id, actor)
    if person.ended_at is not None:
        raise Conflict(_("该记录已经结束"), code="already_ended")
    person.ended_at = timezone.now()
    person.save(update_fields=["ended_at"])
    audit(actor=actor, action="care.vulnerable.end", target=person)
    return person


# --- pairings -------------------------------------------------------------------------------------


def _community_of(household: Household) -> Area:
    return Area.objects.get(pk__in=household.building.ancestor_ids(), kind=AreaKind.COMMUNITY)


def _members_reporting(actor: Actor, member_ids: list[int], community: Area) -> list[Member]:
    ids = list(dict.fromkeys(member_ids or []))
    if not ids:
        raise _invalid("member_ids", _("请至少选择一名结对党员"), "members_required")
    if len(ids) > MAX_MEMBERS:
        raise _invalid("member_ids", _("一户最多{n}名结对党员").format(n=MAX_MEMBERS))
    # only members the actor may see: ids posted by hand cannot reach members outside their scope
    visible = restrict(Member.objects.filter(pk__in=ids, community=community), actor, Perm.VIEW)
    members = list(visible.only("id", "name", "user_id"))
    if len(members) != len(ids):
        message = _("结对党员须是在{c}报到的党员").format(c=community.name)
        raise _invalid("member_ids", message, "member_not_reporting")
    return members


def _check_dates(started_on: date, today: date) -> None:
    if started_on > today:
        raise _invalid("started_on", _("开始日期不能晚于今天"), "start_in_future")


@transaction.atomic
def create_pairing(
    *,
    actor: Actor,
    household_id: int,
    member_ids: list[int],
    cadence_days: int = 30,
    started_on: date | None = None,
    note: str = "",
) -> CarePairing:
    """Pairs one or several members with a household on the file, to visit it every `cadence_days`."""
    household = _household_to_manage(actor, household_id, lock=True)
    if not 1 <= cadence_days <= MAX_CADENCE:
        raise _invalid("cadence_days", _("走访周期应在1到{n}天之间").format(n=MAX_CADENCE), "bad_cadence")
    today = timezone.localdate()
    started_on = started_on or today
    _check_dates(started_on, today)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise _invalid("note", _("帮扶内容不超过{n}个字").format(n=MAX_NOTE))
    if not VulnerablePerson.objects.filter(household=household, ended_at=None).exists():
        message = _("该户不在困难群体档案中，请先登记困难情况")
        raise _invalid("household_id", message, "not_on_file")
    members = _members_reporting(actor, member_ids, _community_of(household))
    if CarePairing.objects.filter(household=household, ended_on=None).exists():
        raise Conflict(_("该户已有结对帮扶，请先结束原结对"), code="already_paired")
    pairing = CarePairing.objects.create(
        household=household,
        cadence_days=cadence_days,
        note=note,
        started_on=started_on,
        created_by_id=actor.user_id,
    )
    CarePairingMember.objects.bulk_create([CarePairingMember(pairing=pairing, member=m) for m in members])
    set_household_access(
        member_ids=[m.pk for m in members], household_ids=[household.pk], reason="care", on=True
    )
    ids = [m.pk for m in members]
    audit(actor=actor, action="care.pairing.create", target=pairing, household=household.pk, members=ids)
    text = _("您已与{h}结对帮扶，请每{n}天至少走访一次。").format(
        h=f"{household.building.name} {household.label}", n=cadence_days
    )
    for member in members:
        notify(user_id=member.user_id, text=text, url=reverse("care:mine"))
    return pairing


@transaction.atomic
def end_pairing(*, actor: Actor, pairing_id: int, ended_on: date | None = None) -> CarePairing:
    """Ends a pairing; its members keep access to the household only for another reason (zone, link)."""
    qs = CarePairing.objects.select_for_update().filter(pk=pairing_id)
    pairing = restrict(qs, actor, Perm.MANAGE_CARE).first()
    if pairing is None:
        raise _refuse(CarePairing, pairing_id, actor)
    if pairing.ended_on is not None:
        raise Conflict(_("该结对已经结束"), code="already_ended")
    today = timezone.localdate()
    ended_on = ended_on or today
    if ended_on > today:
        raise _invalid("ended_on", _("结束日期不能晚于今天"), "end_in_future")
    if ended_on < pairing.started_on:
        raise _invalid("ended_on", _("结束日期不能早于开始日期"), "end_before_start")
    pairing.ended_on = ended_on
    pairing.save(update_fields=["ended_on"])
    member_ids = list(pairing.pairing_members.values_list("member_id", flat=True))
    still_paired = set(
        CarePairingMember.objects.filter(
            member_id__in=member_ids, pairing__household_id=pairing.household_id, pairing__ended_on=None
        ).values_list("member_id", flat=True)
    )
    if released := [m for m in member_ids if m not in still_paired]:
        set_household_access(
            member_ids=released, household_ids=[pairing.household_id], reason="care", on=False
        )
    audit(actor=actor, action="care.pairing.end", target=pairing, ended_on=ended_on.isoformat())
    return pairing

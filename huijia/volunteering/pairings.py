"""Writes of unit–community pairings (结对共建, F3, S2: "500 机关 with 500 社区, full coverage").

A work unit's Party organisation is paired with a community for a period, with commitments (one per
line); the pair then organises joint activities (Activity.pairing), which count for both sides, and
the community escalates (吹哨) demands it cannot solve to its paired units.

Who may do what: staff with MANAGE_PAIRINGS over the community (the organisation department, the
street working committee, the community committee for its own community) create a pairing and end it.
The unit sees its pairings; it cannot create or end them. One active pairing per (unit, community):
a pairing whose end date has passed is closed when the pair is paired again.
"""

from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit, notify
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.grid.models import Area, AreaKind
from huijia.orgs.models import WorkUnit
from huijia.volunteering.models import Pairing
from huijia.volunteering.pairing_selectors import commitment_lines

MAX_COMMITMENTS = 20
MAX_COMMITMENT = 100
MAX_REASON = 200
REFUSED = gettext_lazy("结对共建由组织部、街道党工委和社区党委管理")


def _bad(field_name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field_name: [message]})


@dataclass(frozen=True)
class PairingInput:
    work_unit_id: int | None
    community_id: int | None
    starts_on: date | None = None  # today when omitted
    ends_on: date | None = None  # open-ended when omitted
    commitments: str = ""  # one per line


def _community(actor: Actor, community_id: int | None) -> Area:
    """The community, if the actor may pair it; NotFound when out of sight, Forbidden when only seen."""
    if community_id is None:
        raise _bad("community_id", _("请选择结对的社区"), "community_missing")
    area = Area.objects.filter(pk=community_id).first()
    if area is None:
        raise NotFound()
    if not actor.covers(Perm.MANAGE_PAIRINGS, area.path):
        if actor.covers(Perm.VIEW, area.path):
            raise Forbidden(str(REFUSED))
        raise NotFound()
    if area.kind != AreaKind.COMMUNITY:
        raise _bad("community_id", _("只能与社区结对，请选择一个社区"), "not_a_community")
    return area


def _work_unit(work_unit_id: int | None) -> WorkUnit:
    unit = WorkUnit.objects.filter(pk=work_unit_id).first() if work_unit_id else None
    if unit is None:
        raise _bad("work_unit_id", _("请选择结对的单位"), "unknown_work_unit")
    return unit


def _period(starts_on: date | None, ends_on: date | None) -> tuple[date, date | None]:
    today = timezone.localdate()
    starts_on = starts_on or today
    if ends_on is not None and ends_on < starts_on:
        raise _bad("ends_on", _("结束日期不能早于开始日期"), "ends_before_start")
    if ends_on is not None and ends_on < today:
        raise _bad("ends_on", _("结束日期已经过去，请重新选择"), "ends_in_past")
    return starts_on, ends_on


def _commitments(text: str | None) -> str:
    lines = commitment_lines(text or "")
    if len(lines) > MAX_COMMITMENTS:
        raise _bad("commitments", _("共建承诺最多{n}条").format(n=MAX_COMMITMENTS), "too_many_commitments")
    if any(len(line) > MAX_COMMITMENT for line in lines):
        raise _bad("commitments", _("每条承诺不超过{n}个字").format(n=MAX_COMMITMENT), "commitment_too_long")
    return "\n".join(lines)


def _tell_unit(unit: WorkUnit, text: str, url: str) -> None:
    receivers = RoleGrant.objects.filter(role=Role.WORK_UNIT, work_unit=unit).values_list(
        "user_id", flat=True
    )
    for user_id in receivers:
        notify(user_id=user_id, text=text, url=url)


def _close_expired(actor: Actor, unit: WorkUnit, community: Area, today: date) -> None:
    """The pair's earlier pairing, still open, whose end date has passed: closed now (audited).
    One still in force is a Conflict: there is one active pairing per pair."""
    current = (
        Pairing.objects.select_for_update()
        .filter(work_unit=unit, community=community, ended_at__isnull=True)
        .first()
    )
    if current is None:
        return
    if current.ends_on is None or current.ends_on >= today:
        raise Conflict(
            _("{unit}已与{community}结对（{start}起），不能重复结对").format(
                unit=unit.name, community=community.name, start=current.starts_on.strftime("%Y-%m-%d")
            ),
            code="already_paired",
        )
    current.ended_at = timezone.now()
    current.save(update_fields=["ended_at"])
    audit(actor=actor, action="pairing.expire", target=current)


@transaction.atomic
def create_pairing(*, actor: Actor, data: PairingInput) -> Pairing:
    """Pairs a work unit with a community (结对共建) for a period, with its commitments; the unit's
    organisers are told."""
    community = _community(actor, data.community_id)
    unit = _work_unit(data.work_unit_id)
    starts_on, ends_on = _period(data.starts_on, data.ends_on)
    commitments = _commitments(data.commitments)
    _close_expired(actor, unit, community, timezone.localdate())
    try:
        with transaction.atomic():
            pairing = Pairing.objects.create(
                work_unit=unit,
                community=community,
                starts_on=starts_on,
                ends_on=ends_on,
                commitments=commitments,
                created_by_id=actor.user_id,
            )
    except IntegrityError:  # paired by someone else a moment ago
        raise Conflict(_("这个单位刚刚已与该社区结对，请刷新后查看"), code="already_paired") from None
    audit(actor=actor, action="pairing.create", target=pairing, work_unit=unit.pk, community=community.pk)
    url = reverse("volunteering:pairing", args=[pairing.pk])
    _tell_unit(unit, _("您单位已与{community}结对共建").format(community=community.name), url)
    return pairing


@transaction.atomic
def end_pairing(*, actor: Actor, pairing_id: int, reason: str = "") -> Pairing:
    """Ends a pairing (解除结对); its joint activities stay on record. The unit's organisers are told."""
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise _bad("reason", _("原因不超过{n}个字").format(n=MAX_REASON), "reason_too_long")
    pairing = (
        restrict(Pairing.objects.all(), actor, Perm.MANAGE_PAIRINGS)
        .select_for_update(of=("self",))
        .select_related("work_unit", "community")
        .filter(pk=pairing_id)
        .first()
    )
    if pairing is None:
        if restrict(Pairing.objects.all(), actor).filter(pk=pairing_id).exists():
            raise Forbidden(str(REFUSED))
        raise NotFound()
    if pairing.ended_at is not None:
        raise Conflict(_("这个结对已经解除"), code="already_ended")
    pairing.ended_at = timezone.now()
    pairing.save(update_fields=["ended_at"])
    audit(actor=actor, action="pairing.end", target=pairing, reason=reason)
    url = reverse("volunteering:pairing", args=[pairing.pk])
    text = _("您单位与{community}的结对已解除").format(community=pairing.community.name)
    _tell_unit(pairing.work_unit, f"{text}：{reason}" if reason else text, url)
    return pairing

"""Recording household visits (入户走访, F5).

A visit needs only the household and the date. What the visitor learnt is written once where it
belongs: household facts onto the household (with a HouseholdFactChange per changed fact), demands and
opinions as demands.Demand rows the estate branch sees, vulnerable people into the care file. The phone
may send the same visit again (no signal in a stairwell, a retry after the network comes back): the
idempotency key it chose makes the second sending return the first visit, and a different body under
the same key is refused, so nothing is ever stored twice.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, restrict
from huijia.accounts.services import audit
from huijia.care.models import VulnerableKind
from huijia.care.vulnerable import record_vulnerable
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.core.personal import mask_contact, validate_contact_phone
from huijia.core.photos import check_photo, photo_digest
from huijia.demands.models import DemandSource
from huijia.demands.services import create_demand
from huijia.grid.models import Household, HouseholdFactChange, Tenure
from huijia.members.models import ZoneAssignment
from huijia.visits.models import Visit, VisitPhoto

MAX_OCCUPANTS = 50
MAX_TEXT = 1000
MAX_DEMANDS = 20
MAX_VULNERABLE = 10
MAX_PHOTOS = 5
KEY_RE = re.compile(r"^[A-Za-z0-9_.:-]{8,64}$")
FACTS = ("tenure", "occupants", "moved_in_on", "contact_phone")


@dataclass(frozen=True)
class VulnerableInput:
    """One vulnerable person met in the visit: a kind and an optional short note."""

    kind: str
    note: str = ""


@dataclass(frozen=True)
class VisitInput:
    """What a visitor reports. Everything but the household and the date may be left empty."""

    household_id: int | None
    visited_on: date | None
    tenure: str = ""
    occupants: int | None = None
    moved_in_on: date | None = None
    contact_phone: str = ""
    demands: tuple[str, ...] = ()
    vulnerable: tuple[VulnerableInput, ...] = ()
    help_given: str = ""
    notes: str = ""
    photos: tuple[UploadedFile, ...] = field(default=(), compare=False)


class Recorded(NamedTuple):
    visit: Visit
    created: bool  # False: a replay of a visit already stored under the same key


# --- contact numbers ---------------------------------------------------------------------------------


def clean_contact_phone(value: str) -> str:
    """The contact number as stored (see core.personal.validate_contact_phone), or a clear error."""
    try:
        return validate_contact_phone(value)
    except ValidationError as exc:
        raise InvalidInput(
            exc.messages[0], code="bad_phone", fields={"contact_phone": exc.messages}
        ) from None


# --- checking the input ------------------------------------------------------------------------------


def _bad(name: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={name: [message]})


def _text(value: str, name: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise _bad(name, _("{label}不超过1000个字").format(label=label), "too_long")
    return value


def _clean(data: VisitInput) -> VisitInput:
    """The input with its text trimmed and its phone normalised; InvalidInput in plain words otherwise."""
    today = timezone.localdate()
    if data.visited_on is None:
        raise _bad("visited_on", _("请填写走访日期"), "date_required")
    if data.visited_on > today:
        raise _bad("visited_on", _("走访日期不能晚于今天"), "date_in_future")
    if data.tenure and data.tenure not in Tenure.values:
        raise _bad("tenure", _("住房性质请从“自有住房、租住、其他”中选择"), "bad_tenure")
    if data.occupants is not None and not 0 <= data.occupants <= MAX_OCCUPANTS:
        raise _bad("occupants", _("常住人数应在0到50之间"), "bad_occupants")
    if data.moved_in_on is not None and data.moved_in_on > today:
        raise _bad("moved_in_on", _("入住日期不能晚于今天"), "moved_in_future")
    if data.moved_in_on is not None and data.moved_in_on.year < 1900:
        raise _bad("moved_in_on", _("入住日期不正确"), "moved_in_too_early")
    demands = tuple(d.strip() for d in data.demands if d and d.strip())
    if len(demands) > MAX_DEMANDS:
        raise _bad("demands", _("一次走访最多记录20条诉求"), "too_many_demands")
    if any(len(d) > MAX_TEXT for d in demands):
        raise _bad("demands", _("每条诉求不超过1000个字"), "too_long")
    if len(data.vulnerable) > MAX_VULNERABLE:
        raise _bad("vulnerable", _("一次走访最多记录10位困难群众"), "too_many_vulnerable")
    for person in data.vulnerable:
        if person.kind not in VulnerableKind.values:
            raise _bad("vulnerable", _("困难群体类别不正确"), "vulnerable_kind")
        if len((person.note or "").strip()) > 200:
            raise _bad("vulnerable", _("情况说明不超过200个字"), "too_long")
    if len(data.photos) > MAX_PHOTOS:
        raise _bad("photos", _("一次最多上传5张照片"), "too_many_photos")
    for photo in data.photos:
        check_photo(photo)
    return VisitInput(
        household_id=data.household_id,
        visited_on=data.visited_on,
        tenure=data.tenure,
        occupants=data.occupants,
        moved_in_on=data.moved_in_on,
        contact_phone=clean_contact_phone(data.contact_phone),
        demands=demands,
        vulnerable=tuple(VulnerableInput(p.kind, (p.note or "").strip()) for p in data.vulnerable),
        help_given=_text(data.help_given, "help_given", _("帮办事项")),
        notes=_text(data.notes, "notes", _("备注")),
        photos=data.photos,
    )


def request_hash(data: VisitInput) -> str:
    """A digest of the body as sent, to tell a replay (same digest) from a changed body."""
    body = {
        "household_id": data.household_id,
        "visited_on": data.visited_on.isoformat() if data.visited_on else None,
        "tenure": data.tenure or "",
        "occupants": data.occupants,
        "moved_in_on": data.moved_in_on.isoformat() if data.moved_in_on else None,
        "contact_phone": re.sub(r"[\s\-()（）]", "", data.contact_phone or ""),
        "demands": [d.strip() for d in data.demands if d and d.strip()],
        "vulnerable": [[p.kind, (p.note or "").strip()] for p in data.vulnerable],
        "help_given": (data.help_given or "").strip(),
        "notes": (data.notes or "").strip(),
        "photos": [photo_digest(p) for p in data.photos],
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# --- recording ---------------------------------------------------------------------------------------


def _replay(*, actor: Actor, key: str, digest: str) -> Recorded | None:
    stored = Visit.objects.filter(recorded_by_id=actor.user_id, idempotency_key=key).first()
    if stored is None:
        return None
    if stored.request_hash != digest:
        raise Conflict(
            _("这个走访编号已经用过，内容却不同。请重新打开走访表填写。"), code="idempotency_key_reused"
        )
    return Recorded(stored, False)


def household_to_visit(*, actor: Actor, household_id: int | None, lock: bool = False) -> Household:
    """The household if the actor may visit it: NotFound when out of sight, Forbidden when only visible."""
    if not actor.is_authenticated:
        raise Forbidden(_("请先登录"))
    qs = Household.objects.select_related("building")
    if lock:
        qs = qs.select_for_update(of=("self",))
    household = restrict(qs, actor, Perm.VISIT).filter(pk=household_id or 0).first()
    if household is not None:
        return household
    if restrict(Household.objects.filter(pk=household_id or 0), actor, Perm.VIEW).exists():
        raise Forbidden(_("您可以查看这户，但不能登记走访"))
    raise NotFound()


def _team_id(*, actor: Actor, household_id: int) -> int | None:
    """The visiting member's team, when that team holds the household's zone."""
    if not actor.member_id:
        return None
    return (
        ZoneAssignment.objects.filter(
            household_id=household_id,
            ended_at__isnull=True,
            team__memberships__member_id=actor.member_id,
            team__memberships__ended_at__isnull=True,
        )
        .values_list("team_id", flat=True)
        .first()
    )


def _shown(name: str, value) -> str:
    """A fact as the change log shows it: labels for tenure, the contact number masked."""
    if value in (None, ""):
        return ""
    if name == "tenure":
        return str(Tenure(value).label)
    if name == "contact_phone":
        return mask_contact(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _apply_facts(*, actor: Actor, household: Household, data: VisitInput, visit: Visit) -> list[str]:
    """Copies the facts the visit learnt onto the household; one HouseholdFactChange per changed fact.

    A visit kept offline may arrive after a later one: a fact that a later visit already reported is
    newer than this one's and is left as it is (this visit still keeps what it was told).
    """
    changes = []
    newer = _facts_reported_later(household=household, visited_on=data.visited_on, visit=visit)
    for name in FACTS:
        new = getattr(data, name)
        old = getattr(household, name)
        if new in (None, "") or new == old or name in newer:
            continue
        changes.append(
            HouseholdFactChange(
                household=household,
                field=name,
                old_value=_shown(name, old),
                new_value=_shown(name, new),
                changed_by_id=actor.user_id,
                visit_id=visit.pk,
            )
        )
        setattr(household, name, new)
    if changes:
        household.save(update_fields=[c.field for c in changes])
        HouseholdFactChange.objects.bulk_create(changes)
    return [c.field for c in changes]


def _facts_reported_later(*, household: Household, visited_on, visit: Visit) -> set[str]:
    later = Visit.objects.filter(household=household, visited_on__gt=visited_on).exclude(pk=visit.pk)
    return {
        name
        for row in later.values_list(*FACTS)
        for name, value in zip(FACTS, row, strict=True)
        if value not in (None, "")
    }


@transaction.atomic
def record_visit(
    *, actor: Actor, data: VisitInput, idempotency_key: str, campaign_id: int | None = None
) -> Recorded:
    """Records one visit and passes on what it learnt; sending it again returns the stored visit.

    Refused, with nothing stored: a household the actor may not visit (NotFound, or Forbidden for
    a role that may only view it), bad input (InvalidInput), and the same idempotency key with a
    different body (Conflict).
    """
    if not actor.is_authenticated:
        raise Forbidden(_("请先登录"))
    key = (idempotency_key or "").strip()
    if not KEY_RE.match(key):
        raise _bad("Idempotency-Key", _("缺少走访编号，或编号格式不正确"), "bad_idempotency_key")
    digest = request_hash(data)
    if (replayed := _replay(actor=actor, key=key, digest=digest)) is not None:
        return replayed
    household = household_to_visit(actor=actor, household_id=data.household_id, lock=True)
    data = _clean(data)
    try:
        with transaction.atomic():
            visit = Visit.objects.create(
                household=household,
                visited_on=data.visited_on,
                member_id=actor.member_id,
                team_id=_team_id(actor=actor, household_id=household.pk),
                recorded_by_id=actor.user_id,
                campaign_id=campaign_id,  # a door of a door-knocking campaign (set by its service)
                tenure=data.tenure,
                occupants=data.occupants,
                moved_in_on=data.moved_in_on,
                contact_phone=data.contact_phone,
                opinions="\n".join(data.demands),
                help_given=data.help_given,
                notes=data.notes,
                idempotency_key=key,
                request_hash=digest,
            )
    except IntegrityError:  # the same visit arrived twice at once: the other request stored it
        replayed = _replay(actor=actor, key=key, digest=digest)
        if replayed is None:
            raise
        return replayed
    facts = _apply_facts(actor=actor, household=household, data=data, visit=visit)
    for text in data.demands:
        create_demand(
            actor=actor,
            description=text,
            source=DemandSource.VISIT,
            area=household.building,
            household=household,
            member_id=actor.member_id,
            visit_id=visit.pk,
        )
    vulnerable = record_vulnerable(
        actor=actor,
        household=household,
        kinds_with_notes=[(p.kind, p.note) for p in data.vulnerable],
        visit_id=visit.pk,
    )
    for photo in data.photos:
        digest = photo_digest(photo)
        if not VisitPhoto.objects.filter(visit=visit, digest=digest).exists():
            VisitPhoto.objects.create(visit=visit, image=photo, digest=digest)
    audit(
        actor=actor,
        action="visit.record",
        target=visit,
        household=household.pk,
        facts=facts,
        demands=len(data.demands),
        vulnerable=len(vulnerable),
        photos=len(data.photos),
    )
    return Recorded(visit, True)


@transaction.atomic
def add_visit_photo(*, actor: Actor, visit_id: int, photo: UploadedFile) -> VisitPhoto:
    """Adds an optional photo to a visit the actor recorded (never required)."""
    visit = (
        Visit.objects.select_for_update()
        .filter(pk=visit_id, recorded_by_id=actor.user_id or 0)
        .only("id", "household_id")
        .first()
    )
    if visit is None:
        raise NotFound()
    check_photo(photo)
    digest = photo_digest(photo)
    already = VisitPhoto.objects.filter(visit=visit, digest=digest).first()
    if already is not None:  # the same photo sent again (a retry after a lost answer): stored once
        return already
    if VisitPhoto.objects.filter(visit=visit).count() >= MAX_PHOTOS:
        raise _bad("photo", _("一次走访最多5张照片"), "too_many_photos")
    stored = VisitPhoto.objects.create(visit=visit, image=photo, digest=digest)
    audit(actor=actor, action="visit.photo", target=visit, photo=stored.pk)
    return stored

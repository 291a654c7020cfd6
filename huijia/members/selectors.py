"""Scoped reads of members and registrations, tuned for constant query counts."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet

from huijia.accounts.roles import Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.compiled import CompiledValues
from huijia.core.errors import NotFound
from huijia.core.personal import mask_id_number, mask_mobile, mask_name
from huijia.grid.models import Area, household_label
from huijia.members.models import Member, Registration, RegistrationKind, RegistrationStatus, Skill

PAGE_SIZE = 20


ROW_FIELDS = (
    *("id", "kind", "status", "submitted_at", "reviewed_at", "reject_reason", "resources", "free_time"),
    *("previous_id", "ended_at", "community_id", "work_unit_id"),
    *("member__id", "member__name", "member__phone", "member__id_number", "member__work_unit_id"),
    *("member__volunteer_no", "household__id", "household__unit", "household__floor", "household__room"),
    *("household__building__id", "household__building__name", "household__building__path"),
    *("household__building__parent__id", "household__building__parent__name"),
    *("work_unit__id", "work_unit__name"),
)


def _names(model) -> QuerySet:
    return model.objects.only("id", "name")


def _registration_rows(
    qs: QuerySet[Registration], *, community: Area | None = None
) -> QuerySet[Registration]:
    """Rows with everything a queue row shows, in a constant few queries.

    PostgreSQL's planning time grows quickly with every join (six joins: ~3 ms to plan, more than
    the query takes to run), so the community is not joined: a caller that already holds the
    (scoped) community passes it and puts it on the rows it shows; otherwise it comes in a small
    prefetch by primary key.
    """
    prefetches = [Prefetch("skills", queryset=_names(Skill))]
    if community is None:
        prefetches.append(Prefetch("community", queryset=Area.objects.only("id", "name", "path")))
    return (
        qs.select_related(
            "member", "household", "household__building", "household__building__parent", "work_unit"
        )
        .only(*ROW_FIELDS)
        .prefetch_related(*prefetches)
    )


def in_community(
    qs: QuerySet, actor: Actor, community_id: int, perm: Perm = Perm.VIEW, *, path: str | None = None
) -> QuerySet:
    """Rows of one community in the actor's scope.

    Every row of a community lies under the community's path, so when the actor's grant covers the
    whole community the community filter alone is the scope: no per-row join on the area path.
    `path` is the community's own path when the caller has the community at hand (saves a lookup).
    """
    if path is None:
        path = Area.objects.filter(pk=community_id).values_list("path", flat=True).first()
    if path is not None and actor.covers(perm, path):
        return qs.filter(community_id=community_id)
    return restrict(qs, actor, perm).filter(community_id=community_id)


def registration_queue(
    *,
    actor: Actor,
    community_id: int | None = None,
    status: str | None = RegistrationStatus.PENDING,
    community: Area | None = None,
) -> QuerySet[Registration]:
    """Registrations a staff actor may see, newest first, optionally for one community and status.

    `community` is a community the caller already read through the actor's scope
    (grid selectors' communities_for): its rows are filtered by its id and path, and the rows do
    not load it again (the caller puts it on the rows it shows).
    """
    qs = _queue(actor=actor, community_id=community_id, status=status, community=community)
    return _registration_rows(qs, community=community)


def _queue(*, actor: Actor, community_id: int | None, status: str | None, community: Area | None) -> QuerySet:
    if community is not None:
        qs = in_community(Registration.objects.all(), actor, community.pk, path=community.path)
    elif community_id is not None:
        qs = in_community(Registration.objects.all(), actor, community_id)
    else:
        qs = restrict(Registration.objects.all(), actor, Perm.VIEW)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-submitted_at", "-pk")


def registrations_for(*, actor: Actor, status: str | None = None) -> QuerySet[Registration]:
    return registration_queue(actor=actor, status=status)


def registration_for(*, actor: Actor, registration_id: int) -> Registration:
    return get_visible(_registration_rows(Registration.objects.all()), actor, registration_id)


def my_member(*, actor: Actor) -> Member:
    """The signed-in member's own profile with everything the API shows, in a fixed few queries."""
    if not actor.member_id:
        raise NotFound()
    history = Registration.objects.select_related("community").order_by("-submitted_at", "-pk")
    joins = ["household", "household__building", "household__building__parent", "work_unit"]
    return (
        Member.objects.select_related(*joins, "community", "community__parent", "registered_org")
        .prefetch_related(
            Prefetch("skills", queryset=_names(Skill)),
            Prefetch("registrations", queryset=history, to_attr="history"),
        )
        .get(pk=actor.member_id)
    )


# --- the member's own pages: plain rows, compiled once -------------------------------------------
# The member's page is the members' busiest. It reads the same three small things on every request
# (profile, skills, registration history), so those reads are compiled to SQL once per process
# (core.compiled) and come back as plain rows rather than model instances.


@dataclass(slots=True)
class HistoryRow:
    """One of the member's registrations, newest first on their page."""

    pk: int
    kind: str
    status: str
    submitted_at: datetime
    reviewed_at: datetime | None
    reject_reason: str
    ended_at: datetime | None
    community_name: str

    @property
    def status_label(self) -> str:
        return RegistrationStatus(self.status).label

    @property
    def kind_label(self) -> str:
        return RegistrationKind(self.kind).label


@dataclass(slots=True)
class MemberPage:
    """What the member's own pages show of them: profile, address, unit, skills and history."""

    pk: int
    name: str
    phone: str
    volunteer_no: str
    card_token: str
    free_time: list
    resources: str
    work_unit_id: int | None
    work_unit_name: str | None
    estate_name: str | None
    building_name: str | None
    household_label: str | None
    skill_ids: list[int]
    skill_names: list[str]
    history: list[HistoryRow]

    @property
    def masked_phone(self) -> str:
        return mask_mobile(self.phone)


_PROFILE = CompiledValues(
    lambda member_id: Member.objects.filter(pk=member_id).values(
        *("pk", "name", "phone", "volunteer_no", "card_token", "free_time", "resources"),
        *("work_unit_id", "work_unit__name", "household__unit", "household__room"),
        *("household__building__name", "household__building__parent__name"),
    )
)
_SKILLS = CompiledValues(
    lambda member_id: Skill.objects.filter(members__pk=member_id).order_by("pk").values("pk", "name")
)
_HISTORY = CompiledValues(
    lambda member_id: (
        Registration.objects.filter(member_id=member_id)
        .order_by("-submitted_at", "-pk")
        .values(
            *("pk", "kind", "status", "submitted_at", "reviewed_at", "reject_reason", "ended_at"),
            "community__name",
        )
    )
)


def my_member_page(*, actor: Actor) -> MemberPage:
    """The signed-in member's own page rows (NotFound for an account that is not a member)."""
    if not actor.member_id:
        raise NotFound()
    rows = _PROFILE(actor.member_id)
    if not rows:
        raise NotFound()
    p = rows[0]
    skills = _SKILLS(actor.member_id)
    history = [
        HistoryRow(
            pk=r["pk"],
            kind=r["kind"],
            status=r["status"],
            submitted_at=r["submitted_at"],
            reviewed_at=r["reviewed_at"],
            reject_reason=r["reject_reason"],
            ended_at=r["ended_at"],
            community_name=r["community__name"],
        )
        for r in _HISTORY(actor.member_id)
    ]
    room = p["household__room"]
    return MemberPage(
        pk=p["pk"],
        name=p["name"],
        phone=p["phone"],
        volunteer_no=p["volunteer_no"],
        card_token=p["card_token"],
        free_time=p["free_time"],
        resources=p["resources"],
        work_unit_id=p["work_unit_id"],
        work_unit_name=p["work_unit__name"],
        estate_name=p["household__building__parent__name"],
        building_name=p["household__building__name"],
        household_label=None if room is None else household_label(p["household__unit"], room),
        skill_ids=[s["pk"] for s in skills],
        skill_names=[s["name"] for s in skills],
        history=history,
    )


def members_for(*, actor: Actor, community_id: int | None = None) -> QuerySet[Member]:
    """Reporting members a staff actor may see (work units: their own members wherever they report)."""
    if community_id is not None:
        qs = in_community(Member.objects.all(), actor, community_id)
    else:
        qs = restrict(Member.objects.all(), actor, Perm.VIEW)
    return (
        qs.select_related("community", "work_unit", "household", "household__building")
        .prefetch_related(Prefetch("skills", queryset=Skill.objects.only("id", "name")))
        .order_by("name", "pk")
    )


def member_for(*, actor: Actor, member_id: int) -> Member:
    return get_visible(Member.objects.select_related("community", "work_unit"), actor, member_id)


def card_by_token(*, token: str) -> tuple[Member, Registration | None]:
    """For the public verification page: the member and their active registration, if any."""
    member = (
        Member.objects.select_related("community")
        .only("name", "community__name", "card_token")
        .filter(card_token=token)
        .first()
    )
    if member is None:
        raise NotFound()
    active = (
        Registration.objects.filter(member=member, status=RegistrationStatus.APPROVED)
        .select_related("community")
        .first()
    )
    return member, active


def skills() -> QuerySet[Skill]:
    return Skill.objects.order_by("category", "name")


# --- the staff queue page: plain rows, not model instances ------------------------------------------
# The queue is the console's busiest page. Twenty registrations with their member, household,
# building, estate and work unit made 120 model instances per page, about a millisecond of the
# page's time on the city-scale benchmark; the page only shows values, so it reads values.

QUEUE_VALUES = (
    *("pk", "status", "kind", "submitted_at", "reviewed_at", "reject_reason", "resources", "community_id"),
    *("member_id", "member__name", "member__phone", "member__id_number", "member__work_unit_id"),
    *("household__unit", "household__room", "household__building__name", "household__building__path"),
    *("household__building__parent__name", "work_unit__name"),
)


@dataclass(slots=True)
class QueueRow:
    """One registration as the queue shows it; the view adds what the actor may do with it."""

    pk: int
    status: str
    kind: str
    submitted_at: datetime
    reviewed_at: datetime | None
    reject_reason: str
    resources: str
    community_id: int
    member_id: int
    member_name: str
    phone: str
    id_number: str
    member_work_unit_id: int | None
    unit: str
    room: str
    building_name: str
    building_path: str
    estate_name: str | None
    work_unit_name: str | None
    community_name: str = ""
    skill_names: str = ""
    # set by the view for the actor asking
    can_review: bool = False
    can_reveal: bool = False
    approve_url: str = ""
    reject_url: str = ""
    reject_form_url: str = ""
    reveal_phone_url: str = ""
    reveal_id_number_url: str = ""

    @property
    def place(self) -> str:
        return f"{self.building_name} {self.unit}{self.room}室"

    @property
    def kind_label(self) -> str:
        return RegistrationKind(self.kind).label

    @property
    def status_label(self) -> str:
        return RegistrationStatus(self.status).label

    @property
    def masked_name(self) -> str:
        return mask_name(self.member_name)

    @property
    def masked_phone(self) -> str:
        return mask_mobile(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


def queue_values(
    *, actor: Actor, community: Area | None, status: str | None = RegistrationStatus.PENDING
) -> QuerySet:
    """The queue as a values queryset, newest first, for a paginator; rows become QueueRows by
    `queue_rows`. `community` is one the caller read through the actor's scope (or None: all)."""
    qs = _queue(actor=actor, community_id=None, status=status, community=community)
    names = QUEUE_VALUES if community is not None else (*QUEUE_VALUES, "community__name")
    return qs.values_list(*names)


def queue_rows(values, community: Area | None = None) -> list[QueueRow]:
    """QueueRows from `queue_values` tuples, with their skills in one more query."""
    rows = [QueueRow(*v) for v in values]
    if community is not None:
        for row in rows:
            row.community_name = community.name
    skills = defaultdict(list)
    through = Registration.skills.through.objects.filter(registration_id__in=[r.pk for r in rows])
    for registration_id, name in through.values_list("registration_id", "skill__name").order_by("skill_id"):
        skills[registration_id].append(name)
    for row in rows:
        row.skill_names = "、".join(skills[row.pk])
    return rows


def queue_row_for(*, actor: Actor, registration_id: int) -> QueueRow:
    """One registration the actor may see, as a queue row (after a review, or for the reject form)."""
    qs = restrict(Registration.objects.filter(pk=registration_id), actor, Perm.VIEW)
    rows = queue_rows(qs.values_list(*QUEUE_VALUES, "community__name"))
    if not rows:
        raise NotFound()
    return rows[0]

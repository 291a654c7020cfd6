"""The one place that decides what an actor may see and change.

A role granted on an area node reaches the node's whole subtree (by materialised path); a role on a
work unit reaches that unit's own members; a member reaches their own rows; a resident their own
household. Every scoped model declares a ScopeRule naming the lookups that lead from its rows to an
area path, a member, a work unit and a household; `restrict` turns an actor into one filter.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import models
from django.db.models import Q

from huijia.accounts.roles import ROLE_PERMS, Perm, Role
from huijia.core.errors import NotFound


@dataclass(frozen=True)
class ScopeRule:
    # lookup to an Area.path, or several (a row reached through any of them: an activity through its
    # community and through its estate, so that the estate's branch secretary reaches their own)
    area: str | tuple[str, ...] | None = None
    work_unit: str | None = None  # lookup to a WorkUnit id
    # lookup to a Member id, or a function of the member id giving the Q of the member's rows (for
    # rows reached through a many-valued relation, as a subquery, so that no row is repeated)
    member: str | Callable[[int], Q] | None = None
    household: str | None = None  # lookup to a Household id
    user: str | None = None  # lookup to the user id of the row's owner (a resident's own demands)
    self_perms: frozenset[Perm] = frozenset(
        {Perm.VIEW}
    )  # what members and residents may do on their own rows
    member_perms: frozenset[Perm] | None = None  # what members may do through `member`; self_perms if None


@dataclass(frozen=True)
class Actor:
    """Everything scope needs to know about who is asking, loaded once per request."""

    user_id: int | None = None
    area_grants: tuple[tuple[str, str], ...] = ()  # (role, area path)
    work_unit_grants: tuple[tuple[str, int], ...] = ()  # (role, work unit id)
    member_id: int | None = None
    household_id: int | None = None
    is_superuser: bool = False
    grant_area_ids: tuple[int, ...] = field(default=(), compare=False)
    # (role, area id, path, kind, name) of each area grant: the console's community picker
    grant_areas: tuple[tuple[str, int, str, str, str], ...] = field(default=(), compare=False)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_staff_actor(self) -> bool:
        return self.is_superuser or bool(self.area_grants or self.work_unit_grants)

    def paths(self, perm: Perm) -> list[str]:
        """Area paths where this actor holds `perm`, with nested grants folded into their ancestor."""
        found = sorted({path for role, path in self.area_grants if perm in ROLE_PERMS[role]})
        return [p for i, p in enumerate(found) if not any(p.startswith(q) for q in found[:i])]

    def work_units(self, perm: Perm) -> list[int]:
        return sorted({wid for role, wid in self.work_unit_grants if perm in ROLE_PERMS[role]})

    def covers(self, perm: Perm, path: str) -> bool:
        return self.is_superuser or any(path.startswith(p) for p in self.paths(perm))

    def roles(self) -> set[str]:
        return {role for role, _ in self.area_grants} | {role for role, _ in self.work_unit_grants}


ANONYMOUS = Actor()


def actor_for(user) -> Actor:
    """Builds (and caches on the user object) the Actor for a signed-in user.

    Users loaded by accounts.backends.ScopeAwareBackend (every session request) carry the member id,
    household and whether they hold any role, so a member's page needs no query here at all.
    """
    if user is None or not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_huijia_actor", None)
    if cached is not None:
        return cached
    from huijia.accounts.models import RoleGrant
    from huijia.grid.models import Resident
    from huijia.members.models import Member

    facts = getattr(user, "scope_has_grants", None) is not None
    if facts:
        member_id, household_id = user.scope_member_id, user.scope_household_id
    else:
        member_id = Member.objects.filter(user_id=user.pk).values_list("pk", flat=True).first()
        household_id = Resident.objects.filter(user_id=user.pk).values_list("household_id", flat=True).first()
    grants = []
    if not facts or user.scope_has_grants:
        rows = RoleGrant.objects.filter(user_id=user.pk)
        grants = list(
            rows.values_list("role", "area__path", "work_unit_id", "area_id", "area__kind", "area__name")
        )
    actor = Actor(
        user_id=user.pk,
        area_grants=tuple((r, p) for r, p, *_ in grants if r != Role.WORK_UNIT and p),
        work_unit_grants=tuple((r, w) for r, _, w, *_ in grants if r == Role.WORK_UNIT and w),
        member_id=member_id,
        household_id=household_id,
        is_superuser=user.is_superuser,
        grant_area_ids=tuple(a for _, _, _, a, *_ in grants if a),
        grant_areas=tuple((r, a, p, k, n) for r, p, _, a, k, n in grants if a and r != Role.WORK_UNIT),
    )
    user._huijia_actor = actor
    return actor


def scope_q(model: type[models.Model], actor: Actor, perm: Perm) -> Q | None:
    """The filter for rows of `model` that `actor` may touch with `perm`; None when nothing."""
    rule: ScopeRule = model.scope  # type: ignore[attr-defined]
    clauses: list[Q] = []
    if rule.area:
        lookups = (rule.area,) if isinstance(rule.area, str) else rule.area
        clauses += [Q(**{f"{lookup}__startswith": path}) for path in actor.paths(perm) for lookup in lookups]
    if rule.work_unit and (units := actor.work_units(perm)):
        clauses.append(Q(**{f"{rule.work_unit}__in": units}))
    member_perms = rule.self_perms if rule.member_perms is None else rule.member_perms
    if rule.member and actor.member_id and perm in member_perms:
        if callable(rule.member):
            clauses.append(rule.member(actor.member_id))
        else:
            clauses.append(Q(**{rule.member: actor.member_id}))
    if perm in rule.self_perms and rule.household and actor.household_id:
        clauses.append(Q(**{rule.household: actor.household_id}))
    if perm in rule.self_perms and rule.user and actor.user_id:
        clauses.append(Q(**{rule.user: actor.user_id}))
    if not clauses:
        return None
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return combined


def restrict(qs: models.QuerySet, actor: Actor, perm: Perm = Perm.VIEW) -> models.QuerySet:
    if actor.is_superuser:
        return qs
    q = scope_q(qs.model, actor, perm)
    return qs.none() if q is None else qs.filter(q)


def get_visible(qs: models.QuerySet, actor: Actor, pk, perm: Perm = Perm.VIEW):
    """Fetch one row in scope; a missing row and a forbidden one both raise the same NotFound."""
    try:
        return restrict(qs, actor, perm).get(pk=pk)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


class ScopedQuerySet(models.QuerySet):
    def visible_to(self, actor: Actor, perm: Perm = Perm.VIEW) -> "ScopedQuerySet":
        return restrict(self, actor, perm)

"""Reads of the area tree and households.

The community directory and the household addresses of a building are open to every signed-in
user: a member needs them to report in, and they hold no personal data. Residents are scoped.
"""

from django.db.models import Count, Q, QuerySet

from huijia.accounts.roles import ROLE_PERMS, Perm
from huijia.accounts.scope import Actor, get_visible, restrict
from huijia.core.errors import NotFound
from huijia.grid.models import Area, AreaKind, Household, Resident

DIRECTORY_KINDS = (
    AreaKind.CITY,
    AreaKind.DISTRICT,
    AreaKind.STREET,
    AreaKind.COMMUNITY,
    AreaKind.ESTATE,
    AreaKind.BUILDING,
)


def area_children(*, actor: Actor, area_id: int) -> QuerySet[Area]:
    """The children of a node, with how many children each has in turn (for drilling down)."""
    if not actor.is_authenticated:
        raise NotFound()
    if not Area.objects.filter(pk=area_id).exists():
        raise NotFound()
    return (
        Area.objects.filter(parent_id=area_id)
        .annotate(child_count=Count("children"))
        .only("id", "name", "kind", "code", "path", "parent_id")
        .order_by("name")
    )


def search_communities(*, query: str, limit: int = 20) -> QuerySet[Area]:
    """Communities whose name (or street's name) contains the query, for the registration search."""
    query = query.strip()
    qs = Area.objects.filter(kind=AreaKind.COMMUNITY).select_related("parent", "parent__parent")
    if query:
        qs = qs.filter(Q(name__contains=query) | Q(parent__name__contains=query))
    return qs.order_by("name")[:limit]


def community(*, area_id: int) -> Area:
    area = Area.objects.filter(pk=area_id, kind=AreaKind.COMMUNITY).select_related("parent").first()
    if area is None:
        raise NotFound()
    return area


def estates_and_buildings(*, community: Area) -> list[Area]:
    """Estates of a community with their buildings prefetched, in two queries."""
    from django.db.models import Prefetch

    return list(
        Area.objects.filter(parent=community, kind=AreaKind.ESTATE)
        .prefetch_related(Prefetch("children", queryset=Area.objects.order_by("name")))
        .order_by("name")
    )


def building(*, area_id: int) -> Area:
    """A building of the directory (for listing its households); unknown ids raise NotFound."""
    area = Area.objects.filter(pk=area_id, kind=AreaKind.BUILDING).only("id", "name", "path").first()
    if area is None:
        raise NotFound()
    return area


def households_of_building(*, building_id: int) -> QuerySet[Household]:
    return Household.objects.filter(building_id=building_id).order_by("unit", "floor", "room")


def household_in_community(*, household_id: int, community: Area) -> Household:
    household = (
        Household.objects.select_related("building", "building__parent").filter(pk=household_id).first()
    )
    if household is None or not household.building.path.startswith(community.path):
        raise NotFound()
    return household


def visible_areas(*, actor: Actor, perm: Perm = Perm.VIEW) -> QuerySet[Area]:
    return restrict(Area.objects.all(), actor, perm)


def communities_for(*, actor: Actor) -> QuerySet[Area]:
    """The communities a staff actor works in, for the console's community picker."""
    return visible_areas(actor=actor).filter(kind=AreaKind.COMMUNITY).order_by("name")


def community_choices(*, actor: Actor) -> list[Area]:
    """`communities_for` as a list, read from the actor's own grants when they are all on communities.

    Community staff, the console's most frequent users, hold grants on community nodes; those
    grants were loaded with the actor (id, path, kind, name), so their picker costs no query.
    Anyone else (street staff, superusers, mixed grants) gets the query.
    """
    grants = [g for g in actor.grant_areas if Perm.VIEW in ROLE_PERMS[g[0]]]
    if actor.is_superuser or actor.work_unit_grants or not grants:
        return list(communities_for(actor=actor))
    if any(kind != AreaKind.COMMUNITY for _, _, _, kind, _ in grants):
        return list(communities_for(actor=actor))
    unique = {pk: Area(pk=pk, path=path, kind=kind, name=name) for _, pk, path, kind, name in grants}
    return sorted(unique.values(), key=lambda area: (area.name, area.pk))


def resident_for(*, actor: Actor, resident_id: int) -> Resident:
    return get_visible(Resident.objects.select_related("household"), actor, resident_id)

"""JSON API of the grid: drilling down the area tree, finding a community, a building's households.

These are the directory a member needs to report in; they carry no personal data and are open to
every signed-in user (see huijia.grid.selectors).
"""

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from huijia.api import actor, errors
from huijia.grid import selectors
from huijia.grid.models import Area

router = Router(tags=["区域与住户"])


class AreaOut(Schema):
    id: int
    name: str
    kind: str = Field(description="city, district, street, community, estate or building")
    kind_label: str
    code: str
    child_count: int

    @staticmethod
    def resolve_kind_label(obj: Area) -> str:
        return obj.get_kind_display()


class CommunityOut(Schema):
    id: int
    name: str
    street: str | None
    district: str | None

    @staticmethod
    def resolve_street(obj: Area) -> str | None:
        return obj.parent.name if obj.parent else None

    @staticmethod
    def resolve_district(obj: Area) -> str | None:
        street = obj.parent
        return street.parent.name if street and street.parent else None


class HouseholdOut(Schema):
    id: int
    unit: str
    floor: int
    room: str
    label: str


@router.get(
    "/areas/{area_id}/children",
    response={200: list[AreaOut], **errors(401, 404, 422)},
    summary="下级区域",
)
def area_children(request: HttpRequest, area_id: int):
    """The children of an area node, each with how many children it has in turn."""
    return list(selectors.area_children(actor=actor(request), area_id=area_id))


@router.get(
    "/communities",
    response={200: list[CommunityOut], **errors(401, 422)},
    summary="查找社区",
)
def search_communities(
    request: HttpRequest,
    q: str = Query("", max_length=32, description="part of the community's or street's name"),
    limit: int = Query(20, ge=1, le=50),
):
    """Communities whose name or street name contains `q`, for choosing where to report in."""
    return list(selectors.search_communities(query=q, limit=limit))


@router.get(
    "/buildings/{building_id}/households",
    response={200: list[HouseholdOut], **errors(401, 404, 422)},
    summary="楼栋的住户",
)
def building_households(request: HttpRequest, building_id: int):
    """The households (unit, floor, room) of a building, for picking one's own when reporting in."""
    building = selectors.building(area_id=building_id)
    return list(selectors.households_of_building(building_id=building.pk))

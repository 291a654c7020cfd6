"""Roles granted on nodes of the area tree (or on a work unit) and what each may do there."""

from enum import StrEnum

from django.db import models


class Role(models.TextChoices):
    ORG_DEPT = "org_dept", "组织部"
    STREET = "street", "街道党工委"
    COMMUNITY = "community", "社区党委"
    ESTATE = "estate", "小区党支部书记"
    BUILDING = "building", "楼栋长"
    WORK_UNIT = "work_unit", "单位党组织"


class Perm(StrEnum):
    VIEW = "view"  # read records in scope
    VIEW_PII = "view_pii"  # unmask phone and ID numbers (audited)
    REVIEW = "review"  # approve or reject registrations
    MANAGE_GRID = "manage_grid"  # import areas, buildings and households
    MANAGE_MEMBERS = "manage_members"  # import members
    EXPORT = "export"  # download Excel exports
    MANAGE_TEAMS = "manage_teams"  # propose, adjust and commit teams and zones; appoint building heads
    VISIT = "visit"  # record household visits and campaign outcomes
    MANAGE_CAMPAIGNS = "manage_campaigns"  # start, change and close door-knocking campaigns
    MANAGE_CARE = "manage_care"  # the file of vulnerable households and care pairings
    MANAGE_DEMANDS = "manage_demands"  # accept, decline, assign, merge, escalate demands; the three lists
    HANDLE_DEMANDS = "handle_demands"  # work on demands assigned to oneself or one's team: start, resolve
    RECEIVE_ESCALATIONS = "receive_escalations"  # take on demands escalated (吹哨) to one's street or unit
    # publish activities, posts and tasks; roll call, check-in codes, hour corrections; service teams
    MANAGE_VOLUNTEERING = "manage_volunteering"
    MANAGE_PAIRINGS = "manage_pairings"  # pair work units with communities (结对共建)
    # set the city's volunteering rules (annual minimum, reminder lead): held over a city path, so in
    # practice the city's organisation department only (a community's grant never covers its city)
    MANAGE_POLICY = "manage_policy"


ROLE_PERMS: dict[str, frozenset[Perm]] = {
    Role.ORG_DEPT: frozenset(
        {Perm.VIEW, Perm.EXPORT, Perm.MANAGE_GRID, Perm.MANAGE_PAIRINGS, Perm.MANAGE_POLICY}
    ),
    Role.STREET: frozenset(
        {Perm.VIEW, Perm.EXPORT, Perm.MANAGE_GRID, Perm.RECEIVE_ESCALATIONS, Perm.MANAGE_PAIRINGS}
    ),
    Role.COMMUNITY: frozenset(Perm),
    Role.ESTATE: frozenset(
        {
            Perm.VIEW,
            Perm.VIEW_PII,
            Perm.VISIT,
            Perm.MANAGE_CARE,
            Perm.MANAGE_DEMANDS,
            Perm.HANDLE_DEMANDS,
            Perm.MANAGE_VOLUNTEERING,
        }
    ),
    Role.BUILDING: frozenset({Perm.VIEW, Perm.VISIT}),
    Role.WORK_UNIT: frozenset(
        {
            Perm.VIEW,
            Perm.VIEW_PII,
            Perm.EXPORT,
            Perm.MANAGE_MEMBERS,
            Perm.RECEIVE_ESCALATIONS,
            Perm.MANAGE_VOLUNTEERING,
        }
    ),
}

AREA_ROLES = frozenset(r for r in Role if r != Role.WORK_UNIT)

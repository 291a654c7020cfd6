"""Campaign reads: who sees which campaign, progress by team and building, and constant query counts."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huijia.core.errors import NotFound
from huijia.grid.models import Household
from huijia.members.models import HouseholdAccess, Team, TeamMembership, ZoneAssignment
from huijia.visits import campaign_selectors as selectors
from huijia.visits.campaign_services import Selection, record_outcome, start_campaign
from huijia.visits.models import Outcome


def start(world, **kwargs):
    return start_campaign(
        actor=world.actor("staff"),
        community_id=world.areas["a1"].pk,
        name=kwargs.pop("name", "入户走访"),
        questions=["有什么需要？"],
        selection=Selection(**kwargs),
    )


def record(world, campaign, household, outcome, who="staff"):
    record_outcome(
        actor=world.actor(who),
        campaign_id=campaign.pk,
        household_id=world.households[household].pk,
        outcome=outcome,
    )


def grow(world, teams: int) -> None:
    """More teams and households in A1 building 5, each team with a member and two households."""
    from huijia.core.testing import make_member, register

    building = world.areas["a1_bldg2"]
    for n in range(teams):
        team = Team.objects.create(community=world.areas["a1"], building=building, name=f"5栋第{n + 2}组")
        key = f"extra{n}_{Team.objects.count()}"
        make_member(world, key, name=f"党员{n}", serial=500 + Team.objects.count(), unit=None)
        register(world, key, "a1", "a1_bldg2_101")
        TeamMembership.objects.create(team=team, member=world.members[key])
        for room in range(2):
            household = Household.objects.create(building=building, floor=9, room=f"{team.pk}{room}")
            ZoneAssignment.objects.create(team=team, household=household)
            HouseholdAccess.objects.create(member=world.members[key], household=household, by_zone=True)


def test_progress_counts_per_outcome_by_team_and_by_building(world):
    campaign = start(world)
    record(world, campaign, "a1_101", Outcome.DONE, who="member")
    record(world, campaign, "a1_102", Outcome.NOT_HOME, who="member")
    record(world, campaign, "a1_bldg2_101", Outcome.REFUSED)
    progress = selectors.campaign_progress(actor=world.actor("staff"), campaign_id=campaign.pk)
    assert progress.total.total == 5
    assert progress.total.counts == {"pending": 2, "reached": 0, "not_home": 1, "refused": 1, "done": 1}
    assert (progress.total.visited_percent, progress.total.done_percent) == (60, 20)
    team, nobody = progress.by_team
    assert (team.label, team.total, team.done, team.visited) == ("3栋第1组", 4, 1, 2)
    assert (nobody.key, nobody.label, nobody.total, nobody.counts["refused"]) == (None, "未分组", 1, 1)
    assert [(b.label, b.total, b.done_percent) for b in progress.by_building] == [
        ("3栋", 4, 25),
        ("5栋", 1, 0),
    ]


def test_an_estate_secretary_and_a_building_head_see_their_part(world):
    campaign = start(world)
    head = selectors.campaign_progress(actor=world.actor("building_head"), campaign_id=campaign.pk)
    assert head.total.total == 4
    assert [b.label for b in head.by_building] == ["3栋"]
    secretary = selectors.campaign_progress(actor=world.actor("estate_secretary"), campaign_id=campaign.pk)
    assert secretary.total.total == 5


@pytest.mark.parametrize("who", ["other_staff", "other_member", "resident", "outsider"])
def test_others_do_not_see_the_campaign(world, who):
    campaign = start(world)
    with pytest.raises(NotFound):
        selectors.campaign_progress(actor=world.actor(who), campaign_id=campaign.pk)
    assert not selectors.campaigns_for(actor=world.actor(who)).exists()


def test_a_member_sees_only_their_share(world):
    campaign = start(world)
    share = selectors.share_for(actor=world.actor("member"), campaign_id=campaign.pk)
    assert [e.household.room for e in share] == ["101", "102", "201", "202"]
    mine = selectors.my_campaigns(actor=world.actor("member"))
    assert [(c.name, c.total, c.pending) for c in mine] == [("入户走访", 4, 4)]
    record(world, campaign, "a1_101", Outcome.DONE, who="member")
    pending = selectors.share_for(actor=world.actor("member"), campaign_id=campaign.pk, pending_only=True)
    assert [e.household.room for e in pending] == ["102", "201", "202"]


def test_closed_campaigns_leave_the_phone_list(world):
    from huijia.visits.campaign_services import close_campaign

    campaign = start(world)
    close_campaign(actor=world.actor("staff"), campaign_id=campaign.pk)
    assert selectors.my_campaigns(actor=world.actor("member")) == []


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_progress_takes_the_same_queries_whatever_the_number_of_teams(world, django_assert_num_queries):
    small = start(world, name="小")
    grow(world, 6)
    big = start(world, name="大")
    staff = world.actor("staff")
    with django_assert_num_queries(3):
        selectors.campaign_progress(actor=staff, campaign_id=small.pk)
    with django_assert_num_queries(3):
        progress = selectors.campaign_progress(actor=staff, campaign_id=big.pk)
    assert len(progress.by_team) == 8
    assert progress.total.total == 5 + 12


def test_lists_take_the_same_queries_whatever_their_length(world, django_assert_num_queries):
    staff, member = world.actor("staff"), world.actor("member")
    start(world, name="一")
    first = (
        queries(
            lambda: selectors.attach_counts(actor=staff, campaigns=list(selectors.campaigns_for(actor=staff)))
        ),
        queries(lambda: list(selectors.share_for(actor=member, campaign_id=1))),
        queries(lambda: selectors.my_campaigns(actor=member)),
    )
    grow(world, 3)
    for n in range(4):
        start(world, name=f"第{n}次")
    campaigns = list(selectors.campaigns_for(actor=staff))
    assert len(campaigns) == 5
    with django_assert_num_queries(first[0]):
        selectors.attach_counts(actor=staff, campaigns=list(selectors.campaigns_for(actor=staff)))
    with django_assert_num_queries(first[1]):
        [
            e.household.building.parent.name
            for e in selectors.share_for(actor=staff, campaign_id=campaigns[0].pk)
        ]
    with django_assert_num_queries(first[2]):
        assert len(selectors.my_campaigns(actor=member)) == 5

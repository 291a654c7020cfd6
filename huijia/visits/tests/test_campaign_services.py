"""Door-knocking campaigns (敲门行动): starting one by filter, recording outcomes, closing.

The world: community A1 has building 3 (a1_101, a1_102, a1_201, a1_202, held by team a1_team of
`member`) and building 5 (a1_bldg2_101, held by nobody).
"""

from datetime import timedelta

import pytest
from django.test import TestCase
from django.utils import timezone

from huijia.accounts.models import AuditLog, Notification
from huijia.care.models import VulnerablePerson
from huijia.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from huijia.grid.models import Resident
from huijia.visits.campaign_services import (
    Selection,
    Who,
    close_campaign,
    count_selected,
    record_outcome,
    selection_label,
    start_campaign,
)
from huijia.visits.models import Campaign, CampaignHousehold, Outcome

QUESTIONS = ["家中60岁以上老人是否已接种？", "有什么需要帮忙的？"]


def start(world, who="staff", selection=None, **kwargs):
    kwargs.setdefault("name", "疫苗接种敲门行动")
    kwargs.setdefault("questions", QUESTIONS)
    return start_campaign(
        actor=world.actor(who),
        community_id=kwargs.pop("community_id", world.areas["a1"].pk),
        selection=selection or Selection(),
        **kwargs,
    )


def households_of(campaign) -> dict[int, int | None]:
    return dict(CampaignHousehold.objects.filter(campaign=campaign).values_list("household_id", "team_id"))


def stored() -> tuple[int, int, int]:
    return Campaign.objects.count(), CampaignHousehold.objects.count(), AuditLog.objects.count()


# --- starting -------------------------------------------------------------------------------------


def test_a_campaign_on_the_whole_community_snapshots_every_household_with_its_team(world):
    campaign = start(world)
    h = world.households
    team = world.teams["a1_team"].pk
    assert households_of(campaign) == {
        h["a1_101"].pk: team,
        h["a1_102"].pk: team,
        h["a1_201"].pk: team,
        h["a1_202"].pk: team,
        h["a1_bldg2_101"].pk: None,  # building 5 is held by no team
    }
    assert campaign.questions == QUESTIONS
    assert campaign.selection["who"] == "all"
    assert AuditLog.objects.filter(action="campaign.start", target_id=str(campaign.pk)).exists()


def test_the_team_is_told_how_many_households_are_theirs(world):
    with TestCase.captureOnCommitCallbacks(execute=True):
        campaign = start(world)
    note = Notification.objects.get(user=world.users["member"])
    assert "疫苗接种敲门行动" in note.text
    assert "4户" in note.text
    assert note.url == f"/m/campaigns/{campaign.pk}/"


def test_later_zone_changes_do_not_move_households_already_handed_out(world):
    from huijia.members.models import ZoneAssignment

    campaign = start(world)
    ZoneAssignment.objects.filter(household=world.households["a1_101"]).update(ended_at=timezone.now())
    assert households_of(campaign)[world.households["a1_101"].pk] == world.teams["a1_team"].pk


def test_one_building_or_one_estate(world):
    building = start(world, selection=Selection(area_id=world.areas["a1_bldg2"].pk))
    assert set(households_of(building)) == {world.households["a1_bldg2_101"].pk}
    estate = start(world, selection=Selection(area_id=world.areas["a1_estate"].pk))
    assert len(households_of(estate)) == 5
    assert selection_label(building.selection) == "5栋 · 全部住户"


def test_households_with_a_resident_aged_60_or_over_counted_from_this_year(world):
    year = timezone.localdate().year
    h = world.households
    Resident.objects.create(household=h["a1_101"], name="刘爷爷", birth_year=year - 60)  # 60 this year
    Resident.objects.create(household=h["a1_102"], name="小刘", birth_year=year - 59)
    Resident.objects.create(household=h["a1_102"], name="无年份")  # unknown age: not picked
    Resident.objects.create(household=h["a2_101"], name="外社区老人", birth_year=year - 80)
    campaign = start(world, selection=Selection(who=Who.ELDERLY))
    assert set(households_of(campaign)) == {h["a1_101"].pk}
    assert selection_label(campaign.selection) == "全社区 · 有60岁以上老人的住户"


def test_households_with_an_active_vulnerable_person_of_a_kind(world):
    h = world.households
    VulnerablePerson.objects.create(household=h["a1_201"], kind="elderly_alone")
    VulnerablePerson.objects.create(household=h["a1_202"], kind="disabled")
    VulnerablePerson.objects.create(household=h["a1_101"], kind="elderly_alone", ended_at=timezone.now())
    alone = start(world, selection=Selection(who=Who.VULNERABLE, vulnerable_kind="elderly_alone"))
    assert set(households_of(alone)) == {h["a1_201"].pk}
    any_kind = start(world, selection=Selection(who=Who.VULNERABLE))
    assert set(households_of(any_kind)) == {h["a1_201"].pk, h["a1_202"].pk}


def test_count_preview_matches_what_start_would_pick(world):
    selection = Selection(area_id=world.areas["a1_bldg"].pk)
    assert (
        count_selected(actor=world.actor("staff"), community_id=world.areas["a1"].pk, selection=selection)
        == 4
    )


def test_an_empty_question_list_and_a_due_date_are_fine(world):
    due = timezone.localdate() + timedelta(days=14)
    campaign = start(world, questions=[], due_on=due)
    assert campaign.questions == []
    assert campaign.due_on == due


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"name": "  "}, "name", "name_required"),
        ({"name": "长" * 101}, "name", "invalid"),
        ({"questions": ["同一个问题", "同一个问题"]}, "questions", "invalid"),
        ({"questions": ["问" * 101]}, "questions", "invalid"),
        ({"due_on": "yesterday"}, "due_on", "due_in_past"),
        ({"selection": Selection(who="everyone")}, "who", "invalid"),
        ({"selection": Selection(who=Who.VULNERABLE, vulnerable_kind="rich")}, "vulnerable_kind", "invalid"),
        ({"selection": Selection(who=Who.ELDERLY, min_age=0)}, "min_age", "invalid"),
        ({"selection": "a2_estate"}, "area_id", "invalid"),  # an estate of another community
        ({"selection": Selection(who=Who.ELDERLY)}, "who", "no_households"),  # nobody has a birth year
    ],
)
def test_bad_input_is_refused_in_plain_words_and_stores_nothing(world, kwargs, field, code):
    if kwargs.get("due_on") == "yesterday":
        kwargs["due_on"] = timezone.localdate() - timedelta(days=1)
    if kwargs.get("selection") == "a2_estate":
        kwargs["selection"] = Selection(area_id=world.areas["a2_estate"].pk)
    before = stored()
    with pytest.raises(InvalidInput) as caught:
        start(world, **kwargs)
    assert caught.value.code == code
    assert field in caught.value.fields
    assert caught.value.message
    assert stored() == before


def test_a_filter_matching_no_household_says_so(world):
    with pytest.raises(InvalidInput, match="没有符合条件的住户"):
        start(world, selection=Selection(who=Who.VULNERABLE))


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("estate_secretary", NotFound),  # sees the estate, not the community node
        ("building_head", NotFound),
        ("other_staff", NotFound),
        ("street_staff", Forbidden),  # sees the community, may not run campaigns
        ("member", NotFound),
        ("resident", NotFound),
    ],
)
def test_only_community_staff_start_campaigns(world, who, error):
    before = stored()
    with pytest.raises(error):
        start(world, who=who)
    assert stored() == before


# --- recording outcomes ---------------------------------------------------------------------------


def test_a_team_member_records_an_outcome_with_answers_and_a_note(world):
    campaign = start(world)
    entry = record_outcome(
        actor=world.actor("member"),
        campaign_id=campaign.pk,
        household_id=world.households["a1_101"].pk,
        outcome=Outcome.DONE,
        answers=["已接种", ""],
        note="  老人腿脚不便  ",
    )
    entry.refresh_from_db()
    assert entry.outcome == Outcome.DONE
    assert entry.answers == {QUESTIONS[0]: "已接种"}  # an empty answer is left out
    assert entry.note == "老人腿脚不便"
    assert entry.updated_by == world.users["member"]
    assert entry.updated_at is not None
    assert AuditLog.objects.filter(action="campaign.outcome", target_id=str(entry.pk)).exists()


def test_recording_again_replaces_the_outcome(world):
    campaign = start(world)
    args = {"campaign_id": campaign.pk, "household_id": world.households["a1_102"].pk}
    record_outcome(actor=world.actor("member"), outcome=Outcome.NOT_HOME, **args)
    record_outcome(actor=world.actor("member"), outcome=Outcome.REACHED, **args)
    assert CampaignHousehold.objects.get(campaign=campaign, household=world.households["a1_102"]).outcome == (
        Outcome.REACHED
    )


@pytest.mark.parametrize(
    ("who", "household"),
    [
        ("building_head", "a1_201"),
        ("estate_secretary", "a1_bldg2_101"),
        ("staff", "a1_bldg2_101"),
    ],
)
def test_building_heads_estate_secretaries_and_staff_record_too(world, who, household):
    campaign = start(world)
    entry = record_outcome(
        actor=world.actor(who),
        campaign_id=campaign.pk,
        household_id=world.households[household].pk,
        outcome=Outcome.REFUSED,
    )
    assert entry.outcome == Outcome.REFUSED


@pytest.mark.parametrize(
    ("who", "household"),
    [
        ("member", "a1_bldg2_101"),  # in the campaign, outside the member's zone
        ("member", "a2_101"),  # not in the campaign at all
        ("building_head", "a1_bldg2_101"),  # another building
        ("other_member", "a2_101"),
        ("street_staff", "a1_101"),  # may view, may not record
        ("resident", "a1_201"),  # their own household
        ("outsider", "a1_101"),
    ],
)
def test_a_household_not_in_the_campaign_or_out_of_reach_is_not_found(world, who, household):
    campaign = start(world)
    before = list(CampaignHousehold.objects.values_list("outcome", "updated_by"))
    with pytest.raises(NotFound):
        record_outcome(
            actor=world.actor(who),
            campaign_id=campaign.pk,
            household_id=world.households[household].pk,
            outcome=Outcome.DONE,
        )
    assert list(CampaignHousehold.objects.values_list("outcome", "updated_by")) == before


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"outcome": Outcome.PENDING}, "outcome"),
        ({"outcome": "lost"}, "outcome"),
        ({"answers": ["1", "2", "3"]}, "answers"),  # more answers than questions
        ({"answers": ["长" * 201]}, "answers"),
        ({"note": "长" * 201}, "note"),
    ],
)
def test_bad_outcomes_store_nothing(world, kwargs, field):
    campaign = start(world)
    kwargs.setdefault("outcome", Outcome.DONE)
    with pytest.raises(InvalidInput) as caught:
        record_outcome(
            actor=world.actor("member"),
            campaign_id=campaign.pk,
            household_id=world.households["a1_101"].pk,
            **kwargs,
        )
    assert field in caught.value.fields
    entry = CampaignHousehold.objects.get(campaign=campaign, household=world.households["a1_101"])
    assert (entry.outcome, entry.answers, entry.note, entry.updated_by_id) == (Outcome.PENDING, {}, "", None)


# --- closing --------------------------------------------------------------------------------------


def test_a_closed_campaign_refuses_outcomes(world):
    campaign = start(world)
    closed = close_campaign(actor=world.actor("staff"), campaign_id=campaign.pk)
    assert closed.closed_at is not None
    with pytest.raises(Conflict, match="已结束"):
        record_outcome(
            actor=world.actor("member"),
            campaign_id=campaign.pk,
            household_id=world.households["a1_101"].pk,
            outcome=Outcome.DONE,
        )
    assert not CampaignHousehold.objects.filter(campaign=campaign).exclude(outcome=Outcome.PENDING).exists()
    with pytest.raises(Conflict):
        close_campaign(actor=world.actor("staff"), campaign_id=campaign.pk)


@pytest.mark.parametrize(
    ("who", "error"),
    [
        ("estate_secretary", Forbidden),
        ("member", Forbidden),
        ("other_staff", NotFound),
        ("outsider", NotFound),
    ],
)
def test_only_community_staff_close(world, who, error):
    campaign = start(world)
    with pytest.raises(error):
        close_campaign(actor=world.actor(who), campaign_id=campaign.pk)
    campaign.refresh_from_db()
    assert campaign.closed_at is None


def test_a_door_where_someone_was_met_is_recorded_once_as_a_visit(world):
    """Nobody types the visit twice: a met door counts in the visit ledger and for care pairings;
    a door where nobody was home does not."""
    from huijia.visits.models import Visit

    campaign = start(world)
    args = {"campaign_id": campaign.pk, "household_id": world.households["a1_102"].pk}
    record_outcome(actor=world.actor("member"), outcome=Outcome.NOT_HOME, **args)
    assert not Visit.objects.filter(household=world.households["a1_102"]).exists()
    record_outcome(actor=world.actor("member"), outcome=Outcome.REACHED, **args)
    record_outcome(actor=world.actor("member"), outcome=Outcome.DONE, answers=["已接种"], **args)
    visits = Visit.objects.filter(household=world.households["a1_102"])
    assert visits.count() == 1
    visit = visits.get()
    assert visit.campaign == campaign
    assert visit.member == world.members["member"]
    assert (
        CampaignHousehold.objects.get(campaign=campaign, household=world.households["a1_102"]).visit == visit
    )

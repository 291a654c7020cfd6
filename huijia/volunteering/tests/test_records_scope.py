"""Who may read a member's standing and records, one record through the API, the resident
confirmation link, and the complaint-and-suggestion link on the member's pages.

A building head or an estate secretary sees a neighbour's household, not their service record: for
staff, a member's standing and records need a grant over the member's whole reporting community (as
the below-minimum list does) or over the member's work unit.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from huijia.core.errors import NotFound
from huijia.volunteering import records
from huijia.volunteering.models import ServiceRecord
from huijia.volunteering.testing import enrol, make_activity, record


def served(w, key="member", *, community="a1", hours="2", title="清理楼道小广告"):
    activity = make_activity(w, title=title, community=community, slots=[("活动室", -5, 2, 5)])
    slot = activity.slots.get()
    enrol(slot, w.members[key])
    return record(slot, w.members[key], hours=hours)


@pytest.mark.parametrize("who", ["building_head", "estate_secretary", "other_staff", "other_member"])
def test_neighbours_and_other_communities_do_not_see_a_members_standing(world, who):
    served(world)
    member = world.members["member"].pk
    with pytest.raises(NotFound):
        records.standing_of(actor=world.actor(who), member_id=member)
    with pytest.raises(NotFound):
        records.member_of(actor=world.actor(who), member_id=member)


@pytest.mark.parametrize("who", ["staff", "street_staff", "org_dept", "unit_organiser"])
def test_the_community_above_and_the_work_unit_do(world, who):
    served(world)
    standing = records.standing_of(actor=world.actor(who), member_id=world.members["member"].pk)
    assert standing.services == 1


def test_the_work_unit_reaches_a_member_who_reports_elsewhere(world):
    # 赵敏 (U2) reports in A2: U1's organiser does not reach her, A2's staff do
    other = world.members["other_member"].pk
    with pytest.raises(NotFound):
        records.standing_of(actor=world.actor("unit_organiser"), member_id=other)
    assert records.standing_of(actor=world.actor("other_staff"), member_id=other).minimum == 2


def test_the_api_refuses_a_neighbour(world, client):
    served(world)
    member = world.members["member"].pk
    client.force_login(world.users["building_head"])
    assert client.get(f"/api/v1/volunteer/standing?member={member}").status_code == 404
    assert client.get(f"/api/v1/volunteer/records?member={member}").status_code == 404
    client.force_login(world.users["estate_secretary"])
    assert client.get(f"/api/v1/volunteer/standing?member={member}").status_code == 404
    client.force_login(world.users["staff"])
    assert client.get(f"/api/v1/volunteer/standing?member={member}").json()["services"] == 1


def test_a_neighbour_cannot_open_the_certificate_page_of_a_member(world, client):
    client.force_login(world.users["estate_secretary"])
    page = client.get(reverse("volunteering:certificate_new"), {"member": world.members["member"].pk})
    assert page.status_code == 404


# --- one record through the API ---------------------------------------------------------------------


def test_api_one_record_with_the_resident_confirmation_link(world, client, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://huijia.example.cn/"
    mine = served(world)
    client.force_login(world.users["member"])
    got = client.get(f"/api/v1/volunteer/records/{mine.pk}").json()
    assert got["id"] == mine.pk
    assert got["activity"]["name"] == "清理楼道小广告"
    assert got["counted"] is True
    assert got["confirm_url"] == f"https://huijia.example.cn/v/confirm/{mine.confirm_token}/"
    assert got["confirm_url"] == "https://huijia.example.cn" + reverse(
        "volunteering:resident_confirm", args=[mine.confirm_token]
    )
    # the list carries it too
    listed = client.get("/api/v1/volunteer/records").json()["items"][0]
    assert listed["confirm_url"] == got["confirm_url"]
    # once confirmed, there is nothing left to ask
    ServiceRecord.objects.filter(pk=mine.pk).update(resident_confirmed_at=timezone.now())
    assert client.get(f"/api/v1/volunteer/records/{mine.pk}").json()["confirm_url"] is None


def test_api_one_record_of_0_hours_has_no_confirmation_link(world, client):
    nothing = served(world, hours="0")
    client.force_login(world.users["member"])
    got = client.get(f"/api/v1/volunteer/records/{nothing.pk}").json()
    assert (got["counted"], got["confirm_url"]) == (False, None)


def test_api_one_record_for_staff_in_scope_without_the_link(world, client):
    mine = served(world)
    for who in ("staff", "unit_organiser", "street_staff"):
        client.force_login(world.users[who])
        got = client.get(f"/api/v1/volunteer/records/{mine.pk}")
        assert got.status_code == 200, who
        assert got.json()["confirm_url"] is None  # the link is the member's to hand out


@pytest.mark.parametrize(
    "who", ["other_member", "other_staff", "building_head", "estate_secretary", "resident"]
)
def test_api_one_record_out_of_reach(world, client, who):
    mine = served(world)
    client.force_login(world.users[who])
    response = client.get(f"/api/v1/volunteer/records/{mine.pk}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_api_one_record_that_does_not_exist(world, client):
    client.force_login(world.users["member"])
    assert client.get("/api/v1/volunteer/records/999999").status_code == 404
    client.logout()
    assert client.get("/api/v1/volunteer/records/1").status_code == 401


def test_the_records_page_shows_the_public_confirmation_link(world, client, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://huijia.example.cn"
    mine = served(world)
    client.force_login(world.users["member"])
    html = client.get(reverse("volunteering:records")).content.decode()
    assert f"https://huijia.example.cn/v/confirm/{mine.confirm_token}/" in html


# --- the complaint and suggestion link ----------------------------------------------------------------


def test_the_records_page_links_to_complaints_and_suggestions(world, client):
    client.force_login(world.users["member"])
    html = client.get(reverse("volunteering:records")).content.decode()
    assert f"{reverse('demands:feedback_new')}?community={world.areas['a1'].pk}" in html
    assert "投诉建议" in html


def test_the_certificate_page_links_to_complaints_and_suggestions(world, client):
    client.force_login(world.users["member"])
    html = client.get(reverse("volunteering:certificate_new")).content.decode()
    assert f"{reverse('demands:feedback_new')}?community={world.areas['a1'].pk}" in html
    assert "投诉建议" in html

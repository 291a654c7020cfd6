"""A member's service record and standing, and who is below the annual minimum (reads).

What users rely on: a member sees where they stand this year against their city's minimum and their
own records only (with organiser, hours and the served resident's confirmation), on a page that costs
the same few queries for 100 records; staff of the community and the member's work unit see who is
below the minimum, ordered by name, never anyone else's members.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from huijia.core.errors import InvalidInput, NotFound
from huijia.core.testing import World, make_member, register
from huijia.volunteering import records
from huijia.volunteering.models import (
    CorrectionStatus,
    HoursCorrection,
    MinimumReminder,
    OrganiserKind,
    ServiceRecord,
    VolunteerPolicy,
)
from huijia.volunteering.testing import enrol, make_activity, record


def served(
    w: World,
    member_key: str = "member",
    *,
    title: str = "清理楼道小广告",
    community: str = "a1",
    hours_ago: float = 3,
    length: float = 2,
    hours=None,
    open_record: bool = False,
    **fields,
) -> ServiceRecord:
    """A service the member gave in a slot that started `hours_ago` hours ago (closed unless open_record)."""
    slots = [("3栋楼下", -hours_ago, length, 10)]
    activity = make_activity(w, title=title, community=community, slots=slots, **fields)
    slot = activity.slots.get()
    member = w.members[member_key]
    enrol(slot, member)
    if open_record:
        return record(slot, member, checked_in_at=slot.starts_at)
    return record(slot, member, hours=hours)


def many_served(w: World, count: int, member_key: str = "member") -> None:
    for i in range(count):
        served(w, member_key, title=f"志愿服务第{i + 1}次", hours_ago=4 + i * 0.05, length=1)


# --- standing -----------------------------------------------------------------------------------------


def test_standing_counts_closed_records_of_the_year_only(world):
    served(world, hours="1.5")
    served(world, open_record=True)  # checked in, not yet out: does not count yet
    served(world, hours_ago=24 * 400)  # last year (or earlier)
    served(world, "other_member", community="a2")  # someone else
    standing = records.standing_of(actor=world.actor("member"))
    assert (standing.services, standing.open_records, standing.minimum) == (1, 1, 2)
    assert standing.hours == Decimal("1.50")
    assert standing.below
    assert standing.missing == 1


def test_the_minimum_is_the_citys(world):
    VolunteerPolicy.objects.create(city=world.areas["city"], annual_minimum=4)
    served(world)
    standing = records.standing_of(actor=world.actor("member"))
    assert (standing.services, standing.minimum, standing.missing) == (1, 4, 3)


def test_standing_of_someone_else_is_refused_and_a_bad_year_is_a_clear_error(world):
    with pytest.raises(NotFound):
        records.standing_of(actor=world.actor("other_member"), member_id=world.members["member"].pk)
    with pytest.raises(NotFound):
        records.standing_of(actor=world.actor("resident"))  # not a member: nothing to stand on
    with pytest.raises(InvalidInput) as exc:
        records.standing_of(actor=world.actor("member"), year=1850)
    assert exc.value.code == "bad_year"
    staff_view = records.standing_of(actor=world.actor("staff"), member_id=world.members["member"].pk)
    assert staff_view.services == 0


# --- the record page -----------------------------------------------------------------------------------


def test_record_page_shows_standing_and_own_records(world, client):
    served(world, title="清理楼道小广告", hours="2")
    confirmed = served(world, title="关爱独居老人", hours="1.25", organiser_kind=OrganiserKind.ESTATE,
                       estate=world.areas["a1_estate"])  # fmt: skip
    ServiceRecord.objects.filter(pk=confirmed.pk).update(
        resident_confirmed_at=timezone.now(), resident_comment="小李很耐心"
    )
    pending = served(world, title="便民维修")
    HoursCorrection.objects.create(record=pending, requested_hours="1.00", reason="提前离开")
    served(world, "other_member", title="别人的服务", community="a2")
    client.force_login(world.users["member"])
    response = client.get(reverse("volunteering:records"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "今年已服务 3 次，每年至少 2 次" in html
    assert "已达到今年的最低服务次数" in html
    assert "清理楼道小广告" in html
    assert "关爱独居老人" in html
    assert "识字岭社区幸福小区党支部" in html  # the estate branch organised it
    assert "小李很耐心" in html
    assert "已确认" in html
    assert "时长更正申请正在审核" in html
    assert "别人的服务" not in html
    assert reverse("volunteering:certificate_new") in html


def test_record_page_of_a_member_below_the_minimum_and_of_a_past_year(world, client):
    served(world, hours_ago=24 * 400, title="去年的服务")
    client.force_login(world.users["member"])
    html = client.get(reverse("volunteering:records")).content.decode()
    assert "今年已服务 0 次，每年至少 2 次" in html
    assert "还差 2 次" in html
    assert "这一年还没有服务记录" in html
    last = timezone.localdate(timezone.now() - timedelta(days=400)).year
    html = client.get(reverse("volunteering:records"), {"year": last}).content.decode()
    assert f"{last}年服务 1 次" in html
    assert "去年的服务" in html
    # a nonsense year falls back to this year instead of failing
    assert client.get(reverse("volunteering:records"), {"year": "abc"}).status_code == 200


def test_record_page_is_for_members(world, client):
    client.force_login(world.users["resident"])
    response = client.get(reverse("volunteering:records"))
    assert response.status_code == 403
    assert "只对报到党员开放" in response.content.decode()
    client.logout()
    assert client.get(reverse("volunteering:records")).status_code == 302  # sign in first


def test_record_page_costs_the_same_few_queries_for_100_records(world, client, django_assert_max_num_queries):
    many_served(world, 100)
    client.force_login(world.users["member"])
    client.get(reverse("volunteering:records"))  # warm the session
    with django_assert_max_num_queries(9):
        response = client.get(reverse("volunteering:records"))
    assert response.content.decode().count('class="card record"') == 100


# --- the API -------------------------------------------------------------------------------------------


def test_api_records_and_standing(world, client, django_assert_max_num_queries):
    many_served(world, 30)
    served(world, "other_member", community="a2", title="别人的服务")
    client.force_login(world.users["member"])
    with django_assert_max_num_queries(6):
        page = client.get("/api/v1/volunteer/records?limit=100").json()
    assert page["count"] == 30
    assert len(page["items"]) == 30
    row = page["items"][0]
    assert row["organiser"] == "识字岭社区"
    assert row["venue"] == "3栋楼下"
    assert row["hours"] == "1.00"
    assert {"resident_confirmed", "correction_pending", "date"} <= set(row)
    standing = client.get("/api/v1/volunteer/standing").json()
    assert (standing["services"], standing["minimum"], standing["below"]) == (30, 2, False)
    other = world.members["other_member"].pk
    assert client.get(f"/api/v1/volunteer/records?member={other}").status_code == 404
    assert client.get("/api/v1/volunteer/standing?year=1800").json()["code"] == "bad_year"
    client.force_login(world.users["staff"])
    mine = world.members["member"].pk
    assert client.get(f"/api/v1/volunteer/records?member={mine}").json()["count"] == 30
    everything = client.get("/api/v1/volunteer/records?limit=100").json()  # staff: their community's
    assert everything["count"] == 30


# --- below the minimum ------------------------------------------------------------------------------


def test_below_minimum_in_a_community(world):
    w = world
    for serial, name in ((11, "周强"), (12, "吴丽")):
        make_member(w, f"m{serial}", name=name, serial=serial, unit="u2")
        register(w, f"m{serial}", "a1", "a1_202")
    served(w, "m11", hours_ago=5)
    served(w, "m11", hours_ago=9)  # 周强 has two: not below
    served(w, "member", hours_ago=5)
    served(w, "member", open_record=True)  # open: does not count yet
    MinimumReminder.objects.create(member=w.members["member"], year=timezone.localdate().year)
    result = records.below_minimum(actor=w.actor("staff"), community_id=w.areas["a1"].pk)
    assert result.minimum == 2
    assert result.reporting == 3
    rows = [(m.name, m.services, m.reminded) for m in result.rows]
    assert rows == [("吴丽", 0, False), ("李建国", 1, True)]
    assert result.rows[1].work_unit.name == "芙蓉区教育局"


def test_below_minimum_of_a_work_unit_only_its_own_members(world):
    w = world
    make_member(w, "u1_a2", name="孙强", serial=21, unit="u1")
    register(w, "u1_a2", "a2", "a2_202")
    VolunteerPolicy.objects.create(city=w.areas["city"], annual_minimum=1)
    served(w, "u1_a2", community="a2")
    result = records.below_minimum(actor=w.actor("unit_organiser"), work_unit_id=w.units["u1"].pk)
    assert [m.name for m in result.rows] == ["李建国"]  # not 赵敏 (U2); 孙强 has served once
    assert result.reporting == 2
    assert result.minimum == 1
    with pytest.raises(NotFound):
        records.below_minimum(actor=w.actor("unit_organiser"), work_unit_id=w.units["u2"].pk)


OUT_OF_REACH = ["other_staff", "estate_secretary", "building_head", "member", "unit_organiser"]


@pytest.mark.parametrize("who", OUT_OF_REACH)
def test_below_minimum_of_a_community_out_of_reach(world, who):
    with pytest.raises(NotFound):
        records.below_minimum(actor=world.actor(who), community_id=world.areas["a1"].pk)


def test_below_minimum_needs_one_community_or_one_unit(world):
    for kwargs in ({}, {"community_id": world.areas["a1"].pk, "work_unit_id": world.units["u1"].pk}):
        with pytest.raises(InvalidInput) as exc:
            records.below_minimum(actor=world.actor("staff"), **kwargs)
        assert exc.value.code == "choose_one"


def test_below_minimum_of_600_members_is_one_aggregate(world, client, django_assert_max_num_queries):
    from huijia.members.models import Member

    a1 = world.areas["a1"]
    household = world.households["a1_201"]
    Member.objects.bulk_create(
        [
            Member(name=f"党员{i:03d}", phone="", phone_digest=f"p{i}", id_number="",
                   id_number_digest=f"d{i}", community=a1, household=household,
                   volunteer_no=f"VB{i:06d}", card_token=f"ct{i}")
            for i in range(600)
        ]
    )  # fmt: skip
    staff = world.actor("staff")
    with django_assert_max_num_queries(4):
        result = records.below_minimum(actor=staff, community_id=a1.pk)
    assert result.reporting == 601
    assert len(result.rows) == 601
    client.force_login(world.users["staff"])
    html = client.get(reverse("volunteering:minimum"), {"page": 7}).content.decode()
    assert "第 7 / 7 页" in html  # a hundred a page
    assert html.count("<tr>") == 1 + 1  # the header and the last one


def test_minimum_console_page(world, client, django_assert_max_num_queries):
    served(world)
    client.force_login(world.users["staff"])
    url = reverse("volunteering:minimum")
    client.get(url)
    with django_assert_max_num_queries(9):
        response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "李建国" in html
    assert "服务少于 2 次" in html
    assert "不排名" in html
    assert client.get(url, {"community": world.areas["a2"].pk}).status_code == 404
    client.force_login(world.users["unit_organiser"])
    html = client.get(url).content.decode()
    assert "芙蓉区教育局" in html
    assert "李建国" in html
    assert "赵敏" not in html
    client.force_login(world.users["member"])
    assert client.get(url).status_code == 403


def test_api_below_minimum(world, client, django_assert_max_num_queries):
    served(world)
    client.force_login(world.users["staff"])
    with django_assert_max_num_queries(7):
        body = client.get(f"/api/v1/volunteer/below-minimum?community={world.areas['a1'].pk}").json()
    assert body["minimum"] == 2
    assert [r["name"] for r in body["items"]] == ["李建国"]
    assert body["items"][0]["services"] == 1
    assert body["items"][0]["work_unit"] == "芙蓉区教育局"
    assert client.get("/api/v1/volunteer/below-minimum").json()["code"] == "choose_one"
    client.force_login(world.users["other_staff"])
    assert client.get(f"/api/v1/volunteer/below-minimum?community={world.areas['a1'].pk}").status_code == 404
    client.force_login(world.users["unit_organiser"])
    body = client.get(f"/api/v1/volunteer/below-minimum?work_unit={world.units['u1'].pk}").json()
    assert [(r["name"], r["community"]) for r in body["items"]] == [("李建国", "识字岭社区")]


def test_pending_correction_is_annotated_in_one_query(world, django_assert_max_num_queries):
    one = served(world)
    served(world, title="另一次")
    HoursCorrection.objects.create(record=one, requested_hours="1.00", reason="提前离开")
    HoursCorrection.objects.create(
        record=one, requested_hours="1.00", reason="再次", status=CorrectionStatus.REJECTED
    )
    member = world.actor("member")
    with django_assert_max_num_queries(1):
        rows = list(records.my_records(actor=member))
    assert sorted(r.correction_pending for r in rows) == [False, True]

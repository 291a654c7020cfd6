"""The pairing screens: the list, a new pairing, one pairing with its joint activities and ending it,
coverage, and a work unit's view of its members' service; fixed query counts on the lists."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from huijia.orgs.models import WorkUnit
from huijia.volunteering.models import Pairing
from huijia.volunteering.testing import record
from huijia.volunteering.tests.test_pairings_reads import joint
from huijia.volunteering.tests.test_pairings_services import pair


def browser(world, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(world.users[who])
    return client


def test_the_list_shows_the_pairings_the_actor_sees(world):
    pair(world, commitments="每季度一次联合志愿服务\n帮助维修路灯")
    pair(world, unit="u2", community="b1", who="org_dept")
    html = browser(world, "staff").get(reverse("volunteering:pairings")).content.decode()
    assert "芙蓉区教育局" in html
    assert "每季度一次联合志愿服务" in html
    assert "等 2 条" in html
    assert "新园社区" not in html  # another street's pairing
    assert reverse("volunteering:pairing_new") in html
    unit = browser(world, "unit_organiser").get(reverse("volunteering:pairings")).content.decode()
    assert "识字岭社区" in unit
    assert reverse("volunteering:pairing_new") not in unit  # a unit does not pair itself
    assert reverse("volunteering:unit_service") in unit
    ended = browser(world, "staff").get(reverse("volunteering:pairings") + "?state=ended").content.decode()
    assert "没有这个状态的结对" in ended


@pytest.mark.parametrize("who", ["member", "resident", "outsider"])
def test_people_without_a_console_role_are_refused(world, who):
    client = browser(world, who)
    for name in ("pairings", "pairing_new", "coverage", "unit_service"):
        assert client.get(reverse(f"volunteering:{name}")).status_code == 403, name


def test_anonymous_visitors_are_sent_to_sign_in(world):
    response = Client().get(reverse("volunteering:pairings"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_staff_pair_a_unit_with_a_community_from_the_form(world):
    client = browser(world, "street_staff")
    form = client.get(reverse("volunteering:pairing_new") + f"?community={world.areas['a2'].pk}")
    html = form.content.decode()
    assert form.status_code == 200
    assert "燕子岭社区（未结对）" in html
    assert "新园社区" not in html  # another street's community is not offered
    assert "长沙市自来水公司" in html
    response = client.post(
        reverse("volunteering:pairing_new"),
        {
            "community": world.areas["a2"].pk,
            "work_unit": world.units["u2"].pk,
            "starts_on": timezone.localdate().isoformat(),
            "ends_on": "",
            "commitments": "节日慰问困难家庭",
        },
    )
    pairing = Pairing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("volunteering:pairing", args=[pairing.pk])
    assert (pairing.work_unit, pairing.community, pairing.ends_on) == (
        world.units["u2"],
        world.areas["a2"],
        None,
    )
    page = client.get(response["Location"]).content.decode()
    assert "已结对，结对单位会收到通知" in page
    assert "节日慰问困难家庭" in page


def test_the_form_shows_what_is_wrong_and_stores_nothing(world):
    client = browser(world, "street_staff")
    today = timezone.localdate()
    empty = client.post(reverse("volunteering:pairing_new"), {"starts_on": ""})
    assert empty.status_code == 400
    for message in ("请选择结对的社区", "请选择结对的单位", "请填写开始日期"):
        assert message in empty.content.decode()
    backwards = client.post(
        reverse("volunteering:pairing_new"),
        {
            "community": world.areas["a1"].pk,
            "work_unit": world.units["u1"].pk,
            "starts_on": today.isoformat(),
            "ends_on": (today - timedelta(days=3)).isoformat(),
        },
    )
    assert backwards.status_code == 400
    assert "结束日期不能早于开始日期" in backwards.content.decode()
    pair(world)
    twice = client.post(
        reverse("volunteering:pairing_new"),
        {
            "community": world.areas["a1"].pk,
            "work_unit": world.units["u1"].pk,
            "starts_on": today.isoformat(),
        },
    )
    assert twice.status_code == 400
    assert "不能重复结对" in twice.content.decode()
    assert Pairing.objects.count() == 1
    elsewhere = client.post(
        reverse("volunteering:pairing_new"),
        {
            "community": world.areas["b1"].pk,
            "work_unit": world.units["u1"].pk,
            "starts_on": today.isoformat(),
        },
    )
    assert elsewhere.status_code == 400  # not one of the form's communities
    assert Pairing.objects.count() == 1


def test_the_unit_picker_finds_units_by_name(world):
    client = browser(world, "street_staff")
    url = reverse("volunteering:pairing_unit_options")
    found = client.get(url, {"unit_q": "自来水"}).content.decode()
    assert "长沙市自来水公司" in found
    assert "芙蓉区教育局" not in found
    assert "没有找到" in client.get(url, {"unit_q": "不存在的单位"}).content.decode()
    assert browser(world, "unit_organiser").get(url).status_code == 403


def test_the_pairing_page_shows_joint_activities_and_the_street_ends_it(world):
    pairing = pair(world, commitments="每月一次义诊")
    activity = joint(world, pairing, "共建活动：健康义诊", people_served=40)
    record(activity.slots.get(), world.members["member"], hours="2.5")
    url = reverse("volunteering:pairing", args=[pairing.pk])
    unit_page = browser(world, "unit_organiser").get(url).content.decode()
    for text in ("共建活动：健康义诊", "每月一次义诊", "40", "2.5"):
        assert text in unit_page, text
    assert reverse("volunteering:pairing_end", args=[pairing.pk]) not in unit_page  # the unit cannot end it
    client = browser(world, "street_staff")
    assert reverse("volunteering:pairing_end", args=[pairing.pk]) in client.get(url).content.decode()
    long = client.post(reverse("volunteering:pairing_end", args=[pairing.pk]), {"reason": "长" * 201})
    assert long.status_code == 400
    assert "原因不超过200个字" in long.content.decode()
    done = client.post(reverse("volunteering:pairing_end", args=[pairing.pk]), {"reason": "到期不再续约"})
    assert done.status_code == 302
    assert Pairing.objects.get().ended_at is not None
    assert "已解除" in client.get(url).content.decode()
    again = client.post(reverse("volunteering:pairing_end", args=[pairing.pk]), {})
    assert again.status_code == 409
    assert "这个结对已经解除" in again.content.decode()
    refused = browser(world, "unit_organiser").post(reverse("volunteering:pairing_end", args=[pairing.pk]))
    assert refused.status_code == 403
    assert browser(world, "other_staff").get(url).status_code == 404


def test_the_coverage_page(world):
    pair(world)
    client = browser(world, "org_dept")
    html = client.get(reverse("volunteering:coverage")).content.decode()
    assert "结对覆盖 · 长沙市" in html
    assert "燕子岭社区" in html
    assert "新园社区" in html
    assert "长沙市自来水公司" in html
    assert f"{reverse('volunteering:pairing_new')}?community={world.areas['a2'].pk}" in html
    pair(world, unit="u2", community="a2")
    street = browser(world, "street_staff").get(reverse("volunteering:coverage")).content.decode()
    assert "2 个社区已全部结对" in street
    district = client.get(reverse("volunteering:coverage"), {"area": world.areas["district"].pk})
    assert "文艺路街道" in district.content.decode()
    assert (
        browser(world, "street_staff")
        .get(reverse("volunteering:coverage"), {"area": world.areas["street_b"].pk})
        .status_code
        == 404
    )
    assert browser(world, "unit_organiser").get(reverse("volunteering:coverage")).status_code == 403


def test_the_unit_page_shows_only_its_own_members(world):
    activity = joint(world, pair(world))
    record(activity.slots.get(), world.members["member"], hours="2")
    record(activity.slots.get(), world.members["other_member"], hours="2")  # a member of U2
    client = browser(world, "unit_organiser")
    html = client.get(reverse("volunteering:unit_service")).content.decode()
    assert "李建国" in html
    assert "赵敏" not in html
    assert "不排名" in html
    assert client.get(reverse("volunteering:unit_service"), {"unit": world.units["u2"].pk}).status_code == 404
    assert browser(world, "staff").get(reverse("volunteering:unit_service")).status_code == 403


@pytest.mark.parametrize(
    ("name", "who"),
    [("pairings", "org_dept"), ("coverage", "org_dept"), ("unit_service", "unit_organiser")],
)
def test_list_pages_take_a_fixed_number_of_queries(world, django_assert_max_num_queries, name, who):
    first = pair(world)
    record(joint(world, first).slots.get(), world.members["member"], hours="1")
    client = browser(world, who)
    url = reverse(f"volunteering:{name}")
    client.get(url)  # warm up the session
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for i in range(8):
        world.units[f"x{i}"] = WorkUnit.objects.create(name=f"单位{i}")
        pair(world, unit=f"x{i}", community="a2" if i % 2 else "b1", who="org_dept", commitments="甲\n乙")
        record(joint(world, first, f"共建{i}").slots.get(), world.members["member"], hours="1")
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200


def test_the_pairing_page_takes_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    first = pair(world)
    client = browser(world, "staff")
    url = reverse("volunteering:pairing", args=[first.pk])
    record(joint(world, first).slots.get(), world.members["member"], hours="1")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for i in range(8):
        record(joint(world, first, f"共建{i}").slots.get(), world.members["member"], hours="1")
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200

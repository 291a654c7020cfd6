"""The three lists' screens as people use them: the console tabs, forms with bad input, the member's
phone list, the Excel download, and query-count guards on every list page."""

from io import BytesIO

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from huijia.demands.models import Need, NeedKind, NeedStatus, ServiceClaim, ServiceItem, ServiceItemStatus
from huijia.demands.tests.test_lists_fixtures import claim, demand, item, need, paired, reporting


def browser(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def page(client: Client, name: str, *args, **query) -> str:
    url = reverse(f"demands:{name}", args=args)
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_console_home_opens_the_resource_list(world):
    response = browser(world, "staff").get(reverse("demands:lists_home"))
    assert response.status_code == 302
    assert response["Location"] == reverse("demands:lists_resources")
    assert browser(world, "member").get(reverse("demands:lists_home")).status_code == 403


def test_the_resource_list_page_filters_and_exports(world):
    reporting(
        world, "doc", "钱医生", "a1_202", skills=("医疗",), free_time=("weekend",), resources="可上门量血压"
    )
    reporting(world, "law", "孙律师", "a1_102", skills=("法律",), free_time=("holiday",))
    client = browser(world, "staff")
    html = page(client, "lists_resources")
    assert "钱医生" in html
    assert "孙律师" in html
    assert "可上门量血压" in html
    assert "13900000" not in html  # no phone number anywhere
    weekend = page(client, "lists_resources", community=world.areas["a1"].pk, free_time="weekend")
    assert "钱医生" in weekend
    assert "孙律师" not in weekend
    junk = page(client, "lists_resources", skill="abc", free_time="never")  # bad filters are ignored
    assert "孙律师" in junk
    response = client.post(
        reverse("demands:lists_resources_export"), {"community": world.areas["a1"].pk, "free_time": "weekend"}
    )
    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(b"".join(response.streaming_content))).active.values)
    assert [r[0] for r in rows[1:]] == ["钱医生"]
    refused = browser(world, "estate_secretary").post(
        reverse("demands:lists_resources_export"), {"community": world.areas["a1"].pk}
    )
    assert refused.status_code == 302  # back to the list with the reason
    assert (
        browser(world, "staff").get(reverse("demands:lists_resources") + "?community=abc").status_code == 404
    )


def test_a_community_out_of_reach_is_not_found(world):
    url = reverse("demands:lists_needs") + f"?community={world.areas['a2'].pk}"
    assert browser(world, "staff").get(url).status_code == 404
    assert browser(world, "member").get(url).status_code == 403
    assert browser(world, "resident").get(reverse("demands:lists_services")).status_code == 403


def test_proposed_demands_become_a_need_in_two_clicks(world):
    ds = [demand(world), demand(world, "a1_bldg2")]
    client = browser(world, "staff")
    html = page(client, "lists_needs")
    ids = ",".join(str(d.pk) for d in reversed(ds))
    link = reverse("demands:lists_need_new") + f"?community={world.areas['a1'].pk}&amp;demands={ids}"
    assert link in html
    form = page(client, "lists_need_new", community=world.areas["a1"].pk, demands=ids)
    assert ds[0].description in form
    assert 'value="drain" selected' in form  # the demands' category, to confirm
    response = client.post(
        reverse("demands:lists_need_new"),
        {"community": world.areas["a1"].pk, "demand_ids": ids, "category": "drain", "title": ""},
    )
    n = Need.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("demands:lists_need", args=[n.pk])
    assert n.kind == NeedKind.COMMON
    assert n.demands.count() == 2
    assert link not in page(client, "lists_needs")  # no longer proposed


def test_a_need_by_hand_with_bad_input_keeps_what_was_typed(world):
    client = browser(world, "staff")
    url = reverse("demands:lists_need_new")
    response = client.post(url, {"community": world.areas["a1"].pk, "title": "老人助餐", "place": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "请选择需求所在的社区、小区或楼栋" in html
    assert 'value="老人助餐"' in html
    script = "<script>alert(1)</script>"
    response = client.post(
        url,
        {
            "community": world.areas["a1"].pk,
            "title": script,
            "place": world.areas["a1_bldg"].pk,
            "household": world.households["a1_201"].pk,
        },
    )
    n = Need.objects.get()
    assert (n.title, n.kind, n.household) == (script, NeedKind.INDIVIDUAL, world.households["a1_201"])
    html = page(client, "lists_need", n.pk)
    assert script not in html
    assert "&lt;script&gt;" in html


def test_the_household_picker_lists_a_managed_buildings_households(world):
    client = browser(world, "estate_secretary")
    html = page(client, "lists_need_households", place=world.areas["a1_bldg"].pk)
    assert "3栋 1单元101室" in html
    assert "1单元" not in page(client, "lists_need_households", place=world.areas["a2_bldg"].pk)


def test_the_need_page_proposes_members_and_changes_status(world):
    reporting(world, "plumber", "张水电", "a1_202", skills=("水电维修",))
    n = need(world, "a1_bldg")
    n.demands.add(demand(world))
    client = browser(world, "estate_secretary")
    html = page(client, "lists_need", n.pk)
    assert "张水电" in html
    assert "专长：水电维修 · 同楼栋 · 当前无任务" in html
    response = client.post(reverse("demands:lists_need_status", args=[n.pk]), {"status": "serving"})
    assert response.status_code == 302
    n.refresh_from_db()
    assert n.status == NeedStatus.SERVING
    again = client.post(reverse("demands:lists_need_status", args=[n.pk]), {"status": "serving"}, follow=True)
    assert "该需求已经是“服务中”" in again.content.decode()
    extra = demand(world, "a1_bldg2")
    client.post(reverse("demands:lists_need_link", args=[n.pk]), {"demands": [extra.pk]})
    assert n.demands.count() == 2
    client.post(reverse("demands:lists_need_unlink", args=[n.pk, extra.pk]))
    assert n.demands.count() == 1
    viewer = browser(world, "street_staff")
    assert reverse("demands:lists_need_status", args=[n.pk]) not in page(viewer, "lists_need", n.pk)
    assert (
        viewer.post(reverse("demands:lists_need_status", args=[n.pk]), {"status": "met"}).status_code == 302
    )
    n.refresh_from_db()
    assert n.status == NeedStatus.SERVING


def test_publish_edit_claim_and_finish_an_item_from_the_console(world):
    n = need(world)
    client = browser(world, "staff")
    form = page(client, "lists_service_new", community=world.areas["a1"].pk, need=n.pk)
    assert f'value="{n.pk}" id="n-{n.pk}" checked' in form
    bad = client.post(
        reverse("demands:lists_service_new"), {"community": world.areas["a1"].pk, "title": "", "places": "0"}
    )
    assert bad.status_code == 400
    assert "请填写服务项目名称" in bad.content.decode()
    assert not ServiceItem.objects.exists()
    response = client.post(
        reverse("demands:lists_service_new"),
        {
            "community": world.areas["a1"].pk,
            "title": "上门疏通",
            "places": "2",
            "needs": [n.pk],
            "category": "",
        },
    )
    it = ServiceItem.objects.get()
    assert response["Location"] == reverse("demands:lists_service", args=[it.pk])
    client.post(
        reverse("demands:lists_service_edit", args=[it.pk]),
        {"title": "周末上门疏通", "places": "3", "needs": [n.pk], "category": "drain"},
    )
    it.refresh_from_db()
    assert (it.title, it.places, it.category.code) == ("周末上门疏通", 3, "drain")
    detail = page(client, "lists_service", it.pk)
    assert "3栋第1组" in detail  # staff may claim for the community's teams
    client.post(
        reverse("demands:lists_service_claim", args=[it.pk]),
        {"kind": "team", "team": world.teams["a1_team"].pk},
    )
    c = ServiceClaim.objects.get()
    assert c.team == world.teams["a1_team"]
    client.post(reverse("demands:lists_service_done", args=[it.pk]))
    it.refresh_from_db()
    n.refresh_from_db()
    assert (it.status, n.status) == (ServiceItemStatus.DONE, NeedStatus.MET)
    listed = page(client, "lists_services", status="done")
    assert "周末上门疏通" in listed


def test_a_work_unit_claims_and_withdraws_from_the_console(world):
    it = item(world)
    paired(world, "u1", "a1")
    client = browser(world, "unit_organiser")
    html = page(client, "lists_services")
    assert "以单位名义认领" in html
    client.post(
        reverse("demands:lists_service_claim", args=[it.pk]),
        {"kind": "work_unit", "work_unit": world.units["u1"].pk},
    )
    c = ServiceClaim.objects.get()
    assert c.work_unit == world.units["u1"]
    assert "本单位已认领" in page(client, "lists_services")
    client.post(reverse("demands:lists_claim_withdraw", args=[c.pk]))
    c.refresh_from_db()
    assert c.withdrawn_at is not None


def test_a_member_claims_and_withdraws_on_the_phone(world):
    it = item(world, places_=1, title="陪老人去医院")
    item(world, "a2", title="别的社区的服务")
    client = browser(world, "member")
    html = page(client, "lists_my_services")
    assert "陪老人去医院" in html
    assert "别的社区的服务" not in html
    assert "以“3栋第1组”名义认领" in html  # they lead that team
    response = client.post(reverse("demands:lists_my_claim", args=[it.pk]), {"kind": "member"}, follow=True)
    assert "认领成功" in response.content.decode()
    c = ServiceClaim.objects.get()
    assert "我已认领" in response.content.decode()
    twice = client.post(reverse("demands:lists_my_claim", args=[it.pk]), {"kind": "member"}, follow=True)
    assert "已经认领过这个服务项目了" in twice.content.decode()
    other = browser(world, "other_member")
    assert other.post(reverse("demands:lists_my_claim", args=[it.pk])).status_code == 404
    assert other.post(reverse("demands:lists_my_withdraw", args=[c.pk])).status_code == 404
    client.post(reverse("demands:lists_my_withdraw", args=[c.pk]))
    c.refresh_from_db()
    assert c.withdrawn_at is not None
    lonely = page(browser(world, "outsider"), "lists_my_services")
    assert "报到后就能认领服务" in lonely


# --- query-count guards ---------------------------------------------------------------------------------


@pytest.fixture
def busy_a1(world):
    """A community with many members, needs, items and claims."""
    for i in range(12):
        reporting(
            world, f"r{i}", f"党员{i:02d}", "a1_202", skills=("医疗", f"专长{i % 4}"), free_time=("weekend",)
        )
    for i in range(8):
        n = need(world, title=f"需求{i}")
        n.demands.add(demand(world), demand(world))
        it = item(world, title=f"服务{i}", places_=5)
        it.needs.add(n)
        claim(it, member=world.members[f"r{i}"])
    for _ in range(6):
        demand(world, "a1_bldg2", code="noise")
    return world


@pytest.mark.parametrize(
    ("name", "who", "most"),
    [
        ("lists_resources", "staff", 6),
        ("lists_needs", "staff", 7),
        ("lists_services", "staff", 8),
        ("lists_services", "unit_organiser", 8),
        ("lists_my_services", "member", 6),
    ],
)
def test_list_pages_take_a_fixed_number_of_queries(busy_a1, django_assert_max_num_queries, name, who, most):
    client = browser(busy_a1, who)
    client.get(reverse(f"demands:{name}"))  # warm up the session
    with django_assert_max_num_queries(most):
        response = client.get(reverse(f"demands:{name}"))
    assert response.status_code == 200


def test_the_need_page_takes_a_fixed_number_of_queries(busy_a1, django_assert_max_num_queries):
    n = Need.objects.first()
    client = browser(busy_a1, "staff")
    client.get(reverse("demands:lists_need", args=[n.pk]))
    with CaptureQueriesContext(connection) as small:
        client.get(reverse("demands:lists_need", args=[n.pk]))
    n.demands.add(*[demand(busy_a1) for _ in range(10)])
    with django_assert_max_num_queries(len(small)):
        assert client.get(reverse("demands:lists_need", args=[n.pk])).status_code == 200

"""The three rates (响应率, 解决率, 满意率) and the average times, per estate, community and street.

Demands are walked through the real services at frozen times, and every figure is checked against a
count made by hand from the story below. The figures come from the rollup rows only.

March 2025, drain category (respond within 24 h, resolve within 72 h):
  in A1's estate
    d1  received 3-03 09:00, accepted +2 h, resolved +24 h, rated satisfied
    d2  received 3-05 09:00, accepted +28 h (late), resolved +120 h (late), rated basically satisfied
    d3  received 3-10 09:00, declined +1 h
    d4  received 3-12 09:00, accepted +4 h, resolved +24 h, rated unsatisfied
    d5  received 3-31 23:30 (the month's last half hour), not answered yet
  on community A1 itself (no estate)
    d6  received 3-15 09:00, accepted +1 h, not resolved
  in A2's estate
    d7  received 3-20 09:00, assigned +3 h, resolved +24 h, rated satisfied (staff call-back)
  April
    d8  received 4-01 00:10 in A1's estate (still March 31 in UTC), not answered
"""

from contextlib import contextmanager
from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from huijia.accounts.scope import ANONYMOUS
from huijia.accounts.tests.test_api import as_user
from huijia.core.errors import InvalidInput, NotFound
from huijia.demands import rates
from huijia.demands import services as s
from huijia.demands.models import DemandRollup
from huijia.demands.rates import (
    Rates,
    rates_by_child,
    rates_by_month,
    rates_for,
    rates_visible,
    resolve_period,
)
from huijia.grid.models import Area
from huijia.grid.services import _new_area

TZ = ZoneInfo("Asia/Shanghai")
MARCH = (date(2025, 3, 1), date(2025, 3, 31))
H = 3600


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=TZ)


@contextmanager
def at(when: datetime):
    with mock.patch("django.utils.timezone.now", return_value=when):
        yield


def submit(world, place: str, when: datetime, text: str = "楼下下水道堵了，污水冒出来"):
    with at(when):
        return s.submit_demand(
            actor=ANONYMOUS,
            data=s.DemandInput(
                description=text, area_id=world.areas[place].pk, category_code="drain", reporter_name="张阿姨"
            ),
        )


def accept(world, demand, when, who="staff"):
    with at(when):
        s.accept_demand(actor=world.actor(who), demand_id=demand.pk)


def resolve(world, demand, when, who="staff"):
    with at(when):
        s.resolve_demand(actor=world.actor(who), demand_id=demand.pk, resolution="已疏通")


def rate(demand, rating, when, comment=""):
    with at(when):
        s.rate_demand(actor=None, rating=rating, comment=comment, tracking_code=demand.tracking_code)


@pytest.fixture
def story(world):
    """The demands of the module docstring, walked through the services."""
    d = {}
    d[1] = submit(world, "a1_estate", t(3, 3, 9))
    accept(world, d[1], t(3, 3, 11))
    resolve(world, d[1], t(3, 4, 9))
    rate(d[1], "satisfied", t(3, 4, 12))
    d[2] = submit(world, "a1_estate", t(3, 5, 9))
    accept(world, d[2], t(3, 6, 13))
    resolve(world, d[2], t(3, 10, 9))
    rate(d[2], "basic", t(3, 10, 12))
    d[3] = submit(world, "a1_estate", t(3, 10, 9), "想问问物业费怎么交")
    with at(t(3, 10, 10)):
        s.decline_demand(actor=world.actor("staff"), demand_id=d[3].pk, reason="属于物业公司业务，已告知电话")
    d[4] = submit(world, "a1_estate", t(3, 12, 9))
    accept(world, d[4], t(3, 12, 13))
    resolve(world, d[4], t(3, 13, 9))
    rate(d[4], "unsatisfied", t(3, 13, 12), comment="还是有味道")
    d[5] = submit(world, "a1_estate", t(3, 31, 23, 30))
    d[6] = submit(world, "a1", t(3, 15, 9))
    accept(world, d[6], t(3, 15, 10))
    d[7] = submit(world, "a2_estate", t(3, 20, 9))
    with at(t(3, 20, 12)):
        s.assign_demand(
            actor=world.actor("other_staff"),
            demand_id=d[7].pk,
            kind="branch",
            target_id=world.areas["a2_estate"].pk,
        )
    resolve(world, d[7], t(3, 21, 9), who="other_staff")
    with at(t(3, 21, 15)):
        s.rate_demand(actor=world.actor("other_staff"), rating="satisfied", demand_id=d[7].pk)
    d[8] = submit(world, "a1_estate", t(4, 1, 0, 10))
    return d


def counts(r: Rates) -> dict:
    return {
        "received": r.received,
        "responded": r.responded,
        "responded_in_time": r.responded_in_time,
        "declined": r.declined,
        "resolved": r.resolved,
        "resolved_in_time": r.resolved_in_time,
        "rated": r.rated,
        "satisfied": r.satisfied,
    }


# --- the figures, against a hand count ------------------------------------------------------------


def test_an_estate_in_march(world, story):
    r = rates_for(world.areas["a1_estate"].pk, *MARCH)
    assert counts(r) == {
        "received": 5,
        "responded": 4,
        "responded_in_time": 3,  # d2 answered after 28 h
        "declined": 1,
        "resolved": 3,
        "resolved_in_time": 2,  # d2 resolved after 120 h
        "rated": 3,
        "satisfied": 2,  # satisfied and basically satisfied
    }
    assert r.accepted == 4
    assert r.response_rate == pytest.approx(4 / 5)
    assert r.on_time_response_rate == pytest.approx(3 / 4)
    assert r.resolution_rate == pytest.approx(3 / 4)  # resolved / (received - declined)
    assert r.on_time_resolution_rate == pytest.approx(2 / 3)
    assert r.satisfaction_rate == pytest.approx(2 / 3)
    assert r.avg_respond_hours == pytest.approx((2 + 28 + 1 + 4) / 4)
    assert r.avg_resolve_hours == pytest.approx((24 + 120 + 24) / 3)
    assert (r.unanswered, r.in_hand) == (1, 1)


def test_a_community_counts_its_estates_and_what_was_placed_on_it(world, story):
    r = rates_for(world.areas["a1"].pk, *MARCH)
    assert counts(r) == {
        "received": 6,
        "responded": 5,
        "responded_in_time": 4,
        "declined": 1,
        "resolved": 3,
        "resolved_in_time": 2,
        "rated": 3,
        "satisfied": 2,
    }
    assert r.response_rate == pytest.approx(5 / 6)
    assert r.resolution_rate == pytest.approx(3 / 5)
    assert r.satisfaction_rate == pytest.approx(2 / 3)
    assert r.avg_respond_hours == pytest.approx((2 + 28 + 1 + 4 + 1) / 5)
    assert r.avg_resolve_hours == pytest.approx(56.0)


def test_a_street_and_its_communities_side_by_side(world, story):
    street = rates_for(world.areas["street_a"].pk, *MARCH)
    assert counts(street) == {
        "received": 7,
        "responded": 6,
        "responded_in_time": 5,
        "declined": 1,
        "resolved": 4,
        "resolved_in_time": 3,
        "rated": 4,
        "satisfied": 3,
    }
    assert street.response_rate == pytest.approx(6 / 7)
    assert street.resolution_rate == pytest.approx(4 / 6)
    assert street.satisfaction_rate == pytest.approx(3 / 4)
    assert street.avg_respond_hours == pytest.approx((2 + 28 + 1 + 4 + 1 + 3) / 6)
    assert street.avg_resolve_hours == pytest.approx((24 + 120 + 24 + 24) / 4)
    children = rates_by_child(world.areas["street_a"].pk, *MARCH)
    assert [c.area.name for c in children] == ["识字岭社区", "燕子岭社区"]
    a1, a2 = (c.rates for c in children)
    assert counts(a1) == counts(rates_for(world.areas["a1"].pk, *MARCH))
    assert (a2.received, a2.response_rate, a2.resolution_rate, a2.satisfaction_rate) == (1, 1.0, 1.0, 1.0)
    assert (a2.avg_respond_hours, a2.avg_resolve_hours) == (3.0, 24.0)
    assert rates.placed_on_area_itself(street, children) == Rates()
    # city and district count the same seven demands; the other street has none
    assert counts(rates_for(world.areas["city"].pk, *MARCH)) == counts(street)
    by_street = {c.area.name: c.rates for c in rates_by_child(world.areas["district"].pk, *MARCH)}
    assert by_street["定王台街道"] == Rates()
    assert by_street["定王台街道"].response_rate is None


def test_demands_placed_on_the_community_itself_are_shown_apart(world, story):
    total = rates_for(world.areas["a1"].pk, *MARCH)
    children = rates_by_child(world.areas["a1"].pk, *MARCH)
    assert [c.area.name for c in children] == ["识字岭社区幸福小区"]
    own = rates.placed_on_area_itself(total, children)
    assert (own.received, own.responded, own.resolved, own.respond_seconds) == (1, 1, 0, 1 * H)


def test_the_last_day_of_a_month_counts_in_that_month_in_local_time(world, story):
    estate = world.areas["a1_estate"].pk
    assert rates_for(estate, date(2025, 3, 31), date(2025, 3, 31)).received == 1  # d5, 23:30
    april = rates_for(estate, date(2025, 4, 1), date(2025, 4, 30))
    assert april.received == 1  # d8, 00:10 in Changsha, still 3-31 in UTC
    assert (april.response_rate, april.resolution_rate, april.satisfaction_rate) == (0.0, 0.0, None)
    assert rates_for(estate, date(2025, 3, 1), date(2025, 3, 30)).received == 4
    months = rates_by_month(estate, date(2025, 2, 1), date(2025, 4, 30))
    assert [(m.month, m.rates.received) for m in months] == [
        (date(2025, 2, 1), 0),
        (date(2025, 3, 1), 5),
        (date(2025, 4, 1), 1),
    ]
    assert months[1].rates == rates_for(estate, *MARCH)


def test_later_steps_count_on_the_day_the_demand_came_in(world, story):
    """d6 of March 15 resolved in May: March's resolution rate moves, May's has nothing."""
    resolve(world, story[6], t(5, 6, 9))
    assert rates_for(world.areas["a1"].pk, *MARCH).resolved == 4
    assert rates_for(world.areas["a1"].pk, date(2025, 5, 1), date(2025, 5, 31)) == Rates()


def test_merged_demands_count_as_accepted_and_resolve_with_their_main_one(world):
    main = submit(world, "a1_estate", t(6, 2, 9))
    twin = submit(world, "a1_estate", t(6, 2, 10), "下水道又堵了")
    with at(t(6, 2, 11)):
        s.merge_demands(actor=world.actor("staff"), into_id=main.pk, demand_ids=[twin.pk])
    june = (date(2025, 6, 1), date(2025, 6, 30))
    r = rates_for(world.areas["a1_estate"].pk, *june)
    assert (r.received, r.responded, r.accepted, r.resolved) == (2, 1, 2, 0)
    accept(world, main, t(6, 2, 12))
    resolve(world, main, t(6, 3, 9))
    r = rates_for(world.areas["a1_estate"].pk, *june)
    assert (r.responded, r.resolved, r.resolution_rate) == (2, 2, 1.0)


def test_a_reopened_demand_is_not_resolved_until_resolved_again(world):
    d = submit(world, "a1_estate", t(6, 2, 9))
    accept(world, d, t(6, 2, 10))
    resolve(world, d, t(6, 3, 9))
    june = (date(2025, 6, 1), date(2025, 6, 30))
    assert rates_for(world.areas["a1_estate"].pk, *june).resolution_rate == 1.0
    with at(t(6, 4, 9)):
        s.reopen_demand(actor=None, reason="还是堵", tracking_code=d.tracking_code)
    r = rates_for(world.areas["a1_estate"].pk, *june)
    assert (r.resolved, r.resolve_seconds, r.resolution_rate) == (0, 0, 0.0)


def test_an_empty_period_has_no_rates_rather_than_zero(world):
    r = rates_for(world.areas["a1"].pk, date(2024, 1, 1), date(2024, 12, 31))
    assert r == Rates()
    assert r.response_rate is r.resolution_rate is r.satisfaction_rate is None
    assert r.on_time_response_rate is r.on_time_resolution_rate is None
    assert r.avg_respond_hours is r.avg_resolve_hours is None


def test_the_figures_never_read_the_demand_table(world, story, django_assert_num_queries):
    area = world.areas["street_a"].pk
    with django_assert_num_queries(1) as one:
        rates_for(area, date(2024, 4, 1), date(2025, 3, 31))
    with django_assert_num_queries(2):  # the children, then one grouped query over their rows
        rates_by_child(area, *MARCH)
    with django_assert_num_queries(1):
        rates_by_month(area, date(2024, 4, 1), date(2025, 3, 31))
    assert '"demands_demand"' not in one.captured_queries[0]["sql"]
    assert "demands_demandrollup" in one.captured_queries[0]["sql"]
    assert (
        DemandRollup.objects.filter(area=world.areas["street_a"]).count() == 8
    )  # one row per day with demands


# --- periods --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "today", "start", "end"),
    [
        ("this_month", date(2025, 3, 15), date(2025, 3, 1), date(2025, 3, 15)),
        ("last_month", date(2025, 3, 15), date(2025, 2, 1), date(2025, 2, 28)),
        ("last_month", date(2025, 1, 9), date(2024, 12, 1), date(2024, 12, 31)),
        ("this_year", date(2025, 3, 15), date(2025, 1, 1), date(2025, 3, 15)),
        ("last_12_months", date(2025, 3, 15), date(2024, 4, 1), date(2025, 3, 15)),
        ("last_12_months", date(2025, 12, 31), date(2025, 1, 1), date(2025, 12, 31)),
        (None, date(2025, 3, 15), date(2025, 3, 1), date(2025, 3, 15)),
    ],
)
def test_preset_periods(key, today, start, end):
    period = resolve_period(key, today=today)
    assert (period.start, period.end) == (start, end)


def test_period_labels():
    assert resolve_period("last_month", today=date(2025, 3, 15)).label == "2025年2月"
    assert resolve_period(start="2025-01-01", end="2025-03-31").label == "2025年1月1日至2025年3月31日"
    assert resolve_period(start="2025-01-01", end="2025-03-31").spans_months
    assert not resolve_period("this_month", today=date(2025, 3, 15)).spans_months


def test_custom_dates_win_and_may_span_three_years():
    period = resolve_period("this_month", "2023-01-01", "2025-12-31", today=date(2025, 3, 15))
    assert (period.key, period.start, period.end) == ("custom", date(2023, 1, 1), date(2025, 12, 31))


@pytest.mark.parametrize(
    ("key", "start", "end", "field", "message"),
    [
        ("custom", "", "", "start", "请填写开始日期"),
        (None, "2025-03-01", None, "end", "请填写结束日期"),
        (None, "2025-03-31", "2025-03-01", "end", "开始日期不能晚于结束日期"),
        (None, "2022-01-01", "2025-03-01", "start", "统计时段最长3年，请缩短时段"),
        (None, "2025/03/01", "2025-03-31", "start", "日期格式不正确"),
        (None, "2025-02-30", "2025-03-31", "start", "日期格式不正确"),
        ("last_week", None, None, "period", "没有这个统计时段"),
    ],
)
def test_bad_periods_say_what_is_wrong(key, start, end, field, message):
    with pytest.raises(InvalidInput) as caught:
        resolve_period(key, start, end, today=date(2025, 3, 15))
    assert message in caught.value.message
    assert list(caught.value.fields) == [field]


# --- scope ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "seen", "unseen"),
    [
        ("org_dept", ["city", "district", "street_b", "a2_estate"], []),
        ("street_staff", ["street_a", "a1", "a2", "a2_estate"], ["district", "street_b", "b1"]),
        ("staff", ["a1", "a1_estate"], ["street_a", "a2", "a2_estate"]),
        ("estate_secretary", ["a1_estate"], ["a1", "a2_estate"]),
        ("building_head", [], ["a1_estate", "a1"]),
        ("member", [], ["a1", "a1_estate"]),
        ("resident", [], ["a1", "a1_estate"]),
        ("unit_organiser", [], ["a1"]),
        ("outsider", [], ["a1"]),
    ],
)
def test_who_may_see_the_rates_of_which_area(world, who, seen, unseen):
    actor = world.actor(who)
    for key in seen:
        assert rates_visible(actor, world.areas[key].pk) == world.areas[key]
    for key in unseen:
        with pytest.raises(NotFound):
            rates_visible(actor, world.areas[key].pk)


RATE_AREAS = [
    "city",
    "district",
    "street_a",
    "street_b",
    "a1",
    "a2",
    "b1",
    "a1_estate",
    "a2_estate",
    "b1_estate",
]
REACH = {
    "org_dept": set(RATE_AREAS),
    "street_staff": {"street_a", "a1", "a2", "a1_estate", "a2_estate"},
    "staff": {"a1", "a1_estate"},
    "other_staff": {"a2", "a2_estate"},
    "estate_secretary": {"a1_estate"},
}
NO_ROLE = ["member", "pending_member", "other_member", "resident", "outsider"]


@pytest.mark.parametrize("who", [*REACH, "building_head", "unit_organiser", *NO_ROLE])
def test_every_actor_reaches_exactly_their_areas_through_the_api_and_the_page(world, who):
    api, page = as_user(world, who), browser(world, who)
    reached = {
        key for key in RATE_AREAS if api.get("/rates", {"area_id": world.areas[key].pk}).status_code == 200
    }
    assert reached == REACH.get(who, set())
    shown = {key for key in RATE_AREAS if page.get(URL, {"area": world.areas[key].pk}).status_code == 200}
    assert shown == REACH.get(who, set())
    if who in NO_ROLE:
        assert page.get(URL).status_code == 403


def test_unknown_areas_and_buildings(world):
    staff = world.actor("staff")
    for bad in (999999, "abc", None):
        with pytest.raises(NotFound):
            rates_visible(staff, bad)
    with pytest.raises(InvalidInput) as caught:
        rates_visible(staff, world.areas["a1_bldg"].pk)
    assert "楼栋不单独统计" in caught.value.message
    with pytest.raises(NotFound):  # someone else's building is simply not found
        rates_visible(staff, world.areas["a2_bldg"].pk)


def test_the_default_area_is_the_highest_one_granted(world):
    assert [a.pk for a in rates.rate_roots(world.actor("street_staff"))] == [world.areas["street_a"].pk]
    assert [a.pk for a in rates.rate_roots(world.actor("estate_secretary"))] == [world.areas["a1_estate"].pk]
    assert rates.rate_roots(world.actor("building_head")) == []
    assert rates.rate_roots(world.actor("unit_organiser")) == []


# --- the page -------------------------------------------------------------------------------------

URL = "/console/demands/rates/"
MARCH_QUERY = {"period": "custom", "start": "2025-03-01", "end": "2025-03-31"}


def browser(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def test_the_page_shows_the_three_rates_the_counts_and_the_estates(world, story):
    assert reverse("demands:rates") == URL
    response = browser(world, "staff").get(URL, {"area": world.areas["a1"].pk, **MARCH_QUERY})
    assert response.status_code == 200
    html = response.content.decode()
    assert "诉求三率 · 识字岭社区" in html
    assert "不是排名" in html
    assert "83.3%" in html  # response 5 / 6
    assert "已响应 5 件 / 收到 6 件" in html
    assert "60.0%" in html  # resolution 3 / (6 - 1)
    assert "已办结 3 件 / 受理 5 件" in html
    assert "66.7%" in html  # satisfaction 2 / 3
    assert "满意和基本满意 2 件 / 已评价 3 件" in html
    assert "7.2 小时" in html  # average time to respond
    assert "2.3 天" in html  # 56 h to resolve
    assert "各小区对比" in html
    assert "识字岭社区幸福小区" in html
    assert "80.0%" in html  # the estate's response rate 4 / 5
    assert "直接登记在识字岭社区（未落到小区）" in html
    assert 'id="rates-chart-data"' not in html  # one month: no chart


def test_the_street_page_drills_down_and_charts_months(world, story):
    client = browser(world, "street_staff")
    query = {"period": "custom", "start": "2025-01-01", "end": "2025-04-30"}
    html = client.get(URL, query).content.decode()  # the street by default
    assert "诉求三率 · 文艺路街道" in html
    assert "各社区对比" in html
    assert (
        f'href="?area={world.areas["a2"].pk}&amp;period=custom&amp;start=2025-01-01&amp;end=2025-04-30"'
        in html
    )
    assert 'id="rates-chart-data"' in html
    assert "echarts.common.min.js" in html
    assert "2025年4月" in html  # the monthly table
    estate = client.get(URL, {"area": world.areas["a2_estate"].pk, **query}).content.decode()
    assert "诉求三率 · 燕子岭社区幸福小区" in estate
    assert "100.0%" in estate
    assert "楼栋不再分开统计" in estate
    crumbs = estate.split('class="crumbs"')[1].split("</nav>")[0]
    assert "文艺路街道" in crumbs
    assert "燕子岭社区" in crumbs


def test_an_empty_period_shows_dashes(world, story):
    html = (
        browser(world, "staff")
        .get(
            URL,
            {"area": world.areas["a1"].pk, "period": "custom", "start": "2024-01-01", "end": "2024-01-31"},
        )
        .content.decode()
    )
    assert "这一时段没有收到诉求" in html
    for rate_id in ("rate-response", "rate-resolution", "rate-satisfaction"):
        block = html.split(f'id="{rate_id}"')[1].split("</div>")[0]
        assert '<div class="n">—' in block


def test_the_default_period_is_this_month(world, story):
    with at(t(3, 20, 10)):
        html = browser(world, "estate_secretary").get(URL).content.decode()
    assert "2025年3月1日至2025年3月20日收到的诉求" in html
    assert "已响应 4 件 / 收到 4 件" in html  # d1-d4; d5 comes on the 31st


def test_out_of_scope_areas_are_not_found_and_bad_input_is_explained(world, story):
    staff = browser(world, "staff")
    assert staff.get(URL, {"area": world.areas["a2"].pk}).status_code == 404
    assert staff.get(URL, {"area": world.areas["street_a"].pk}).status_code == 404
    assert staff.get(URL, {"area": "abc"}).status_code == 404
    building = staff.get(URL, {"area": world.areas["a1_bldg"].pk})
    assert building.status_code == 400
    assert "楼栋不单独统计" in building.content.decode()
    late = staff.get(
        URL, {"area": world.areas["a1"].pk, "period": "custom", "start": "2025-03-31", "end": "2025-03-01"}
    )
    assert late.status_code == 400
    assert "开始日期不能晚于结束日期" in late.content.decode()
    assert 'value="2025-03-31"' in late.content.decode()  # the form as sent


def test_who_reaches_the_page(world):
    assert browser(world, "member").get(URL).status_code == 403
    assert browser(world, "resident").get(URL).status_code == 403
    assert browser(world, "outsider").get(URL).status_code == 403
    assert Client().get(URL).status_code == 302
    nothing = browser(world, "building_head").get(URL)
    assert nothing.status_code == 200
    assert "没有可以统计三率的区域" in nothing.content.decode()
    assert "没有可以统计三率的区域" in browser(world, "unit_organiser").get(URL).content.decode()


def _options(html: str) -> list[str]:
    select = html.split('id="f-area"')[1].split("</select>")[0]
    return [part.split(">", 1)[1].split("<")[0].strip("\u3000") for part in select.split("<option")[1:]]


def test_the_picker_lists_the_areas_in_scope_down_to_estates(world, monkeypatch):
    html = browser(world, "street_staff").get(URL).content.decode()
    assert _options(html) == [
        "文艺路街道",
        "识字岭社区",
        "识字岭社区幸福小区",
        "燕子岭社区",
        "燕子岭社区幸福小区",
    ]
    assert _options(browser(world, "staff").get(URL).content.decode()) == ["识字岭社区", "识字岭社区幸福小区"]
    # a city has thousands: then the picker shows the way down to the chosen area and its children
    monkeypatch.setattr(rates, "PICKER_LIMIT", 3)
    html = browser(world, "org_dept").get(URL, {"area": world.areas["street_a"].pk}).content.decode()
    assert _options(html) == ["长沙市", "芙蓉区", "文艺路街道", "识字岭社区", "燕子岭社区"]
    assert "选择框只列出上级和下级区域" in html


def _more_estates(world, n: int) -> None:
    for i in range(n):
        estate = _new_area(parent=world.areas["a1"], kind="estate", name=f"新增小区{i}{Area.objects.count()}")
        world.areas[f"extra{estate.pk}"] = estate
        d = submit(world, f"extra{estate.pk}", t(2, 10 + i, 9))
        accept(world, d, t(2, 10 + i, 10))


def test_the_page_takes_a_fixed_small_number_of_queries(world, story, django_assert_max_num_queries):
    client = browser(world, "street_staff")
    query = {"area": world.areas["a1"].pk, "period": "custom", "start": "2025-01-01", "end": "2025-04-30"}
    client.get(URL, query)  # warm the session
    with CaptureQueriesContext(connection) as first:
        assert client.get(URL, query).status_code == 200
    assert len(first) <= 12
    assert not any('"demands_demand"' in q["sql"] for q in first.captured_queries)
    _more_estates(world, 4)
    with django_assert_max_num_queries(len(first)):
        html = client.get(URL, query).content.decode()
    assert html.count('class="name" href="?area=') == 5


# --- the API --------------------------------------------------------------------------------------


def test_the_api_gives_the_rates_of_an_area(world, story):
    body = as_user(world, "staff").get("/rates", {"area_id": world.areas["a1"].pk, **MARCH_QUERY}).json()
    assert body["area"] == {
        "id": world.areas["a1"].pk,
        "name": "识字岭社区",
        "kind": "community",
        "kind_label": "社区",
    }
    assert body["period"] == {
        "key": "custom",
        "start": "2025-03-01",
        "end": "2025-03-31",
        "label": "2025年3月",
    }
    assert (body["received"], body["accepted"], body["responded"], body["resolved"], body["rated"]) == (
        6,
        5,
        5,
        3,
        3,
    )
    assert body["response_rate"] == round(5 / 6, 4)
    assert body["resolution_rate"] == 0.6
    assert body["satisfaction_rate"] == round(2 / 3, 4)
    assert body["avg_respond_hours"] == 7.2
    assert body["avg_resolve_hours"] == 56.0


def test_the_api_compares_the_children_and_lists_months(world, story):
    street = as_user(world, "street_staff")
    body = street.get("/rates/children", {"area_id": world.areas["street_a"].pk, **MARCH_QUERY}).json()
    assert [(i["area"]["name"], i["received"], i["response_rate"]) for i in body["items"]] == [
        ("识字岭社区", 6, round(5 / 6, 4)),
        ("燕子岭社区", 1, 1.0),
    ]
    assert body["placed_on_area"] is None
    community = street.get("/rates/children", {"area_id": world.areas["a1"].pk, **MARCH_QUERY}).json()
    assert community["placed_on_area"]["received"] == 1
    estate = street.get("/rates/children", {"area_id": world.areas["a1_estate"].pk, **MARCH_QUERY}).json()
    assert estate["items"] == []
    assert estate["placed_on_area"] is None
    months = street.get(
        "/rates/months", {"area_id": world.areas["a1_estate"].pk, "start": "2025-02-01", "end": "2025-04-30"}
    ).json()
    assert [(m["month"], m["received"], m["satisfaction_rate"]) for m in months["items"]] == [
        ("2025-02", 0, None),
        ("2025-03", 5, round(2 / 3, 4)),
        ("2025-04", 1, None),
    ]


def test_the_api_refuses_with_the_documented_errors(world, story):
    staff = as_user(world, "staff")
    for path in ("/rates", "/rates/children", "/rates/months"):
        assert staff.get(path, {"area_id": world.areas["a2"].pk}).status_code == 404
        assert as_user(world, "member").get(path, {"area_id": world.areas["a1"].pk}).status_code == 404
    assert staff.get("/rates", {}).status_code == 422
    bad_date = staff.get(
        "/rates", {"area_id": world.areas["a1"].pk, "start": "2025-13-01", "end": "2025-03-01"}
    )
    assert bad_date.status_code == 422
    assert "start" in bad_date.json()["fields"]
    backwards = staff.get(
        "/rates", {"area_id": world.areas["a1"].pk, "start": "2025-03-31", "end": "2025-03-01"}
    )
    assert backwards.status_code == 400
    assert backwards.json()["fields"] == {"end": ["开始日期不能晚于结束日期"]}
    too_long = staff.get(
        "/rates", {"area_id": world.areas["a1"].pk, "start": "2020-01-01", "end": "2025-03-01"}
    )
    assert too_long.json()["code"] == "period_too_long"
    unknown = staff.get("/rates", {"area_id": world.areas["a1"].pk, "period": "forever"})
    assert unknown.status_code == 400
    assert "period" in unknown.json()["fields"]
    building = staff.get("/rates", {"area_id": world.areas["a1_bldg"].pk})
    assert building.status_code == 400
    from huijia.accounts.tests.test_api import ApiClient

    assert ApiClient().get("/rates", {"area_id": world.areas["a1"].pk}).status_code == 401


def test_the_api_takes_a_fixed_small_number_of_queries(world, story, django_assert_max_num_queries):
    staff = as_user(world, "street_staff")
    query = {"area_id": world.areas["a1"].pk, "start": "2024-04-01", "end": "2025-03-31"}
    firsts = {}
    for path in ("/rates", "/rates/children", "/rates/months"):
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get(path, query).status_code == 200
        assert len(ctx) <= 8, path
        assert not any('"demands_demand"' in q["sql"] for q in ctx.captured_queries)
        firsts[path] = len(ctx)
    _more_estates(world, 3)
    for path, first in firsts.items():
        with django_assert_max_num_queries(first):
            staff.get(path, query)
    assert len(staff.get("/rates/children", query).json()["items"]) == 4


def test_the_rates_are_in_the_openapi_document(client):
    doc = client.get("/api/v1/openapi.json").json()
    for path in ("/api/v1/rates", "/api/v1/rates/children", "/api/v1/rates/months"):
        assert {"400", "401", "404", "422"} <= set(doc["paths"][path]["get"]["responses"])


def test_old_and_new_periods_are_independent(world):
    """A demand received a year ago does not move this month's figures when it is resolved now."""
    old = submit(world, "a1_estate", t(1, 5, 9))
    accept(world, old, t(1, 5, 10))
    resolve(world, old, t(1, 5, 10) + timedelta(days=300))
    assert rates_for(world.areas["a1_estate"].pk, date(2025, 10, 1), date(2025, 11, 30)) == Rates()
    january = rates_for(world.areas["a1_estate"].pk, date(2025, 1, 1), date(2025, 1, 31))
    assert (january.resolved, january.resolved_in_time) == (1, 0)
    assert january.avg_resolve_hours == pytest.approx(300 * 24 + 1)  # from receipt at 9:00

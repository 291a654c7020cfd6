"""Similar open demands offered while a demand is typed: same estate (building first), open, similar."""

import pytest

from huijia.demands import duplicates
from huijia.demands.duplicates import similar_open
from huijia.demands.models import Category, Demand, DemandStatus
from huijia.demands.services import DemandInput, submit_demand
from huijia.grid.models import Area

BLOCKED = "3栋1单元门口的下水道堵了，污水冒出来好几天了"


def report(world, text: str, place: str = "a1_bldg", category: str = "") -> Demand:
    data = DemandInput(description=text, area_id=world.areas[place].pk, category_code=category)
    return submit_demand(actor=world.actor("resident"), data=data)


def found(world, text: str, place: str = "a1_bldg", category: str | None = None, **kw) -> list[int]:
    cat = Category.objects.get(code=category) if category else None
    return [d.pk for d in similar_open(text, world.areas[place], cat, **kw)]


def test_the_same_problem_in_other_words_is_found_and_unrelated_text_is_not(world):
    drain = report(world, BLOCKED)
    light = report(world, "楼道灯坏了，晚上一片黑")
    assert found(world, "下水道又堵塞了，楼下全是污水") == [drain.pk]
    assert found(world, "楼道里的灯不亮，太黑了") == [light.pk]
    assert found(world, "楼上邻居养的狗整夜叫") == []


def test_only_the_estate_of_the_place_is_searched(world):
    here = report(world, BLOCKED, "a1_bldg2")  # another building, same estate
    report(world, BLOCKED, "a2_bldg")
    report(world, BLOCKED, "b1_bldg")
    assert found(world, "下水道堵了，污水冒出来") == [here.pk]
    assert found(world, "下水道堵了，污水冒出来", place="a1_estate") == [here.pk]


def test_the_same_building_ranks_first_among_equally_similar_demands(world):
    elsewhere = report(world, BLOCKED, "a1_bldg2")
    here = report(world, BLOCKED, "a1_bldg")
    newer_elsewhere = report(world, BLOCKED, "a1_bldg2")
    assert found(world, BLOCKED, "a1_bldg") == [here.pk, newer_elsewhere.pk, elsewhere.pk]
    assert found(world, BLOCKED, "a1_bldg2")[:2] == [newer_elsewhere.pk, elsewhere.pk]


def test_closed_declined_resolved_and_merged_demands_are_not_offered(world):
    demands = [report(world, BLOCKED) for _ in range(5)]
    for demand, status in zip(
        demands[1:],
        (DemandStatus.DECLINED, DemandStatus.RESOLVED, DemandStatus.CLOSED, DemandStatus.MERGED),
        strict=True,
    ):
        Demand.objects.filter(pk=demand.pk).update(status=status)
    for status in (DemandStatus.ACCEPTED, DemandStatus.ASSIGNED, DemandStatus.IN_PROGRESS):
        Demand.objects.filter(pk=demands[0].pk).update(status=status)
        assert found(world, BLOCKED) == [demands[0].pk]


def test_a_known_category_narrows_the_search(world):
    drain = report(world, "楼下污水井堵了，冒水", category="drain")
    road = report(world, "楼下污水井井盖坏了", category="road")
    assert set(found(world, "楼下污水井")) == {drain.pk, road.pk}
    assert found(world, "楼下污水井", category="drain") == [drain.pk]


def test_most_similar_first_and_at_most_limit(world):
    far = report(world, "下水道有点堵，返臭")
    near = report(world, "门口下水道堵了，污水冒出来")
    same = report(world, BLOCKED)
    assert found(world, BLOCKED) == [same.pk, near.pk, far.pk]
    assert found(world, BLOCKED, limit=2) == [same.pk, near.pk]
    assert found(world, BLOCKED, limit=0) == []


def test_a_community_place_searches_the_community(world):
    at_community = report(world, BLOCKED, "a1")
    in_estate = report(world, BLOCKED, "a1_bldg")
    assert set(found(world, BLOCKED, "a1")) == {at_community.pk, in_estate.pk}
    assert found(world, BLOCKED, "street_a") == []


@pytest.mark.parametrize("text", ["", "   ", None, "12345", "<p></p>", "麻烦谢谢"])
def test_nothing_to_compare_offers_nothing(world, text):
    report(world, BLOCKED)
    assert found(world, text) == []


def test_html_in_the_typed_text_is_harmless(world):
    drain = report(world, BLOCKED)
    assert found(world, "<script>alert(1)</script><b>下水道堵了</b>污水冒出来") == [drain.pk]


def test_only_the_newest_candidates_are_read(world, monkeypatch):
    oldest = report(world, BLOCKED)
    newer = [report(world, BLOCKED) for _ in range(2)]
    monkeypatch.setattr(duplicates, "CANDIDATES", 2)
    assert oldest.pk not in found(world, BLOCKED)
    assert set(found(world, BLOCKED)) == {d.pk for d in newer}


def test_two_queries_at_most(world, django_assert_max_num_queries):
    for i in range(12):
        report(world, f"{i}号下水道堵了，污水冒出来")
    area = world.areas["a1_bldg"]
    with django_assert_max_num_queries(2):
        offered = similar_open(BLOCKED, area)
        assert all(d.area.name and d.category.name for d in offered)
    assert len(offered) == 5


def test_an_area_loaded_with_only_its_path_and_kind_costs_no_extra_query(world, django_assert_num_queries):
    drain = report(world, BLOCKED)
    building = Area.objects.only("pk", "path", "kind").get(pk=world.areas["a1_bldg"].pk)
    with django_assert_num_queries(2):
        assert [d.pk for d in similar_open(BLOCKED, building)] == [drain.pk]


def test_similarity_is_a_weighted_cosine_of_bigrams_and_characters():
    a, b = duplicates.shingles("下水道堵了"), duplicates.shingles("下水道堵塞")
    assert a == {"下水", "水道", "道堵", "堵了", "下", "水", "道", "堵"}  # 了 alone says nothing
    shared, norm_a, norm_b = 3 + 4 * 0.5, 4 + 4 * 0.5, 4 + 5 * 0.5
    assert duplicates.similarity(a, b) == pytest.approx(shared / (norm_a * norm_b) ** 0.5)
    assert duplicates.similarity(a, a) == pytest.approx(1.0)
    assert duplicates.similarity(a, duplicates.shingles("路灯不亮")) == 0.0
    assert duplicates.shingles("灯") == {"灯"}


def test_the_public_form_is_never_offered_a_demand_about_one_household(world):
    stairwell = report(world, BLOCKED)
    at_home = submit_demand(
        actor=world.actor("resident"),
        data=DemandInput(description=BLOCKED + "，家里反水", household_id=world.households["a1_201"].pk),
    )
    assert set(found(world, BLOCKED)) == {stairwell.pk, at_home.pk}  # staff see both
    assert found(world, BLOCKED, public=True) == [stairwell.pk]

"""The category suggested from a demand's Chinese text, and how staff corrections teach it."""

import pytest

from huijia.demands import classify
from huijia.demands.catalogue import ensure_categories
from huijia.demands.models import Category, CategoryTerm
from huijia.demands.services import DemandInput, accept_demand, recategorise_demand, submit_demand


@pytest.fixture
def categories(db):
    ensure_categories()
    return {c.code: c for c in Category.objects.all()}


def suggested(text: str) -> str | None:
    category = classify.suggest_category(text)
    return category.code if category else None


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("下水道堵了", "drain"),
        ("厨房地漏反水，污水冒出来了", "drain"),
        ("路灯不亮", "streetlight"),
        ("3栋楼道灯坏了，晚上很黑", "streetlight"),
        ("楼上装修太吵", "noise"),
        ("晚上广场舞音响声音太大，影响休息", "noise"),
        ("独居老人需要助餐", "elderly"),
        ("电梯又坏了，早上困人", "elevator"),
        ("小区东门垃圾堆放没人清运，味道很臭", "garbage"),
        ("家里停水两天了", "utilities"),
        ("电动车在楼道里充电，私拉电线很危险", "safety"),
        ("有车长期乱停在单元门口挡路", "parking"),
        ("想咨询一下拖欠工资怎么维权", "legal"),
        ("孩子放暑假没人照看，想找托管辅导作业", "children"),
        ("路面塌陷一个大坑", "road"),
    ],
)
def test_typical_texts_land_in_their_category(categories, text, code):
    assert suggested(text) == code


@pytest.mark.parametrize("text", ["", "   ", None, "你好", "谢谢", "12345 abc", "！？。"])
def test_nothing_to_go_on_suggests_nothing(categories, text):
    assert classify.suggest_category(text) is None


def test_html_in_the_text_is_read_as_text_and_teaches_no_markup(categories):
    text = '<script>alert("x")</script><b onclick="steal()">下水道</b>堵了'
    assert suggested(text) == "drain"
    classify.learn(text, categories["drain"].pk)
    learned = set(CategoryTerm.objects.values_list("term", flat=True))
    assert not {"script", "alert", "onclick", "steal", "b"} & learned
    assert "下水道" in learned


def test_a_very_long_text_is_cut_and_learns_a_bounded_number_of_words(categories):
    text = "下水道堵了" + "".join(chr(0x4E00 + i * 37) for i in range(5000))
    assert suggested(text) == "drain"
    classify.learn(text, categories["drain"].pk)
    assert CategoryTerm.objects.filter(category=categories["drain"]).count() <= classify.MAX_TERMS + 2


def test_a_lesson_shifts_the_next_suggestion_and_taking_it_back_restores_it(categories):
    text = "楼上装修太吵"
    assert suggested(text) == "noise"
    classify.learn(text, categories["neighbour"].pk)
    assert suggested("楼上装修太吵了") == "neighbour"
    classify.learn(text, categories["neighbour"].pk, -1)
    assert suggested("楼上装修太吵了") == "noise"


def test_counts_never_go_below_zero(categories):
    classify.learn("下水道堵了", categories["drain"].pk, -1)
    classify.learn("下水道堵了", categories["drain"].pk, -3)
    assert not CategoryTerm.objects.filter(category=categories["drain"], term="下水道").exists()
    classify.learn("下水道堵了", categories["drain"].pk)
    classify.learn("下水道堵了", categories["drain"].pk, -5)
    assert not CategoryTerm.objects.filter(count__lt=0).exists()
    assert suggested("下水道堵了") == "drain"


def test_no_category_or_no_words_teaches_nothing(categories):
    classify.learn("下水道堵了", None)
    classify.learn("", categories["drain"].pk)
    classify.learn("<p></p>", categories["drain"].pk)
    assert not CategoryTerm.objects.exists()


def test_a_suggestion_costs_one_query_once_the_model_is_loaded(categories, django_assert_num_queries):
    suggested("下水道堵了")
    with django_assert_num_queries(1):
        assert suggested("路灯不亮") == "streetlight"


def test_an_edited_category_is_seen_at_once(categories):
    assert suggested("井盖不见了") == "road"
    Category.objects.filter(code="safety").update(keywords=categories["safety"].keywords + " 井盖 井盖丢失")
    Category.objects.filter(code="road").update(active=False)
    assert suggested("井盖不见了") == "safety"


def test_a_staff_correction_on_acceptance_teaches_the_next_suggestion(world):
    """The loop: the resident's text is filed under the suggestion; staff accept it under another
    category; the next resident typing the same problem gets staff's category; moving it back
    after acceptance takes the lesson back."""
    resident, staff = world.actor("resident"), world.actor("staff")
    place = world.areas["a1_bldg"].pk
    first = submit_demand(actor=resident, data=DemandInput(description="楼上装修太吵", area_id=place))
    assert (first.category.code, first.suggested_category.code) == ("noise", "noise")
    accept_demand(actor=staff, demand_id=first.pk, category_code="neighbour")

    second = submit_demand(actor=resident, data=DemandInput(description="楼上装修太吵了！", area_id=place))
    assert second.suggested_category.code == "neighbour"

    recategorise_demand(actor=staff, demand_id=first.pk, category_code="noise")
    third = submit_demand(actor=resident, data=DemandInput(description="楼上装修太吵了！", area_id=place))
    assert third.suggested_category.code == "noise"


def test_an_unknown_word_still_counts_through_the_known_words_inside_it():
    known = {"垃圾": 1, "吵": 1, "灯": 1}
    assert classify.features(["垃圾堆", "太吵", "灯坏"], known) == ["垃圾", "吵", "灯"]
    assert classify.features(["堵"], known) == []

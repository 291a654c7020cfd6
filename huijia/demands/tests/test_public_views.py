"""The resident's side of demands as residents use it: the building QR code, the report form, the
tracking code, the tracking page with confirm-and-rate or reopen, following an already-reported problem,
a signed-in resident's own list, and complaints and suggestions. Staff and member steps in between go
through the services directly (their screens are tested with them)."""

from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from PIL import Image

from huijia.accounts.scope import ANONYMOUS
from huijia.demands import services
from huijia.demands.feedback import FeedbackInput, answer_feedback, submit_feedback
from huijia.demands.models import (
    AssigneeKind,
    Demand,
    DemandPhoto,
    DemandSource,
    DemandStatus,
    Feedback,
    Rating,
)

SCRIPT = '<script>alert("x")</script><b>粗</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt;"
DRAIN = "3栋楼道的下水道堵了，污水冒出来两天了"


def png(name: str = "drain.png") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def signed_in(world, who: str) -> Client:
    client = Client()
    client.force_login(world.users[who])
    return client


def building(world, key: str = "a1_bldg"):
    return world.areas[key]


def report_url(world, key: str = "a1_bldg") -> str:
    return reverse("demands:report", args=[building(world, key).pk])


def post_report(client: Client, world, **fields):
    data = {
        "household": "public",
        "description": DRAIN,
        "category": "",
        "reporter_name": "",
        "reporter_phone": "",
    }
    data.update(fields)
    return client.post(report_url(world, fields.pop("where", "a1_bldg")), data)


def filed(world, text: str = DRAIN, where: str = "a1_bldg", **extra) -> Demand:
    """A demand a resident reported through the services (no account)."""
    data = services.DemandInput(description=text, area_id=building(world, where).pk, **extra)
    return services.submit_demand(actor=ANONYMOUS, data=data)


def resolve(world, demand: Demand, what: str = "已疏通下水道，恢复正常") -> Demand:
    """Staff assign it to the member, who starts and resolves it."""
    staff, member = world.actor("staff"), world.actor("member")
    services.assign_demand(
        actor=staff, demand_id=demand.pk, kind=AssigneeKind.MEMBER, target_id=world.members["member"].pk
    )
    services.start_demand(actor=member, demand_id=demand.pk)
    services.resolve_demand(actor=member, demand_id=demand.pk, resolution=what)
    demand.refresh_from_db()
    return demand


def track(client: Client, demand: Demand):
    return client.get(reverse("demands:track", args=[demand.tracking_code]))


# --- every page renders, and escapes what residents typed ---------------------------------------------


def test_every_resident_page_renders(world, media):
    demand = filed(world, reporter_phone="13812345678")
    item = submit_feedback(
        actor=ANONYMOUS,
        data=FeedbackInput(community_id=world.areas["a1"].pk, kind="suggestion", text="多装路灯"),
    )
    anonymous, resident = Client(), signed_in(world, "resident")
    pages = [
        (anonymous, report_url(world)),
        (anonymous, reverse("demands:reported", args=[demand.tracking_code])),
        (anonymous, reverse("demands:track", args=[demand.tracking_code])),
        (anonymous, reverse("demands:track_lookup")),
        (anonymous, reverse("demands:feedback_new")),
        (anonymous, reverse("demands:feedback_new") + "?q=识字岭"),
        (anonymous, reverse("demands:feedback_new") + f"?community={world.areas['a1'].pk}"),
        (anonymous, reverse("demands:feedback_lookup")),
        (anonymous, reverse("demands:feedback_track", args=[item.tracking_code])),
        (resident, reverse("demands:my_reported")),
        (signed_in(world, "staff"), reverse("demands:building_qr")),
    ]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        assert "<script>alert" not in response.content.decode()


def test_what_residents_type_is_shown_escaped_everywhere(world):
    client = Client()
    response = post_report(client, world, description=SCRIPT, reporter_name="<i>陈</i>")
    demand = Demand.objects.get()
    assert demand.description == SCRIPT  # stored as typed
    for url in (
        response["Location"],
        reverse("demands:track", args=[demand.tracking_code]),
    ):
        html = client.get(url).content.decode()
        assert '<script>alert("x")' not in html
        assert "<b>粗</b>" not in html
    assert ESCAPED in client.get(reverse("demands:track", args=[demand.tracking_code])).content.decode()
    hints = client.post(
        reverse("demands:report_hints", args=[building(world).pk]), {"description": "script 粗"}
    )
    assert ESCAPED in hints.content.decode()  # the similar-problem list shows it escaped too
    resident = signed_in(world, "resident")
    post_report(resident, world, description=SCRIPT)
    html = resident.get(reverse("demands:my_reported")).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;" in html
    item = submit_feedback(
        actor=ANONYMOUS, data=FeedbackInput(community_id=world.areas["a1"].pk, kind="complaint", text=SCRIPT)
    )
    answer_feedback(actor=world.actor("staff"), feedback_id=item.pk, answer="<img src=x onerror=alert(1)>")
    html = client.get(reverse("demands:feedback_track", args=[item.tracking_code])).content.decode()
    assert ESCAPED in html
    assert "<img src=x" not in html


# --- the building QR poster ----------------------------------------------------------------------------


def test_staff_print_one_qr_code_per_building_of_their_community(world):
    html = signed_in(world, "staff").get(reverse("demands:building_qr")).content.decode()
    assert html.count('class="qr-card"') == 2  # 3栋 and 5栋 of the one estate of A1
    for key in ("a1_bldg", "a1_bldg2"):
        assert f"http://127.0.0.1:8000{report_url(world, key)}" in html or report_url(world, key) in html
    assert html.count("<svg") >= 2
    assert report_url(world, "a2_bldg") not in html


def test_qr_codes_follow_scope(world):
    url = reverse("demands:building_qr")
    a2 = world.areas["a2"].pk
    assert signed_in(world, "staff").get(f"{url}?community={a2}").status_code == 404
    other = signed_in(world, "other_staff").get(f"{url}?community={a2}").content.decode()
    assert report_url(world, "a2_bldg") in other
    assert report_url(world, "a1_bldg") not in other
    secretary = signed_in(world, "estate_secretary").get(url).content.decode()
    assert report_url(world, "a1_bldg") in secretary  # an estate secretary prints their estate's codes
    street = signed_in(world, "street_staff").get(f"{url}?community={a2}")
    assert report_url(world, "a2_bldg") in street.content.decode()
    assert signed_in(world, "member").get(url).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page


# --- reporting ------------------------------------------------------------------------------------------


def test_the_form_offers_the_buildings_rooms_and_the_categories(world):
    html = Client().get(report_url(world)).content.decode()
    assert "楼栋公共区域" in html
    assert "1单元101室" in html
    assert "1单元202室" in html
    assert "下水道堵塞" in html
    assert "<optgroup" in html
    assert "识字岭社区" in html
    assert "3栋" in html
    assert "电话号码加密保存" in html  # why we ask, and that it is shown masked
    assert reverse("demands:feedback_new") in html
    assert Client().get(reverse("demands:report", args=[world.areas["a1_estate"].pk])).status_code == 404


def test_a_resident_reports_with_no_account_and_gets_a_tracking_code(world, media):
    client = Client()
    response = client.post(
        report_url(world),
        {
            "household": str(world.households["a1_201"].pk),
            "description": DRAIN,
            "category": "",
            "reporter_name": "陈阿姨",
            "reporter_phone": "138 1234 5678",
            "photos": [png()],
        },
    )
    demand = Demand.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("demands:reported", args=[demand.tracking_code])
    assert (demand.source, demand.area, demand.household) == (
        DemandSource.RESIDENT,
        building(world),
        world.households["a1_201"],
    )
    assert demand.category.code == "drain"  # the classifier's suggestion when the resident chose none
    assert demand.reporter_id is None
    assert demand.reporter_phone == "13812345678"
    assert DemandPhoto.objects.filter(demand=demand).count() == 1
    done = client.get(response["Location"]).content.decode()
    assert "请记下查询码" in done
    assert demand.tracking_code in done
    assert reverse("demands:track", args=[demand.tracking_code]) in done
    page = track(client, demand).content.decode()
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "陈*姨" in page
    assert "陈阿姨" not in page
    assert "已收到，等待社区受理" in page
    photo = DemandPhoto.objects.get()
    image = client.get(reverse("demands:track_photo", args=[demand.tracking_code, photo.pk]))
    assert image.status_code == 200
    assert image["Content-Type"] == "image/png"
    other = filed(world, "路灯不亮")
    assert client.get(reverse("demands:track_photo", args=[other.tracking_code, photo.pk])).status_code == 404


def test_the_chosen_category_wins_over_the_suggestion(world):
    post_report(Client(), world, category="noise")
    assert Demand.objects.get().category.code == "noise"


@pytest.mark.parametrize(
    ("fields", "field_error"),
    [
        ({"description": "   "}, "请填写诉求内容"),
        ({"description": "堵" * 100_000}, "诉求内容不超过2000个字"),
        ({"category": "no-such-thing"}, "没有这个诉求类别"),
        ({"reporter_phone": "12345"}, "联系电话请填写11位手机号"),
        ({"reporter_name": "名" * 41}, "联系人姓名不超过40个字"),
        ({"household": "999999"}, "所选住户不在这栋楼"),
    ],
)
def test_bad_input_says_what_is_wrong_and_stores_nothing(world, fields, field_error):
    response = post_report(Client(), world, **fields)
    assert response.status_code == 400
    html = response.content.decode()
    assert field_error in html
    assert "没有提交成功" in html
    assert not Demand.objects.exists()


def test_a_household_of_another_building_is_refused(world):
    response = post_report(Client(), world, household=str(world.households["a2_101"].pk))
    assert response.status_code == 400
    assert not Demand.objects.exists()


def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(world, media):
    fake = SimpleUploadedFile("drain.jpg", b"<html>not an image</html>", content_type="image/jpeg")
    response = post_report(Client(), world, photos=[fake])
    assert response.status_code == 400
    assert "只能上传照片" in response.content.decode()
    assert not Demand.objects.exists()
    assert not DemandPhoto.objects.exists()
    assert not any(media.rglob("*.*"))


def test_more_than_five_photos_are_refused(world, media):
    response = post_report(Client(), world, photos=[png(f"{i}.png") for i in range(6)])
    assert response.status_code == 400
    assert "最多上传5张照片" in response.content.decode()
    assert not Demand.objects.exists()


# --- while typing: the category and similar open problems ------------------------------------------------


def hints(world, text: str, **extra) -> str:
    url = reverse("demands:report_hints", args=[building(world).pk])
    return Client().post(url, {"description": text, **extra}, HTTP_HX_REQUEST="true").content.decode()


def test_the_category_is_suggested_while_typing(world):
    html = hints(world, "楼道下水道堵了")
    assert 'id="category-box" hx-swap-oob="true"' in html
    assert '<option value="drain" selected>' in html
    assert "系统建议：下水道堵塞" in html


def test_a_category_chosen_by_hand_is_left_alone(world):
    html = hints(world, "楼道下水道堵了", category="noise", category_manual="1")
    assert "category-box" not in html


def test_similar_open_problems_are_offered_with_a_follow_button(world):
    original = filed(world, "3栋下水道堵了，一楼反水")
    closed = filed(world, "下水道堵塞已经修好")
    resolve(world, closed)
    far = filed(world, "下水道堵了", where="a2_bldg")
    html = hints(world, "下水道又堵了")
    assert "3栋下水道堵了，一楼反水" in html
    assert reverse("demands:report_follow", args=[building(world).pk, original.pk]) in html
    assert "这是同一个问题，跟进它" in html
    assert str(closed.pk) not in html.split("report_follow")[0] or closed.description not in html
    assert (
        far.description not in html
        or reverse("demands:report_follow", args=[building(world).pk, far.pk]) not in html
    )
    assert "附近有人反映过类似的问题" not in hints(world, "堵")  # too short to say anything


def test_the_hints_read_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for i in range(5):
        filed(world, f"{i}单元下水道堵了")
    with django_assert_max_num_queries(8):
        html = hints(world, "下水道又堵了")
    assert html.count("这是同一个问题，跟进它") == 5


# --- following an already-reported problem ------------------------------------------------------------


def test_a_resident_follows_the_same_problem_instead_of_filing_another(world):
    original = filed(world, "3栋下水道堵了，一楼反水", reporter_name="王大爷", reporter_phone="13900001111")
    client = Client()
    url = reverse("demands:report_follow", args=[building(world).pk, original.pk])
    response = client.post(url, {"description": "", "reporter_name": "", "reporter_phone": "13812345678"})
    follower = Demand.objects.exclude(pk=original.pk).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("demands:reported", args=[follower.tracking_code]) + "?follow=1"
    assert (follower.status, follower.merged_into_id) == (DemandStatus.MERGED, original.pk)
    assert "已跟进同一问题" in client.get(response["Location"]).content.decode()
    page = track(client, follower).content.decode()
    assert "这个问题已经有人反映" in page
    assert "王大爷" not in page
    assert "13900001111" not in page
    assert "139****1111" not in page
    assert "138****5678" in page
    resolve(world, original)
    follower.refresh_from_db()
    assert follower.status == DemandStatus.RESOLVED
    page = track(client, follower).content.decode()
    assert "已疏通下水道" in page
    assert "确认办结并评价" in page
    client.post(reverse("demands:track_rate", args=[follower.tracking_code]), {"rating": Rating.SATISFIED})
    original.refresh_from_db()
    follower.refresh_from_db()
    assert follower.rating == Rating.SATISFIED
    assert original.rating == ""
    assert original.status == DemandStatus.RESOLVED
    assert "另有 1 位居民反映了同一问题" in track(client, original).content.decode()


def test_following_a_problem_of_another_estate_or_a_closed_one_is_refused(world):
    far = filed(world, "下水道堵了", where="a2_bldg")
    url = reverse("demands:report_follow", args=[building(world).pk, far.pk])
    response = Client().post(url, {"description": "下水道堵了"})
    assert response.status_code == 400
    assert "这条诉求已经结束或不存在" in response.content.decode()
    done = resolve(world, filed(world, "下水道堵了"))
    response = Client().post(reverse("demands:report_follow", args=[building(world).pk, done.pk]), {})
    assert response.status_code == 400
    assert Demand.objects.count() == 2


def test_a_follow_with_a_bad_phone_says_so_and_stores_nothing(world):
    original = filed(world)
    url = reverse("demands:report_follow", args=[building(world).pk, original.pk])
    response = Client().post(url, {"description": "", "reporter_phone": "abc"})
    assert response.status_code == 400
    assert "联系电话请填写11位手机号" in response.content.decode()
    assert Demand.objects.count() == 1


# --- the whole path, rating once ---------------------------------------------------------------------------


def test_report_track_resolve_rate_once(world):
    client = Client()
    post_report(client, world, reporter_phone="13812345678")
    demand = Demand.objects.get()
    services.assign_demand(
        actor=world.actor("staff"),
        demand_id=demand.pk,
        kind=AssigneeKind.MEMBER,
        target_id=world.members["member"].pk,
    )
    page = track(client, demand).content.decode()
    assert "已安排人员办理" in page
    assert "党员 李*国" in page
    assert "派单" in page
    assert "李建国" not in page  # the member's name is shown masked on this public page
    assert "确认办结并评价" not in page  # nothing to rate yet
    early = client.post(reverse("demands:track_rate", args=[demand.tracking_code]), {"rating": "satisfied"})
    assert early.status_code == 409
    assert "诉求办结后才能评价" in early.content.decode()
    services.start_demand(actor=world.actor("member"), demand_id=demand.pk)
    services.resolve_demand(actor=world.actor("member"), demand_id=demand.pk, resolution="已疏通，恢复正常")
    page = track(client, demand).content.decode()
    assert "已办结，请您确认是否解决" in page
    assert "已疏通，恢复正常" in page
    assert "没有解决，重新办理" in page
    rate_url = reverse("demands:track_rate", args=[demand.tracking_code])
    unsatisfied = client.post(rate_url, {"rating": Rating.UNSATISFIED, "comment": ""})
    assert unsatisfied.status_code == 400
    assert "不满意的话，请告诉我们哪里没有解决好" in unsatisfied.content.decode()
    response = client.post(rate_url, {"rating": Rating.BASIC, "comment": "修得挺快"}, follow=True)
    assert "谢谢您的评价" in response.content.decode()
    assert "基本满意" in response.content.decode()
    demand.refresh_from_db()
    assert (demand.status, demand.rating, demand.rating_comment) == (
        DemandStatus.CLOSED,
        Rating.BASIC,
        "修得挺快",
    )
    again = client.post(rate_url, {"rating": Rating.UNSATISFIED, "comment": "再评一次"})
    assert again.status_code == 409
    assert "这条诉求已经评价过了" in again.content.decode()
    demand.refresh_from_db()
    assert demand.rating == Rating.BASIC


def test_someone_elses_code_cannot_rate_another_residents_demand(world):
    mine, theirs = resolve(world, filed(world, "下水道堵了")), resolve(world, filed(world, "路灯不亮了"))
    client = Client()
    client.post(
        reverse("demands:track_rate", args=[theirs.tracking_code]),
        {"rating": Rating.UNSATISFIED, "comment": "差"},
    )
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.rating == ""
    assert mine.status == DemandStatus.RESOLVED
    assert theirs.rating == Rating.UNSATISFIED
    missing = client.post(reverse("demands:track_rate", args=["ZZZZZZZZ"]), {"rating": Rating.SATISFIED})
    assert missing.status_code == 404
    mine.refresh_from_db()
    assert mine.rating == ""


def test_not_solved_goes_back_to_the_handler(world):
    demand = resolve(world, filed(world))
    client = Client()
    url = reverse("demands:track_reopen", args=[demand.tracking_code])
    empty = client.post(url, {"reason": "  "})
    assert empty.status_code == 400
    assert "请说明哪里还没有解决" in empty.content.decode()
    demand.refresh_from_db()
    assert demand.status == DemandStatus.RESOLVED
    response = client.post(url, {"reason": "还是堵，今天又冒水了"}, follow=True)
    demand.refresh_from_db()
    assert demand.status == DemandStatus.IN_PROGRESS
    assert demand.reopen_count == 1
    html = response.content.decode()
    assert "已转回办理人员重新办理" in html
    assert "还是堵，今天又冒水了" in html
    assert "重新办理" in html


def test_a_declined_demand_says_why(world):
    demand = filed(world, "想在小区里养鸡")
    services.decline_demand(actor=world.actor("staff"), demand_id=demand.pk, reason="不属于社区办理范围")
    html = track(Client(), demand).content.decode()
    assert "社区没有受理这条诉求" in html
    assert "不属于社区办理范围" in html
    assert reverse("demands:feedback_new") + f"?code={demand.tracking_code}" in html


# --- looking up a code ------------------------------------------------------------------------------------


def test_a_typed_code_opens_its_page(world):
    demand = filed(world)
    url = reverse("demands:track_lookup")
    typed = " ".join(demand.tracking_code.lower())
    response = Client().get(url, {"code": typed})
    assert response.status_code == 302
    assert response["Location"] == reverse("demands:track", args=[demand.tracking_code])
    wrong = Client().get(url, {"code": "ZZZZ2222"})
    assert wrong.status_code == 400
    assert "没有找到这个查询码" in wrong.content.decode()
    assert Client().get(reverse("demands:track", args=["ZZZZ2222"])).status_code == 404


# --- a signed-in resident -----------------------------------------------------------------------------------


def test_a_signed_in_residents_report_is_theirs_and_listed(world):
    client = signed_in(world, "resident")
    form = client.get(report_url(world)).content.decode()
    home = world.households["a1_201"].pk
    assert f'<option value="{home}" selected>' in form  # their own home is chosen for them
    post_report(client, world, household=str(home))
    filed(world, "别人的问题，不该出现在我的列表里")
    demand = Demand.objects.get(reporter=world.users["resident"])
    assert demand.household_id == home
    html = client.get(reverse("demands:my_reported")).content.decode()
    assert reverse("demands:track", args=[demand.tracking_code]) in html
    assert "别人的问题" not in html
    assert report_url(world) in html  # 反映新问题, for their building
    assert (
        "我反映的问题"
        in client.get(reverse("demands:reported", args=[demand.tracking_code])).content.decode()
    )


def test_my_list_needs_an_account(world):
    response = Client().get(reverse("demands:my_reported"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_my_list_reads_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    resident = world.actor("resident")
    for i in range(25):
        services.submit_demand(
            actor=resident,
            data=services.DemandInput(description=f"楼道灯不亮 {i}", area_id=building(world).pk),
        )
    client = signed_in(world, "resident")
    with django_assert_max_num_queries(8):
        response = client.get(reverse("demands:my_reported"))
    assert response.content.decode().count('class="what"') == 20
    with django_assert_max_num_queries(8):
        assert (
            client.get(reverse("demands:my_reported") + "?page=2").content.decode().count('class="what"') == 5
        )


def test_the_tracking_page_reads_a_fixed_number_of_queries(world, media):
    original = filed(world, photos=(png("a.png"),))
    services.assign_demand(
        actor=world.actor("staff"),
        demand_id=original.pk,
        kind=AssigneeKind.TEAM,
        target_id=world.teams["a1_team"].pk,
    )
    for i in range(15):
        services.add_note(actor=world.actor("staff"), demand_id=original.pk, text=f"已联系物业 {i}")
    followers = [services.follow_demand(actor=ANONYMOUS, demand_id=original.pk) for _ in range(5)]
    client = Client()
    with CaptureQueriesContext(connection) as own:
        assert track(client, original).status_code == 200
    with CaptureQueriesContext(connection) as following:
        assert track(client, followers[0]).status_code == 200
    assert len(own) <= 8, "\n".join(q["sql"] for q in own.captured_queries)
    assert len(following) <= 14, "\n".join(q["sql"] for q in following.captured_queries)


# --- complaints and suggestions -------------------------------------------------------------------------


def test_a_complaint_about_a_demand_gets_an_answer_by_its_code(world):
    demand = filed(world)
    client = Client()
    form = client.get(reverse("demands:feedback_new"), {"code": demand.tracking_code})
    html = form.content.decode()
    assert "识字岭社区" in html
    assert f'value="{demand.tracking_code}"' in html
    url = reverse("demands:feedback_new") + f"?community={world.areas['a1'].pk}"
    response = client.post(
        url,
        {
            "kind": "complaint",
            "text": "三天了还没人来",
            "demand_code": demand.tracking_code.lower(),
            "reporter_phone": "",
        },
    )
    item = Feedback.objects.get()
    assert (item.kind, item.demand_id, item.community_id) == ("complaint", demand.pk, world.areas["a1"].pk)
    assert response["Location"] == reverse("demands:feedback_track", args=[item.tracking_code]) + "?new=1"
    page = client.get(response["Location"]).content.decode()
    assert "请记下查询码" in page
    assert item.tracking_code in page
    assert "等待社区答复" in page
    answer_feedback(actor=world.actor("staff"), feedback_id=item.pk, answer="已督促物业今天上门")
    page = client.get(reverse("demands:feedback_track", args=[item.tracking_code])).content.decode()
    assert "社区已答复" in page
    assert "已督促物业今天上门" in page


def test_feedback_from_a_building_page_is_addressed_to_its_community(world):
    html = (
        Client()
        .get(reverse("demands:feedback_new"), {"building": building(world, "a2_bldg").pk})
        .content.decode()
    )
    assert "燕子岭社区" in html
    pick = Client().get(reverse("demands:feedback_new"), {"q": "燕子"}).content.decode()
    assert f"?community={world.areas['a2'].pk}" in pick
    assert "识字岭社区" not in pick


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "请填写内容"),
        ({"text": "长" * 100_000}, "内容不超过2000个字"),
        ({"kind": "praise"}, "请选择投诉或建议"),
        ({"reporter_phone": "0000"}, "联系电话请填写11位手机号"),
        ({"demand_code": "ZZZZ2222"}, "没有找到这个查询码对应的诉求"),
    ],
)
def test_bad_feedback_says_what_is_wrong_and_stores_nothing(world, fields, message):
    url = reverse("demands:feedback_new") + f"?community={world.areas['a1'].pk}"
    data = {"kind": "suggestion", "text": "建议多装路灯", "demand_code": "", "reporter_phone": "", **fields}
    response = Client().post(url, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Feedback.objects.exists()


def test_an_unknown_feedback_code_is_not_found(world):
    assert Client().get(reverse("demands:feedback_track", args=["ZZZZ2222"])).status_code == 404
    response = Client().get(reverse("demands:feedback_lookup"), {"code": "zzzz2222"})
    assert response.status_code == 400
    assert "没有找到这个查询码" in response.content.decode()

"""The HTML screens of registration: the member's phone flow, their page and card, the public card
check, and the staff console (queue, review, reveal, roster, QR poster), including bad input, scope and
query-count guards."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from huijia.accounts.models import AuditLog, Notification
from huijia.core.testing import make_id_number, make_member, make_user, register
from huijia.members.models import Member, Registration, RegistrationKind, RegistrationStatus

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def signed_in(client, world, name):
    client.force_login(world.users[name])
    return client


def html_of(response) -> str:
    return response.content.decode()


def form_url(world, community="a1", household="a1_202"):
    return reverse("members:register_form", args=[world.areas[community].pk, world.households[household].pk])


def first_time_data(world, **overrides):
    data = {
        "name": "周明",
        "phone": "138 1234 5678",
        "id_number": make_id_number(77),
        "work_unit": world.units["u1"].pk,
        "skills": [world.skills["医疗"].pk, world.skills["法律"].pk],
        "free_time": ["weekend", "holiday"],
        "resources": "可以开车接送老人",
    }
    data.update(overrides)
    return data


def newcomer(client, world):
    world.users["newcomer"] = make_user("newcomer")
    return signed_in(client, world, "newcomer")


# --- step 1: find the community -------------------------------------------------------------------


def test_register_pages_need_a_sign_in(client, world):
    url = reverse("members:register_community", args=[world.areas["a1"].pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_search_finds_a_community_by_its_name_or_its_street(client, world):
    newcomer(client, world)
    by_name = html_of(client.get(reverse("members:register"), {"q": "识字"}))
    assert "识字岭社区" in by_name
    assert "燕子岭社区" not in by_name
    assert reverse("members:register_community", args=[world.areas["a1"].pk]) in by_name
    by_street = html_of(client.get(reverse("members:register"), {"q": "文艺路"}))
    assert "识字岭社区" in by_street
    assert "燕子岭社区" in by_street
    assert "新园社区" not in by_street


def test_search_without_words_lists_nothing_and_unknown_words_say_so(client, world):
    newcomer(client, world)
    empty = html_of(client.get(reverse("members:register")))
    assert "社区" in empty
    assert "pick-list" not in empty
    none = html_of(client.get(reverse("members:register"), {"q": "火星"}))
    assert "没有找到" in none


def test_live_search_answers_only_the_results(client, world):
    newcomer(client, world)
    response = client.get(reverse("members:register"), {"q": "识字"}, HTTP_HX_TARGET="results", **HX)
    html = html_of(response)
    assert html.lstrip().startswith('<div id="results"')
    assert "识字岭社区" in html
    assert "<html" not in html
    assert "HX-Request" in response["Vary"]


def test_member_with_a_pending_application_is_told_before_searching(client, world):
    html = html_of(signed_in(client, world, "pending_member").get(reverse("members:register")))
    assert "您已有一条报到申请正在审核" in html
    assert 'name="q"' not in html


# --- step 2: pick estate, building, household -----------------------------------------------------


def test_community_qr_link_preselects_the_community_and_lists_its_buildings(client, world):
    newcomer(client, world)
    html = html_of(client.get(reverse("members:register_community", args=[world.areas["a1"].pk])))
    assert "识字岭社区" in html
    assert "您住在哪一栋" in html  # the only estate is chosen already
    assert "3栋" in html
    assert "5栋" in html


def test_picking_a_building_lists_its_households(client, world):
    newcomer(client, world)
    url = reverse("members:register_community", args=[world.areas["a1"].pk])
    html = html_of(client.get(url, {"building": world.areas["a1_bldg"].pk}))
    assert "您家是哪一户" in html
    for key in ("a1_101", "a1_102", "a1_201", "a1_202"):
        assert form_url(world, household=key) in html
    assert form_url(world, household="a1_bldg2_101") not in html


def test_a_building_of_another_community_is_not_offered(client, world):
    newcomer(client, world)
    url = reverse("members:register_community", args=[world.areas["a1"].pk])
    html = html_of(client.get(url, {"building": world.areas["a2_bldg"].pk}))
    assert "您家是哪一户" not in html
    assert form_url(world, "a1", "a2_101") not in html


def test_picker_answers_a_partial_to_htmx(client, world):
    newcomer(client, world)
    url = reverse("members:register_community", args=[world.areas["a1"].pk])
    response = client.get(url, {"building": world.areas["a1_bldg"].pk}, HTTP_HX_TARGET="picker", **HX)
    html = html_of(response)
    assert html.lstrip().startswith('<div id="picker"')
    assert "<html" not in html
    restore = client.get(
        url, HTTP_HX_TARGET="picker", HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HX
    )  # a history restore needs the whole page
    assert "<html" in html_of(restore)


def test_unknown_community_is_a_chinese_404(client, world):
    newcomer(client, world)
    response = client.get(reverse("members:register_community", args=[world.areas["a1_estate"].pk]))
    assert response.status_code == 404
    assert "没有找到" in html_of(response)


# --- step 3: the form -----------------------------------------------------------------------------


def test_first_timer_is_asked_who_they_are(client, world):
    newcomer(client, world)
    html = html_of(client.get(form_url(world)))
    for field in ('name="name"', 'name="phone"', 'name="id_number"', 'name="work_unit"', 'name="skills"'):
        assert field in html
    assert "芙蓉区教育局" in html
    assert "水电维修" in html
    assert "周末" in html


def test_returning_member_is_not_asked_again_and_starts_from_last_time(client, world):
    member = world.members["other_member"]
    member.skills.set([world.skills["法律"]])
    html = html_of(signed_in(client, world, "other_member").get(form_url(world)))
    assert 'name="id_number"' not in html
    assert 'name="phone"' not in html
    checked = re.findall(r'<input type="checkbox" name="(\w+)" value="(\w+)"[^>]*checked', html)
    assert checked == [("skills", str(world.skills["法律"].pk))]
    assert "提交迁移报到" in html


def test_first_registration_is_stored_and_shown_pending(client, world):
    newcomer(client, world)
    response = client.post(form_url(world), first_time_data(world))
    assert response.status_code == 302
    assert response["Location"] == reverse("members:home")
    member = Member.objects.get(user=world.users["newcomer"])
    assert member.name == "周明"
    assert member.phone == "13812345678"
    registration = Registration.objects.get(member=member)
    assert registration.status == RegistrationStatus.PENDING
    assert registration.household == world.households["a1_202"]
    assert registration.work_unit == world.units["u1"]
    assert set(registration.skills.values_list("name", flat=True)) == {"医疗", "法律"}
    assert registration.free_time == ["holiday", "weekend"]
    page = html_of(client.get(reverse("members:home")))
    assert "报到申请正在审核" in page
    assert "报到申请已提交" in page


def test_wrong_id_checksum_shows_the_message_and_stores_nothing(client, world):
    newcomer(client, world)
    wrong = make_id_number(77)[:17] + ("0" if make_id_number(77)[17] != "0" else "1")
    before = (Member.objects.count(), Registration.objects.count())
    response = client.post(form_url(world), first_time_data(world, id_number=wrong))
    assert response.status_code == 200
    html = html_of(response)
    assert "身份证号校验位不正确" in html
    assert 'aria-invalid="true"' in html
    assert 'value="周明"' in html  # what they typed is kept
    assert (Member.objects.count(), Registration.objects.count()) == before


def test_bad_mobile_and_missing_name_are_shown_per_field(client, world):
    newcomer(client, world)
    html = html_of(client.post(form_url(world), first_time_data(world, name="", phone="12345")))
    assert "请填写姓名" in html
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()
    html = html_of(client.post(form_url(world), first_time_data(world, phone="12345")))
    assert "手机号应为11位" in html
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()


def test_unknown_household_is_refused_and_stores_nothing(client, world):
    newcomer(client, world)
    before = Registration.objects.count()
    elsewhere = form_url(world, community="a1", household="a2_101")  # a household of another community
    response = client.post(elsewhere, first_time_data(world), follow=True)
    assert "所选住户不存在或不在该社区" in html_of(response)
    missing = reverse("members:register_form", args=[world.areas["a1"].pk, 999999])
    response = client.post(missing, first_time_data(world), follow=True)
    assert "所选住户不存在或不在该社区" in html_of(response)
    assert Registration.objects.count() == before
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()


def test_unknown_work_unit_is_refused(client, world):
    newcomer(client, world)
    html = html_of(client.post(form_url(world), first_time_data(world, work_unit=999999)))
    assert "所选工作单位不存在" in html
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()


def test_double_registration_in_the_same_community_is_refused(client, world):
    before = Registration.objects.count()
    html = html_of(signed_in(client, world, "member").post(form_url(world), {"free_time": ["weekend"]}))
    assert "您已在本社区报到，无需重复报到" in html
    assert Registration.objects.count() == before


def test_second_application_while_one_is_pending_is_refused(client, world):
    before = Registration.objects.count()
    client = signed_in(client, world, "pending_member")
    html = html_of(client.post(form_url(world, "a2", "a2_102"), {}))
    assert "待审核的报到申请" in html
    assert Registration.objects.count() == before


def test_an_id_number_already_registered_by_someone_else_is_refused(client, world):
    newcomer(client, world)
    taken = world.members["member"].id_number
    html = html_of(client.post(form_url(world), first_time_data(world, id_number=taken)))
    assert "该身份证号已被其他账号登记" in html
    assert not Member.objects.filter(user=world.users["newcomer"]).exists()


def test_moving_house_makes_a_transfer_and_keeps_history(client, world):
    client = signed_in(client, world, "member")
    response = client.post(form_url(world, "a2", "a2_201"), {"free_time": ["weekend"]})
    assert response.status_code == 302
    transfer = Registration.objects.get(member=world.members["member"], status=RegistrationStatus.PENDING)
    assert transfer.kind == RegistrationKind.TRANSFER
    assert transfer.previous == world.registrations["member"]
    html = html_of(client.get(reverse("members:home")))
    assert "迁移报到正在审核" in html
    assert "已报到" in html
    assert html.count("燕子岭社区") >= 2
    assert "识字岭社区" in html


def test_work_unit_filter_answers_matching_options(client, world):
    newcomer(client, world)
    url = reverse("members:work_unit_options")
    html = html_of(client.get(url, {"unit_q": "自来水", "work_unit": world.units["u2"].pk}))
    assert "长沙市自来水公司" in html
    assert "芙蓉区教育局" not in html
    assert f'value="{world.units["u2"].pk}" selected' in html
    assert "没有找到" in html_of(client.get(url, {"unit_q": "不存在的单位"}))


# --- the member's page ----------------------------------------------------------------------------


def test_member_page_without_a_profile_invites_to_register(client, world):
    html = html_of(signed_in(client, world, "outsider").get(reverse("members:home")))
    assert "您还没有报到" in html
    assert reverse("members:register") in html


def test_member_page_shows_the_approved_registration_and_history(client, world):
    html = html_of(signed_in(client, world, "member").get(reverse("members:home")))
    assert "李建国" in html
    assert "已报到" in html
    assert "识字岭社区" in html
    assert "3栋" in html
    assert "1单元101室" in html
    assert "芙蓉区教育局" in html
    assert reverse("members:card") in html
    assert world.members["member"].phone not in html  # only masked
    assert world.members["member"].masked_phone in html


def test_member_page_shows_the_reject_reason(client, world):
    register(world, "pending_member", "a1", "a1_102", status=RegistrationStatus.REJECTED)
    Registration.objects.filter(pk=world.registrations["pending_member"].pk).update(
        reject_reason="门牌号与登记不符"
    )
    Registration.objects.filter(member=world.members["pending_member"], status="pending").update(
        status=RegistrationStatus.WITHDRAWN
    )
    html = html_of(signed_in(client, world, "pending_member").get(reverse("members:home")))
    assert "报到未通过" in html
    assert "门牌号与登记不符" in html
    assert "修改后重新报到" in html


def test_notifications_are_shown_then_marked_read(client, world):
    user = world.users["member"]
    Notification.objects.create(user=user, text="您在识字岭社区的报到已通过审核")
    Notification.objects.create(user=world.users["other_member"], text="别人的消息")
    client = signed_in(client, world, "member")
    html = html_of(client.get(reverse("members:home")))
    assert "您在识字岭社区的报到已通过审核" in html
    assert "别人的消息" not in html
    assert 'class="badge new"' in html
    assert not Notification.objects.filter(user=user, read_at__isnull=True).exists()
    assert Notification.objects.filter(user=world.users["other_member"], read_at__isnull=True).exists()
    again = html_of(client.get(reverse("members:home")))
    assert "您在识字岭社区的报到已通过审核" in again
    assert 'class="badge new"' not in again


def test_withdraw_asks_first_then_withdraws(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "pending_member")
    url = reverse("members:withdraw", args=[registration.pk])
    confirm = client.get(url)
    assert "确定撤回这条报到申请吗" in html_of(confirm)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING
    response = client.post(url, follow=True)
    assert "已撤回" in html_of(response)
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.WITHDRAWN


def test_leaving_the_community_ends_the_card(client, world):
    registration = world.registrations["member"]
    client = signed_in(client, world, "member")
    assert "确定退出识字岭社区的报到吗" in html_of(
        client.get(reverse("members:withdraw", args=[registration.pk]))
    )
    client.post(reverse("members:withdraw", args=[registration.pk]))
    token = world.members["member"].card_token
    html = html_of(client.get(reverse("members:verify", args=[token])))
    assert "已失效" in html


def test_withdrawing_an_ended_registration_says_so(client, world):
    registration = world.registrations["pending_member"]
    Registration.objects.filter(pk=registration.pk).update(status=RegistrationStatus.WITHDRAWN)
    client = signed_in(client, world, "pending_member")
    response = client.get(reverse("members:withdraw", args=[registration.pk]), follow=True)
    assert "无需撤回" in html_of(response)


def test_a_member_cannot_withdraw_someone_elses_registration(client, world):
    other = world.registrations["other_member"]
    client = signed_in(client, world, "member")
    assert client.get(reverse("members:withdraw", args=[other.pk])).status_code == 404
    assert client.post(reverse("members:withdraw", args=[other.pk])).status_code == 404
    other.refresh_from_db()
    assert other.status == RegistrationStatus.APPROVED


# --- the card and the public check ----------------------------------------------------------------


def test_card_shows_identity_and_a_qr_code_of_the_public_check(client, world, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://hj.example.cn/"
    member = world.members["member"]
    html = html_of(signed_in(client, world, "member").get(reverse("members:card")))
    assert "李建国" in html
    assert "识字岭社区" in html
    assert "芙蓉区教育局" in html
    assert member.volunteer_no in html
    assert "<svg" in html
    assert 'class="qr"' in html
    assert f"https://hj.example.cn/v/{member.card_token}/" in html


def test_no_card_before_approval_only_a_plain_explanation(client, world):
    html = html_of(signed_in(client, world, "pending_member").get(reverse("members:card")))
    assert "还没有电子党员证" in html
    assert "正在审核" in html
    assert "<svg" not in html
    assert world.members["pending_member"].card_token not in html
    html = html_of(signed_in(client, world, "outsider").get(reverse("members:card")))
    assert "还没有电子党员证" in html
    assert "<svg" not in html


def test_public_check_shows_masked_name_community_and_status_and_nothing_more(client, world):
    member = world.members["member"]
    response = client.get(reverse("members:verify", args=[member.card_token]))  # no sign-in
    assert response.status_code == 200
    html = html_of(response)
    assert "李*国" in html
    assert "识字岭社区" in html
    assert "有效" in html
    forbidden = [
        "李建国",
        member.phone,
        member.masked_phone,
        member.id_number,
        member.masked_id_number,
        member.volunteer_no,
        "芙蓉区教育局",
        "101室",
        "3栋",
        "幸福小区",
    ]
    for value in forbidden:
        assert value not in html, value
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_public_check_of_a_pending_member_says_not_valid(client, world):
    token = world.members["pending_member"].card_token
    html = html_of(client.get(reverse("members:verify", args=[token])))
    assert "已失效" in html
    assert "王*" in html
    assert "王芳" not in html


def test_public_check_of_an_unknown_token_is_a_chinese_404(client, world):
    response = client.get(reverse("members:verify", args=["no-such-token"]))
    assert response.status_code == 404
    assert "没有找到这张电子党员证" in html_of(response)
    assert client.get(reverse("members:verify", args=["x" * 200])).status_code == 404


# --- staff console: the queue ---------------------------------------------------------------------


def queue_url(world, community="a1", **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    base = f"{reverse('members:queue')}?community={world.areas[community].pk}"
    return base + (f"&{query}" if query else "")


def test_queue_shows_the_pending_rows_of_the_chosen_community(client, world):
    html = html_of(signed_in(client, world, "staff").get(queue_url(world, status="pending")))
    assert "王芳" in html  # pending in A1
    assert "李建国" not in html  # approved, not pending
    assert "长沙市自来水公司" in html
    assert "3栋" in html
    assert "1单元102室" in html
    assert "新报到" in html
    assert world.members["pending_member"].phone not in html
    assert world.members["pending_member"].masked_phone in html
    assert reverse("members:approve", args=[world.registrations["pending_member"].pk]) in html


def test_queue_rows_show_what_people_typed_as_text(client, world):
    """Names, resources and reasons are typed by members and staff: markup in them is shown, not run."""
    registration = world.registrations["pending_member"]
    registration.resources = '<script>alert("x")</script>&'
    registration.save(update_fields=["resources"])
    html = html_of(signed_in(client, world, "staff").get(queue_url(world, status="pending")))
    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in html
    assert 'name="csrfmiddlewaretoken" value="' in html


def test_queue_status_filter_and_default(client, world):
    client = signed_in(client, world, "staff")
    approved = html_of(client.get(queue_url(world, status="approved")))
    assert "李建国" in approved
    assert "王芳" not in approved
    everything = html_of(client.get(queue_url(world, status="all")))
    assert "李建国" in everything
    assert "王芳" in everything
    implied = html_of(client.get(reverse("members:queue")))  # one community: it is chosen
    assert "王芳" in implied
    assert "识字岭社区" in implied


def test_queue_of_another_community_is_404(client, world):
    client = signed_in(client, world, "other_staff")
    assert client.get(queue_url(world, "a1")).status_code == 404
    assert client.get(reverse("members:queue") + "?community=abc").status_code == 404


def test_street_staff_see_their_communities_but_cannot_review(client, world):
    html = html_of(signed_in(client, world, "street_staff").get(reverse("members:queue")))
    assert "王芳" in html
    assert "识字岭社区" in html
    assert "燕子岭社区" in html
    assert "新园社区" not in html
    assert reverse("members:approve", args=[world.registrations["pending_member"].pk]) not in html


def test_console_is_closed_to_members_and_anonymous(client, world):
    assert client.get(reverse("members:queue")).status_code == 302
    client = signed_in(client, world, "member")
    for name in ("members:queue", "members:roster"):
        response = client.get(reverse(name))
        assert response.status_code == 403
        assert "没有权限" in html_of(response)


# --- staff console: review ------------------------------------------------------------------------


def test_approve_inline_swaps_the_row(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "staff")
    response = client.post(reverse("members:approve", args=[registration.pk]), **HX)
    assert response.status_code == 200
    html = html_of(response)
    assert html.lstrip().startswith(f'<tr id="reg-{registration.pk}"')
    assert "已报到" in html
    assert "已通过审核" in html
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.APPROVED


def test_approve_without_javascript_goes_back_to_the_queue(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "staff")
    response = client.post(reverse("members:approve", args=[registration.pk]), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("members:queue"))
    assert "王芳：已通过审核" in html_of(response)


def test_approving_an_already_rejected_registration_shows_the_conflict(client, world):
    registration = world.registrations["pending_member"]
    Registration.objects.filter(pk=registration.pk).update(status="rejected", reject_reason="资料不全")
    response = signed_in(client, world, "staff").post(
        reverse("members:approve", args=[registration.pk]), **HX
    )
    html = html_of(response)
    assert "该申请未通过，不能再审核" in html
    assert 'class="row-error"' in html
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REJECTED


def test_reject_without_reason_is_refused_and_changes_nothing(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "staff")
    html = html_of(client.post(reverse("members:reject", args=[registration.pk]), {"reason": "  "}, **HX))
    assert "请填写退回原因" in html
    assert "<details open>" in html  # the reason box stays open
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_reject_with_reason(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "staff")
    url = reverse("members:reject", args=[registration.pk])
    html = html_of(client.post(url, {"reason": "住址与登记不符"}, **HX))
    assert "未通过" in html
    assert "住址与登记不符" in html
    assert "已退回" in html
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.REJECTED
    assert registration.reject_reason == "住址与登记不符"


def test_a_reason_too_long_is_refused(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "staff")
    html = html_of(
        client.post(reverse("members:reject", args=[registration.pk]), {"reason": "长" * 201}, **HX)
    )
    assert "不超过200个字" in html
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_other_community_staff_get_404_on_review(client, world):
    registration = world.registrations["pending_member"]
    client = signed_in(client, world, "other_staff")
    assert client.post(reverse("members:approve", args=[registration.pk]), **HX).status_code == 404
    assert client.post(reverse("members:reject", args=[registration.pk]), {"reason": "x"}).status_code == 404
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_estate_secretary_may_see_but_not_review(client, world):
    registration = world.registrations["pending_member"]
    html = html_of(
        signed_in(client, world, "estate_secretary").post(
            reverse("members:approve", args=[registration.pk]), **HX
        )
    )
    assert "您可以查看但不能审核该申请" in html
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_members_cannot_review(client, world):
    registration = world.registrations["pending_member"]
    response = signed_in(client, world, "member").post(reverse("members:approve", args=[registration.pk]))
    assert response.status_code == 403
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.PENDING


def test_review_needs_a_post(client, world):
    registration = world.registrations["pending_member"]
    response = signed_in(client, world, "staff").get(reverse("members:approve", args=[registration.pk]))
    assert response.status_code == 405


# --- staff console: reveal ------------------------------------------------------------------------


def reveal_url(member, field="phone"):
    return reverse("members:reveal", args=[member.pk, field])


def test_reveal_shows_the_plain_value_in_place_and_audits_it(client, world):
    member = world.members["pending_member"]
    response = signed_in(client, world, "staff").post(reveal_url(member, "id_number"), **HX)
    assert response.status_code == 200
    assert html_of(response).strip() == (
        f'<span class="pii revealed" title="已记入审计日志">{member.id_number}</span>'
    )
    log = AuditLog.objects.get(action="pii.reveal", target_id=str(member.pk))
    assert log.actor_id == world.users["staff"].pk
    assert log.detail == {"field": "id_number"}


def test_reveal_without_javascript_is_a_page(client, world):
    member = world.members["pending_member"]
    html = html_of(signed_in(client, world, "staff").post(reveal_url(member)))
    assert member.phone in html
    assert "审计日志" in html


def test_reveal_out_of_scope_is_404_and_not_audited(client, world):
    member = world.members["pending_member"]
    for user in ("other_staff", "other_member", "member", "outsider"):
        client.force_login(world.users[user])
        assert client.post(reveal_url(member), **HX).status_code == 404, user
    assert not AuditLog.objects.filter(action="pii.reveal").exists()


def test_reveal_of_an_unknown_field_is_404(client, world):
    member = world.members["pending_member"]
    assert signed_in(client, world, "staff").post(reveal_url(member, "name")).status_code == 404
    assert signed_in(client, world, "staff").get(reveal_url(member)).status_code == 405


# --- staff console: roster and poster -------------------------------------------------------------


def test_roster_lists_reporting_members_masked(client, world):
    html = html_of(signed_in(client, world, "staff").get(reverse("members:roster")))
    member = world.members["member"]
    assert "李建国" in html
    assert member.volunteer_no in html
    assert member.masked_phone in html
    assert member.phone not in html
    assert member.id_number not in html
    assert "赵敏" not in html  # reports in A2
    assert "王芳" not in html  # only pending


def test_roster_of_another_community_is_404(client, world):
    url = f"{reverse('members:roster')}?community={world.areas['a1'].pk}"
    assert signed_in(client, world, "other_staff").get(url).status_code == 404


def test_work_unit_organiser_sees_its_own_members(client, world):
    html = html_of(signed_in(client, world, "unit_organiser").get(reverse("members:roster")))
    assert "李建国" in html
    assert "赵敏" not in html


def test_community_poster_has_the_registration_qr_code(client, world, settings):
    settings.HUIJIA_PUBLIC_BASE_URL = "https://hj.example.cn"
    community = world.areas["a1"]
    html = html_of(
        signed_in(client, world, "staff").get(reverse("members:community_qr", args=[community.pk]))
    )
    assert "识字岭社区" in html
    assert "<svg" in html
    assert f"https://hj.example.cn/m/register/c/{community.pk}/" in html


def test_community_poster_of_another_community_is_404(client, world):
    url = reverse("members:community_qr", args=[world.areas["a1"].pk])
    assert signed_in(client, world, "other_staff").get(url).status_code == 404
    assert signed_in(client, world, "member").get(url).status_code == 403


# --- pagination and query-count guards ------------------------------------------------------------


def add_pending(world, count: int, *, start: int = 500) -> None:
    """`count` more pending registrants in A1, each with two skills."""
    skills = [world.skills["医疗"], world.skills["法律"]]
    for i in range(count):
        key = f"extra{start + i}"
        make_member(world, key, name=f"测试{i:02d}", serial=start + i, unit="u1", user=False)
        registration = register(world, key, "a1", "a1_201", status=RegistrationStatus.PENDING)
        registration.skills.set(skills)


def add_reporting(world, count: int, *, start: int = 700) -> None:
    skills = [world.skills["医疗"], world.skills["法律"]]
    for i in range(count):
        key = f"rep{start + i}"
        member = make_member(world, key, name=f"在册{i:02d}", serial=start + i, unit="u2", user=False)
        register(world, key, "a1", "a1_202")
        member.skills.set(skills)


def queries_of(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_queue_is_paginated(client, world):
    add_pending(world, 25)
    client = signed_in(client, world, "staff")
    first = html_of(client.get(queue_url(world)))
    assert "共 26 条" in first
    assert "page=2" in first
    second = html_of(client.get(queue_url(world, page=2)))
    assert "第 21–26 条" in second
    assert html_of(client.get(queue_url(world, page="zzz"))).count("<tr id=") == 20


def test_queue_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client = signed_in(client, world, "staff")
    add_pending(world, 2)  # 3 rows with the world's own
    url = queue_url(world)
    client.get(url)  # warm the session
    few = queries_of(client, url)
    add_pending(world, 22, start=600)  # 25 rows: more than a page
    with django_assert_num_queries(few):
        response = client.get(url)
    assert html_of(response).count("<tr id=") == 20


def test_roster_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client = signed_in(client, world, "staff")
    add_reporting(world, 2)
    url = reverse("members:roster")
    client.get(url)
    few = queries_of(client, url)
    add_reporting(world, 22, start=800)
    with django_assert_num_queries(few):
        response = client.get(url)
    assert "共 25 条" in html_of(response)


def test_member_page_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client = signed_in(client, world, "member")
    url = reverse("members:home")
    client.get(url)
    few = queries_of(client, url)
    member = world.members["member"]
    for i in range(6):  # a long history and many skills
        Registration.objects.create(
            member=member,
            community=world.areas["a2"],
            household=world.households["a2_101"],
            status=RegistrationStatus.WITHDRAWN,
        )
        Notification.objects.create(user=world.users["member"], text=f"消息{i}", read_at="2026-01-01T00:00Z")
    member.skills.set(world.skills.values())
    with django_assert_num_queries(few):
        client.get(url)

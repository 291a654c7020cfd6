"""The visit screens: my households, a household, the plain visit form (no JavaScript), the service
worker, and the staff console (visits by month, the household file), with query-count guards."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from huijia.grid.models import Household
from huijia.members.models import HouseholdAccess
from huijia.visits.models import Visit
from huijia.visits.services import VisitInput, record_visit
from huijia.visits.tests.helpers import new_key, not_an_image, png

pytestmark = pytest.mark.django_db


def signed_in(client, world, name):
    client.force_login(world.users[name])
    return client


def html(response) -> str:
    return response.content.decode()


def visit(world, who="member", household="a1_101", **facts) -> Visit:
    data = VisitInput(household_id=world.households[household].pk, visited_on=timezone.localdate(), **facts)
    return record_visit(actor=world.actor(who), data=data, idempotency_key=new_key()).visit


def form_data(**overrides) -> dict:
    data = {
        "visited_on": timezone.localdate().isoformat(),
        "tenure": "rented",
        "occupants": "3",
        "moved_in_on": "2020-03-01",
        "contact_phone": "13812345678",
        "demands": "楼道灯坏了\n\n希望加装电梯",
        "vulnerable": ["elderly_alone"],
        "note_elderly_alone": "独居，腿脚不便",
        "help_given": "帮忙办理养老金认证",
        "notes": "",
        "idempotency_key": new_key(),
    }
    data.update(overrides)
    return data


# --- phone -----------------------------------------------------------------------------------------


def test_screens_need_a_sign_in(client, world):
    response = client.get(reverse("visits:mine"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_my_households_lists_the_zone_with_the_last_visit(client, world):
    visit(world, household="a1_102")
    page = html(signed_in(client, world, "member").get(reverse("visits:mine")))
    for room in ("101室", "102室", "201室", "202室"):
        assert room in page
    assert "5栋" not in page  # building 5 is not the member's zone
    assert "上次走访" in page
    assert "李建国" in page
    assert page.count("还没有走访过") == 3
    assert reverse("visits:service_worker") in page


def test_a_member_with_no_zone_is_told_plainly(client, world):
    page = html(signed_in(client, world, "pending_member").get(reverse("visits:mine")))
    assert "还没有分给您的住户" in page


def test_my_households_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client = signed_in(client, world, "member")
    client.get(reverse("visits:mine"))
    with django_assert_num_queries(4) as few:  # session, user, count, households
        client.get(reverse("visits:mine"))
    expected = len(few.captured_queries)
    building = world.areas["a1_bldg"]
    extra = [
        Household.objects.create(building=building, unit="2单元", floor=3, room=f"30{i}") for i in range(6)
    ]
    HouseholdAccess.objects.bulk_create(
        [HouseholdAccess(member=world.members["member"], household=h, by_zone=True) for h in extra]
    )
    for h in extra[:3]:
        record_visit(
            actor=world.actor("member"),
            data=VisitInput(household_id=h.pk, visited_on=timezone.localdate()),
            idempotency_key=new_key(),
        )
    with django_assert_num_queries(expected):
        page = html(client.get(reverse("visits:mine")))
    assert "2单元303室" in page


def test_the_household_page_shows_facts_masked_and_recent_visits(client, world):
    visit(world, tenure="owned", occupants=2, contact_phone="13812345678", help_given="陪老人去医院")
    url = reverse("visits:household", args=[world.households["a1_101"].pk])
    page = html(signed_in(client, world, "member").get(url))
    assert "自有住房" in page
    assert "2人" in page
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "陪老人去医院" in page


def test_a_household_out_of_reach_is_404(client, world):
    other = world.households["a1_bldg2_101"].pk
    client = signed_in(client, world, "member")
    assert client.get(reverse("visits:household", args=[other])).status_code == 404
    assert client.get(reverse("visits:form", args=[other])).status_code == 404
    assert client.post(reverse("visits:form", args=[other]), form_data()).status_code == 404
    assert Visit.objects.count() == 0


def test_the_form_fills_in_only_the_date(client, world):
    url = reverse("visits:form", args=[world.households["a1_101"].pk])
    page = html(signed_in(client, world, "member").get(url))
    assert f'value="{timezone.localdate().isoformat()}"' in page
    assert page.count("checked") == 1  # only "不清楚" (not known) of the tenure choices
    assert 'value="" id="id_tenure_0" checked' in page
    assert 'name="occupants"' in page
    assert 'name="occupants" value' not in page
    assert 'type="file"' in page
    assert "可不传" in page


def test_the_plain_form_records_a_visit_once(client, world):
    client = signed_in(client, world, "member")
    url = reverse("visits:form", args=[world.households["a1_101"].pk])
    data = form_data()
    response = client.post(url, data, follow=True)
    assert "走访已记录" in html(response)
    again = client.post(url, data, follow=True)  # pressed twice, or the page was resent
    assert "已经记录过了" in html(again)
    stored = Visit.objects.get()
    assert stored.opinions == "楼道灯坏了\n希望加装电梯"
    assert stored.household.occupants == 3
    assert stored.household.vulnerable.get().note == "独居，腿脚不便"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"visited_on": (date.today() + timedelta(days=3)).isoformat()}, "走访日期不能晚于今天"),
        ({"moved_in_on": (date.today() + timedelta(days=3)).isoformat()}, "入住日期不能晚于今天"),
        ({"visited_on": ""}, "请填写走访日期"),
        ({"contact_phone": "12345"}, "联系电话请填写11位手机号"),
        ({"occupants": "99"}, "常住人数应在0到50之间"),
    ],
)
def test_bad_input_is_shown_on_the_form_and_nothing_is_stored(client, world, overrides, message):
    url = reverse("visits:form", args=[world.households["a1_101"].pk])
    response = signed_in(client, world, "member").post(url, form_data(**overrides))
    assert response.status_code == 400
    assert message in html(response)
    assert Visit.objects.count() == 0


def test_a_photo_that_is_not_an_image_is_refused(client, world, media):
    url = reverse("visits:form", args=[world.households["a1_101"].pk])
    client = signed_in(client, world, "member")
    response = client.post(url, {**form_data(), "photos": not_an_image()})
    assert response.status_code == 400
    assert "只能上传照片" in html(response)
    assert Visit.objects.count() == 0
    client.post(url, {**form_data(), "photos": [png("a.png"), png("b.png", (30, 30, 200))]})
    assert Visit.objects.get().photos.count() == 2


def test_the_service_worker_is_served_for_the_visit_screens(client, world):
    response = client.get(reverse("visits:service_worker"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == reverse("visits:mine")
    text = html(response)
    assert text.startswith("const PRECACHE = [")
    assert "visits/visits.js" in text


# --- staff console -----------------------------------------------------------------------------------


def test_the_branch_sees_the_visits_of_the_month_with_facts_and_demands(client, world):
    visit(world, occupants=4, demands=("路灯坏了",))
    page = html(signed_in(client, world, "estate_secretary").get(reverse("visits:console")))
    assert "1单元101室" in page
    assert "李建国" in page
    assert "常住人数" in page
    assert "4" in page
    assert "路灯坏了" in page
    earlier = html(client.get(reverse("visits:console"), {"month": "2001-01"}))
    assert "路灯坏了" not in earlier


def test_the_console_is_for_staff_and_scoped(client, world):
    visit(world, demands=("路灯坏了",))
    assert signed_in(client, world, "member").get(reverse("visits:console")).status_code == 403
    page = html(signed_in(client, world, "other_staff").get(reverse("visits:console")))
    assert "路灯坏了" not in page
    bad = client.get(reverse("visits:console"), {"estate": world.areas["a1_estate"].pk})
    assert bad.status_code == 404


def test_the_console_runs_a_constant_number_of_queries(client, world, django_assert_num_queries):
    client = signed_in(client, world, "staff")
    visit(world, occupants=1, demands=("一",))
    client.get(reverse("visits:console"))
    with django_assert_num_queries(10) as few:
        client.get(reverse("visits:console"))
    expected = len(few.captured_queries)
    for i, room in enumerate(("a1_102", "a1_201", "a1_202", "a1_bldg2_101", "a1_101")):
        visit(world, who="staff", household=room, occupants=i + 2, demands=("诉求乙", "诉求丙"))
    with django_assert_num_queries(expected):
        page = html(client.get(reverse("visits:console")))
    assert page.count("诉求丙") == 5


def test_the_household_file_shows_who_changed_what_and_when(client, world):
    visit(world, contact_phone="13812345678", occupants=2)
    visit(world, who="building_head", occupants=3)
    url = reverse("visits:console_household", args=[world.households["a1_101"].pk])
    page = html(signed_in(client, world, "staff").get(url))
    assert "情况变化记录" in page
    assert "138****5678" in page
    assert "13812345678" not in page
    assert "building_head" in page
    assert "李建国" in page
    assert page.index("常住人数") < page.index("联系电话")  # newest first: 2 → 3 is at the top
    assert signed_in(client, world, "other_staff").get(url).status_code == 404


def test_a_photo_that_is_also_a_web_page_is_stored_and_served_only_as_an_image(client, world, media):
    """A GIF with a script appended decodes as an image; named x.html it must still never be served as
    HTML, or staff opening it would run the script in their session."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from huijia.visits.models import VisitPhoto
    from huijia.visits.services import add_visit_photo

    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, format="GIF")
    polyglot = SimpleUploadedFile("x.html", buffer.getvalue() + b"<script>alert(1)</script>", "text/html")
    visit = record_visit(
        actor=world.actor("member"),
        data=VisitInput(household_id=world.households["a1_101"].pk, visited_on=timezone.localdate()),
        idempotency_key=new_key(),
    ).visit
    stored = add_visit_photo(actor=world.actor("member"), visit_id=visit.pk, photo=polyglot)
    assert stored.image.name.endswith(".gif")
    assert "x.html" not in stored.image.name
    response = signed_in(client, world, "staff").get(reverse("visits:photo", args=[stored.pk]))
    assert response["Content-Type"] == "image/gif"
    assert "sandbox" in response["Content-Security-Policy"]
    assert VisitPhoto.objects.count() == 1

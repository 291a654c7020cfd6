"""Sign-in, sign-out and the landing page that sends each user to their own screen."""

import pytest
from django.urls import reverse

from huijia.core.testing import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_is_in_plain_chinese(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "用户名" in html
    assert "密码" in html
    assert "登录" in html


def test_wrong_password_says_so_in_chinese(client, world):
    response = client.post(reverse("login"), {"username": "member", "password": "wrong"})
    assert response.status_code == 200
    assert "用户名或密码不对" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_empty_login_asks_for_both_fields(client, world):
    html = client.post(reverse("login"), {"username": "", "password": ""}).content.decode()
    assert "请填写用户名" in html
    assert "请填写密码" in html


def test_login_sends_back_to_the_page_asked_for(client, world):
    community = world.areas["a1"].pk
    target = reverse("members:register_community", args=[community])
    response = client.post(reverse("login"), {"username": "outsider", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response["Location"] == target


def test_anonymous_landing_goes_to_login(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("user", "target"),
    [
        ("staff", "members:queue"),
        ("street_staff", "members:queue"),
        ("estate_secretary", "members:queue"),
        ("unit_organiser", "members:queue"),
        ("member", "members:home"),
        ("outsider", "members:home"),
    ],
)
def test_landing_sends_staff_to_the_console_and_members_to_their_page(client, world, user, target):
    client.force_login(world.users[user])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == reverse(target)


def test_signed_in_user_skips_the_login_form(client, world):
    client.force_login(world.users["member"])
    response = client.get(reverse("login"))
    assert response.status_code == 302


def test_logout_is_a_post(client, world):
    client.force_login(world.users["member"])
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session

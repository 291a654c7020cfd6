"""Opening an account to report in: a login name and a password, nothing personal."""

import pytest
from django.urls import reverse

from huijia.accounts.models import AuditLog, User

pytestmark = pytest.mark.django_db


def post(client, **overrides):
    data = {
        "username": "zhou_ming",
        "display_name": "周明",
        "password": "Huijia-2026!",
        "password2": "Huijia-2026!",
    }
    data.update(overrides)
    return client.post(reverse("signup"), data)


def test_signup_signs_in_and_continues_to_registration(client):
    response = post(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("members:register")
    user = User.objects.get(username="zhou_ming")
    assert user.display_name == "周明"
    assert client.get(reverse("members:register")).status_code == 200
    assert AuditLog.objects.filter(action="account.create", target_id=str(user.pk)).exists()


def test_signup_returns_to_the_community_qr_link(client):
    target = reverse("members:register_community", args=[1])
    response = client.post(
        reverse("signup") + f"?next={target}",
        {"username": "li_hua", "password": "Huijia-2026!", "password2": "Huijia-2026!", "next": target},
    )
    assert response["Location"] == target


def test_an_outside_next_is_ignored(client):
    response = post(client, next="https://evil.example.com/")
    assert response["Location"] == reverse("members:register")


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"username": "周明"}, "username", "英文字母"),
        ({"username": "ab"}, "username", "3到30"),
        ({"password": "12345678", "password2": "12345678"}, "password", "数字"),
        ({"password": "short", "password2": "short"}, "password", "太短"),
        ({"password2": "Other-2026!"}, "password2", "不一样"),
    ],
)
def test_bad_signups_say_why_and_store_nothing(client, overrides, field, words):
    response = post(client, **overrides)
    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get(field, []))
    assert words in errors
    assert not User.objects.exists()


def test_a_taken_login_name_is_refused(client, world):
    response = post(client, username="STAFF")
    assert "已经有人用了" in " ".join(response.context["form"].errors["username"])
    assert not User.objects.filter(username="STAFF").exists()


def test_login_page_links_to_signup_keeping_the_destination(client):
    target = reverse("members:register_community", args=[7])
    page = client.get(reverse("login") + f"?next={target}").content.decode()
    assert reverse("signup") + "?next=" in page

"""Values queries compiled once: the same rows as the queryset, for whichever arguments are passed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from huijia.accounts.models import Notification
from huijia.core.compiled import CompiledValues
from huijia.members.models import Member

pytestmark = pytest.mark.django_db

FIELDS = ("pk", "name", "phone", "free_time", "created_at", "household__building__name")


def by_member(member_id):
    return Member.objects.filter(pk=member_id).values(*FIELDS)


def test_rows_match_the_queryset_for_each_argument_with_personal_data_decrypted(world):
    compiled = CompiledValues(by_member)
    for key in list(world.members)[:3]:
        member = world.members[key]
        assert compiled(member.pk) == list(by_member(member.pk))
    row = compiled(world.members["member"].pk)[0]
    assert row["phone"] == world.members["member"].phone  # decrypted, not the stored ciphertext
    assert row["created_at"].tzinfo is not None  # converted like the ORM does, on SQLite too


def test_compiles_once_then_runs_one_query_per_call(world):
    compiled = CompiledValues(by_member)
    compiled(world.members["member"].pk)
    with CaptureQueriesContext(connection) as queries:
        compiled(world.members["other_member"].pk)
    assert len(queries) == 1


def test_slices_and_several_arguments(world):
    user = world.users["member"]
    for i in range(4):
        Notification.objects.create(user=user, text=f"第{i}条")
    newest = CompiledValues(
        lambda user_id, text: (
            Notification.objects.filter(user_id=user_id).exclude(text=text).order_by("-pk").values("text")[:2]
        ),
        arity=2,
    )
    assert newest(user.pk, "第3条") == [{"text": "第2条"}, {"text": "第1条"}]
    assert newest(world.users["other_member"].pk, "") == []


def test_refuses_model_querysets_and_arguments_that_shape_the_query():
    with pytest.raises(TypeError):
        CompiledValues(lambda pk: Member.objects.filter(pk=pk))(1)
    with pytest.raises(ValueError):
        CompiledValues(lambda pk: Member.objects.values("pk")[: -pk % 5 + 1])(1)

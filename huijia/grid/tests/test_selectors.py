"""The console's community picker: the same communities whether read from the grants or queried."""

import pytest
from django.contrib.auth import get_user_model

from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Role
from huijia.accounts.scope import actor_for
from huijia.grid import selectors

pytestmark = pytest.mark.django_db


def fresh_actor(world, name):
    """The actor as a request builds it: the user loaded again, scope facts read with the grants."""
    return actor_for(get_user_model().objects.get(pk=world.users[name].pk))


def test_picker_lists_exactly_the_communities_in_scope_for_every_role(world):
    for name in world.users:
        actor = fresh_actor(world, name)
        expected = sorted(selectors.communities_for(actor=actor).values_list("pk", flat=True))
        got = sorted(area.pk for area in selectors.community_choices(actor=actor))
        assert got == expected, name


def test_community_staff_picker_needs_no_query(world, django_assert_num_queries):
    actor = fresh_actor(world, "staff")
    with django_assert_num_queries(0):
        communities = selectors.community_choices(actor=actor)
    assert [(c.pk, c.name, c.path) for c in communities] == [
        (world.areas["a1"].pk, world.areas["a1"].name, world.areas["a1"].path)
    ]


def test_staff_of_two_communities_gets_both_and_street_staff_get_the_query(world):
    RoleGrant.objects.create(user=world.users["staff"], role=Role.COMMUNITY, area=world.areas["a2"])
    names = [c.name for c in selectors.community_choices(actor=fresh_actor(world, "staff"))]
    assert sorted(names) == sorted([world.areas["a1"].name, world.areas["a2"].name])
    street = selectors.community_choices(actor=fresh_actor(world, "street_staff"))
    assert {c.pk for c in street} >= {world.areas["a1"].pk, world.areas["a2"].pk}

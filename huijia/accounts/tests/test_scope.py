"""The scope helper: grants fold into their subtrees, and one filter serves every model."""

import pytest

from huijia.accounts.backends import ScopeAwareBackend
from huijia.accounts.models import RoleGrant
from huijia.accounts.roles import Perm, Role
from huijia.accounts.scope import ANONYMOUS, Actor, actor_for, restrict
from huijia.members.models import Registration


def test_nested_grants_fold_into_the_ancestor():
    actor = Actor(
        user_id=1,
        area_grants=((Role.COMMUNITY, "/1/2/3/"), (Role.ESTATE, "/1/2/3/9/"), (Role.COMMUNITY, "/1/2/4/")),
    )
    assert actor.paths(Perm.VIEW) == ["/1/2/3/", "/1/2/4/"]


def test_a_path_prefix_is_not_a_sibling():
    """/1/2/3/ must not reach /1/2/30/: paths end with a slash so prefixes stop at node boundaries."""
    actor = Actor(user_id=1, area_grants=((Role.COMMUNITY, "/1/2/3/"),))
    assert actor.covers(Perm.VIEW, "/1/2/3/7/")
    assert not actor.covers(Perm.VIEW, "/1/2/30/")
    assert not actor.covers(Perm.VIEW, "/1/2/")


def test_permissions_follow_the_role():
    actor = Actor(user_id=1, area_grants=((Role.BUILDING, "/1/"), (Role.ESTATE, "/2/")))
    assert actor.paths(Perm.REVIEW) == []
    assert actor.paths(Perm.VIEW_PII) == ["/2/"]
    assert actor.paths(Perm.VIEW) == ["/1/", "/2/"]


@pytest.mark.django_db
def test_anonymous_and_roleless_users_see_nothing(world):
    assert not restrict(Registration.objects.all(), ANONYMOUS).exists()
    assert not restrict(Registration.objects.all(), world.actor("outsider")).exists()


@pytest.mark.django_db
def test_session_users_carry_what_scope_needs(world, django_assert_num_queries):
    """A member's page pays no query for scope; staff pay one (their grants)."""
    backend = ScopeAwareBackend()
    member = backend.get_user(world.users["member"].pk)
    with django_assert_num_queries(0):
        actor = actor_for(member)
    assert actor.member_id == world.members["member"].pk
    assert actor.area_grants == ()
    resident = backend.get_user(world.users["resident"].pk)
    with django_assert_num_queries(0):
        assert actor_for(resident).household_id == world.households["a1_201"].pk
    staff = backend.get_user(world.users["staff"].pk)
    with django_assert_num_queries(1):
        assert actor_for(staff).paths(Perm.REVIEW) == [world.areas["a1"].path]


@pytest.mark.django_db
def test_a_new_grant_applies_on_the_next_request(world):
    backend = ScopeAwareBackend()
    assert actor_for(backend.get_user(world.users["outsider"].pk)).paths(Perm.VIEW) == []
    RoleGrant.objects.create(user=world.users["outsider"], role=Role.BUILDING, area=world.areas["a2_bldg"])
    assert actor_for(backend.get_user(world.users["outsider"].pk)).paths(Perm.VIEW) == [
        world.areas["a2_bldg"].path
    ]

"""Authentication backend that loads, with the user row, what scope needs to know about them.

Every signed-in request needs the Actor (accounts.scope.actor_for). Fetching the member id, the
resident's household and whether any role is held in the same query as the session's user saves
two or three queries on every page.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Exists, F, OuterRef

from huijia.accounts.models import RoleGrant


def users_with_scope_facts():
    return get_user_model()._default_manager.annotate(
        scope_member_id=F("member__id"),
        scope_household_id=F("resident__household_id"),
        scope_has_grants=Exists(RoleGrant.objects.filter(user_id=OuterRef("pk"))),
    )


class ScopeAwareBackend(ModelBackend):
    def get_user(self, user_id):
        user = users_with_scope_facts().filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

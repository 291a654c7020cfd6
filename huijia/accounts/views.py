"""Sign-in and the landing page that sends each user to their own screen."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from huijia.accounts.scope import actor_for


@login_required
def home(request):
    actor = actor_for(request.user)
    return redirect("members:queue" if actor.is_staff_actor else "members:home")

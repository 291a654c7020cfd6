"""Template context: the current Actor, so templates can show what the user's roles allow."""

from huijia.accounts.scope import actor_for


def actor(request):
    return {"actor": actor_for(getattr(request, "user", None))}

"""HTML screens of demands: see the module list in huijia/demands/urls.py."""

from django.http import Http404


def detail(request, demand_id: int):
    raise Http404  # the member's demand page: built with the member's screens

"""HTML screens of demands: see the module list in huijia/demands/urls.py."""

from django.http import Http404


def track(request, code: str):
    raise Http404  # the tracking page: built with the resident's screens

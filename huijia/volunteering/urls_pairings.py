"""Screens of volunteering: pairings (see huijia/volunteering/urls.py)."""

urlpatterns: list = []

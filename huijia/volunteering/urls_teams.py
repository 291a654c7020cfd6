"""Screens of volunteering: teams (see huijia/volunteering/urls.py)."""

urlpatterns: list = []

"""Screens of volunteering: activities (see huijia/volunteering/urls.py)."""

urlpatterns: list = []

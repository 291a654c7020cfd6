"""Screens of volunteering: records (see huijia/volunteering/urls.py)."""

urlpatterns: list = []

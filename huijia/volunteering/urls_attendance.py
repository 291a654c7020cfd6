"""Screens of volunteering: attendance (see huijia/volunteering/urls.py)."""

urlpatterns: list = []

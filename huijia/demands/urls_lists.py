"""URLs of huijia.demands.views_lists (see huijia/demands/urls.py)."""

from django.urls import path  # noqa: F401

urlpatterns: list = []

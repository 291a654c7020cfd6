"""URLs of huijia.demands.views_console (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_console

urlpatterns = [
    path("console/demands/<int:demand_id>/", views_console.detail, name="console_detail"),
]

"""URLs of huijia.demands.views_member (see huijia/demands/urls.py)."""

from django.urls import path

from huijia.demands import views_member

urlpatterns = [
    path("m/demands/<int:demand_id>/", views_member.detail, name="mine_detail"),
]
